-- A resolver that never answers must not hold a backend: statement_timeout,
-- juhe.timeout_ms and juhe.connect_timeout_ms end a call stuck in name
-- resolution within their own time plus half a second (cancel from another
-- session and the wait event: test/t/001_interrupts.pl).  The harness preloads a shim into
-- the cluster (test/preload/hang_dns.c) under which getaddrinfo() for
-- hang.juheid.test does not return for 30 s.
SET juhe.mode = 'plain';
SET juhe.retries = 0;
SELECT current_setting('juhe_test.hang_dns_url') AS hang_url \gset
SET juhe.base_url = :'hang_url';

-- statement_timeout
SET juhe.timeout_ms = 60000;
SET juhe.connect_timeout_ms = 60000;
SET statement_timeout = '500ms';
SELECT clock_timestamp() AS t0 \gset
\set VERBOSITY sqlstate
SELECT juhe_verify('张三', '11010519491231002X');
\set VERBOSITY default
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1 s' AS statement_timeout_in_time;

-- juhe.connect_timeout_ms (name resolution is part of connecting): JH010
SET juhe.connect_timeout_ms = 300;
SELECT clock_timestamp() AS t0 \gset
SELECT juhe_test.error_of($$SELECT juhe_verify('张三', '11010519491231002X')$$) AS connect_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '800 ms' AS connect_timeout_in_time;

-- juhe.timeout_ms
SET juhe.connect_timeout_ms = 60000;
SET juhe.timeout_ms = 400;
SELECT clock_timestamp() AS t0 \gset
SELECT left(juhe_test.error_of($$SELECT juhe_verify('张三', '11010519491231002X')$$), 5) AS timeout_sqlstate;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '900 ms' AS timeout_in_time;

-- the retries of a call that never resolved are bounded by the same limits
SET juhe.retries = 2;
SET juhe.timeout_ms = 200;
SELECT clock_timestamp() AS t0 \gset
SELECT left(juhe_test.error_of($$SELECT juhe_verify('张三', '11010519491231002X')$$), 5) AS retried_sqlstate;
-- 3 × 200 ms + back-off 200 + 400 ms
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1.7 s' AS retries_in_time;
SET juhe.retries = 0;

-- query cancel and pg_terminate_backend while resolving: test/t/001_interrupts.pl

RESET juhe.base_url;
RESET juhe.timeout_ms;
RESET juhe.connect_timeout_ms;
SELECT res FROM juhe_verify('张三', '11010519491231002X');
