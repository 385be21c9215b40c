-- Transport failures raise juheid's own SQLSTATEs (class JH, never 08,
-- which connection pools read as a dead database connection): JH010
-- nothing sent, JH011 sent and maybe billed, JH012 unusable answer.
-- Nothing personal, and no host of juhe.base_url, appears in any message.
SET juhe.mode = 'plain';
SET juhe.retries = 0;
\set VERBOSITY default

-- connection refused (nothing listens on port 1)
SET juhe.base_url = 'http://127.0.0.1:1';
SELECT juhe_verify('张三', '11010519491231002X');
SELECT juhe_test.sqlstate_of($$SELECT juhe_verify('张三', '11010519491231002X')$$);
RESET juhe.base_url;

-- HTML 502, truncated JSON, not JSON, huge body, closed connection, redirect
SELECT juhe_verify('测试', '110101200001012024');
SELECT juhe_verify('测试', '110101200001012032');
SELECT juhe_verify('测试', '110101200001012083');
SELECT juhe_verify('测试', '110101200001012040');
SELECT juhe_verify('测试', '110101200001012091');
SELECT juhe_verify('测试', '110101200001012104');
SELECT (juhe_test.stats()) -> 'by_path' ->> '/stolen' AS redirect_followed;

SELECT id, juhe_test.sqlstate_of(format($$SELECT juhe_verify('测试', %L)$$, id)) AS outcome
  FROM (VALUES ('110101200001012024'), ('110101200001012032'), ('110101200001012083'),
               ('110101200001012040'), ('110101200001012091'), ('110101200001012104')) t(id)
 ORDER BY id;

-- neither a 502 nor a malformed answer is retried: the service may have
-- processed the request (503 and 429 are retried: see the billing suite)
SET juhe.retries = 1;
SELECT juhe_test.reset();
SELECT juhe_test.sqlstate_of($$SELECT juhe_verify('测试', '110101200001012024')$$);
SELECT (juhe_test.stats()) ->> 'requests' AS requests_after_502;
SELECT juhe_test.reset();
SELECT juhe_test.sqlstate_of($$SELECT juhe_verify('测试', '110101200001012032')$$);
SELECT (juhe_test.stats()) ->> 'requests' AS requests_after_truncated;
SET juhe.retries = 0;

-- timeout: the slow ID answers after 30 s; juhe.timeout_ms stops it
SET juhe.timeout_ms = 500;
SELECT clock_timestamp() AS t0 \gset
\set VERBOSITY terse
SELECT juhe_verify('测试', '110101200001012016');
\set VERBOSITY default
SELECT clock_timestamp() - :'t0'::timestamptz < interval '2 s' AS stopped_in_time;
-- the detail says which limit was hit
SELECT juhe_test.error_of($$SELECT juhe_verify('测试', '110101200001012016')$$) AS timeout_error;
RESET juhe.timeout_ms;

-- connect timeout: connects to this port never complete
SELECT current_setting('juhe_test.blackhole_url') AS blackhole \gset
SET juhe.base_url = :'blackhole';
SET juhe.connect_timeout_ms = 300;
SELECT clock_timestamp() AS t0 \gset
SELECT juhe_test.error_of($$SELECT juhe_verify('张三', '11010519491231002X')$$) AS connect_timeout_error;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1.5 s' AS stopped_in_time;
RESET juhe.connect_timeout_ms;
RESET juhe.base_url;

-- TLS: peer verification is always on; the mock's self-signed certificate
-- is refused, and accepted once juhe.ca_file trusts it
SELECT current_setting('juhe_test.tls_url') AS tls_url \gset
SET juhe.base_url = :'tls_url';
SELECT juhe_test.sqlstate_of($$SELECT juhe_verify('张三', '11010519491231002X')$$) ~ '^JH010: could not establish a TLS connection' AS tls_refused;
SELECT current_setting('juhe_test.ca_file') AS ca \gset
SET juhe.ca_file = :'ca';
SELECT res, error_code FROM juhe_verify('张三', '11010519491231002X');
-- a CA file that cannot be read (as on a machine without ca-certificates):
-- nothing sent, and the hint says what to install or set
SET juhe.ca_file = '/nonexistent/juheid-ca.pem';
DO $$
DECLARE st text; msg text; hint text;
BEGIN
  PERFORM juhe_verify('张三', '11010519491231002X');
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
  RAISE NOTICE '% / % / %', st, msg, hint;
END
$$;
RESET juhe.ca_file;
RESET juhe.base_url;

-- the backend is fine after all of that
SELECT res FROM juhe_verify('张三', '11010519491231002X');
