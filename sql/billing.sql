-- Money: a request that may have reached the service is never sent again
-- (there is no idempotency key); only what cannot have been billed is
-- retried.  Every case counts what reached the mock, which for 2163 and
-- 2171 bills on receipt, like a service that charges before it answers.
SET juhe.mode = 'plain';
SET juhe.retries = 2;
CREATE FUNCTION pg_temp.seen() RETURNS text LANGUAGE sql AS $$
  SELECT format('requests=%s billed=%s', s ->> 'requests', s ->> 'billed') FROM juhe_test.stats() s $$;

-- a timeout after sending (2171 bills on receipt, then is slow): one request, JH011
SET juhe.timeout_ms = 500;
SELECT juhe_test.reset();
SELECT juhe_test.error_of($$SELECT juhe_verify('测试', '110101200001012171')$$) AS timeout_after_send;
SELECT pg_temp.seen() AS timeout_after_send_reached;
RESET juhe.timeout_ms;

-- the service bills, then drops the connection: one request, one charge, JH011
SELECT juhe_test.reset();
SELECT juhe_test.error_of($$SELECT juhe_verify('测试', '110101200001012163')$$) AS drop_after_bill;
SELECT pg_temp.seen() AS drop_after_bill_reached;

-- the same on a warm keep-alive connection: libcurl would resend by itself
-- ("connection died, retrying a fresh connect"); it is not allowed to
SELECT res FROM juhe_verify('张三', '11010519491231002X');
SELECT juhe_test.reset();
SELECT juhe_test.error_of($$SELECT juhe_verify('测试', '110101200001012091')$$) AS drop_on_warm_connection;
SELECT pg_temp.seen() AS drop_on_warm_connection_reached;
SELECT res FROM juhe_verify('张三', '11010519491231002X');
SELECT juhe_test.reset();
SELECT juhe_test.error_of($$SELECT juhe_verify('测试', '110101200001012163')$$) AS bill_then_drop_warm;
SELECT pg_temp.seen() AS bill_then_drop_warm_reached;

-- HTTP 502 (and other statuses): answered once, not retried, JH012
SELECT juhe_test.reset();
SELECT juhe_test.error_of($$SELECT juhe_verify('测试', '110101200001012024')$$) AS http_502;
SELECT pg_temp.seen() AS http_502_reached;

-- HTTP 503 and 429: the service turned it away, retried (1 + 2 attempts)
SELECT juhe_test.reset();
SELECT juhe_test.error_of($$SELECT juhe_verify('测试', '110101200001012139')$$) AS http_503;
SELECT pg_temp.seen() AS http_503_reached;
SELECT juhe_test.reset();
SELECT juhe_test.error_of($$SELECT juhe_verify('测试', '110101200001012147')$$) AS http_429;
SELECT pg_temp.seen() AS http_429_reached;
-- a 503 that clears on the second attempt answers normally
SELECT juhe_test.reset();
SELECT res, error_code FROM juhe_verify('测试', '11010120000101218X');
SELECT pg_temp.seen() AS http_503_once_reached;

-- error 210305 (provider network error, not billed) is retried too
SELECT juhe_test.reset();
SELECT res, error_code FROM juhe_verify('测试', '110101200001010109');
SELECT pg_temp.seen() AS error_210305_once_reached;

-- nothing sent: connection refused and connect timeout are retried, JH010
SELECT retries AS r0 FROM juhe_backend_stats() \gset
SET juhe.base_url = 'http://127.0.0.1:1';
SELECT juhe_test.error_of($$SELECT juhe_verify('张三', '11010519491231002X')$$) AS refused;
RESET juhe.base_url;
SELECT current_setting('juhe_test.blackhole_url') AS blackhole \gset
SET juhe.base_url = :'blackhole';
SET juhe.connect_timeout_ms = 200;
SET juhe.retries = 1;
SELECT juhe_test.error_of($$SELECT juhe_verify('张三', '11010519491231002X')$$) AS connect_timeout;
RESET juhe.connect_timeout_ms;
RESET juhe.base_url;
SELECT retries - :r0 AS retries_of_unsent FROM juhe_backend_stats();

-- no message shows the host of juhe.base_url (superuser-only) or libcurl's text
SELECT current_setting('juhe_test.tls_url') AS tls_url \gset
SET juhe.base_url = :'tls_url';
SELECT juhe_test.error_of($$SELECT juhe_verify('张三', '11010519491231002X')$$) AS tls_error;
SELECT position('127.0.0.1' IN juhe_test.error_of($$SELECT juhe_verify('张三', '11010519491231002X')$$)) AS host_shown;
RESET juhe.base_url;
SET juhe.base_url = 'http://hang.juheid.test:1';
SET juhe.connect_timeout_ms = 200;
SET juhe.retries = 0;
SELECT position('juheid.test' IN juhe_test.error_of($$SELECT juhe_verify('张三', '11010519491231002X')$$)) AS host_shown_resolving;
RESET juhe.connect_timeout_ms;
RESET juhe.base_url;

-- a billed answer that arrives in the same pass as a cancel is still
-- accounted for in the server log: test/t/002_server_log.pl
