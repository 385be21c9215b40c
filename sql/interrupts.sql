-- statement_timeout and query cancel stop a call in flight within about a
-- second, with PostgreSQL's own 57014; while waiting, the backend shows an
-- Extension wait event.  The mock's slow ID answers only after 30 s.
SET juhe.mode = 'plain';
SET juhe.retries = 0;
SET juhe.timeout_ms = 60000;

-- statement_timeout
SET statement_timeout = '700ms';
SELECT clock_timestamp() AS t0 \gset
SELECT juhe_verify('测试', '110101200001012016');
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1.7 s' AS stopped_in_time;
-- the SQLSTATE is PostgreSQL's own
\set VERBOSITY sqlstate
SET statement_timeout = '300ms';
SELECT juhe_verify('测试', '110101200001012016');
RESET statement_timeout;
\set VERBOSITY default

-- also while still connecting (connects to this port never complete)
SELECT current_setting('juhe_test.blackhole_url') AS blackhole \gset
SET juhe.base_url = :'blackhole';
SET juhe.connect_timeout_ms = 60000;
SET statement_timeout = '400ms';
SELECT clock_timestamp() AS t0 \gset
\set VERBOSITY sqlstate
SELECT juhe_verify('张三', '11010519491231002X');
\set VERBOSITY default
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1.4 s' AS stopped_in_time;
RESET juhe.connect_timeout_ms;
RESET juhe.base_url;

-- the backend is usable right away
SELECT res FROM juhe_verify('张三', '11010519491231002X');

-- cancel and pg_terminate_backend from another session: test/t/001_interrupts.pl

-- the retry back-off is interruptible too
SET juhe.retries = 3;
SET statement_timeout = '300ms';
SELECT juhe_verify('测试', '110101200001010053');
RESET statement_timeout;
