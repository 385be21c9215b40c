-- A resolver that never answers must not hold a backend: cancel,
-- statement_timeout, juhe.timeout_ms and juhe.connect_timeout_ms end a call
-- stuck in name resolution within their own time plus half a second, and
-- the wait shows as juheid's wait event.  The harness preloads a shim into
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

-- query cancel from another session, while that backend resolves
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('w', format('host=%s port=%s dbname=%s user=%s',
       current_setting('unix_socket_directories'), current_setting('port'),
       current_database(), current_user));
SELECT pid AS wpid FROM dblink('w', 'SELECT pg_backend_pid()') AS t(pid int) \gset
SELECT dblink_exec('w', format('SET juhe.base_url = %L', :'hang_url'));
SELECT dblink_exec('w', 'SET juhe.timeout_ms = 60000');
SELECT dblink_exec('w', 'SET juhe.connect_timeout_ms = 60000');
SELECT dblink_exec('w', 'SET juhe.retries = 0');
SELECT set_config('juhe_test.wpid', :'wpid', false) IS NOT NULL AS noted;
SELECT dblink_send_query('w', $$SELECT juhe_verify('张三', '11010519491231002X')$$);
DO $$
BEGIN
  FOR i IN 1..100 LOOP
    PERFORM pg_stat_clear_snapshot();
    EXIT WHEN EXISTS (SELECT FROM pg_stat_activity
                       WHERE pid = current_setting('juhe_test.wpid')::int
                         AND wait_event_type = 'Extension');
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT pg_sleep(0.3);
-- juheid's own wait event from PostgreSQL 17 on, the generic one before
SELECT state, wait_event_type,
       wait_event = CASE WHEN current_setting('server_version_num')::int >= 170000
                         THEN 'JuheidRequest' ELSE 'Extension' END AS juheid_wait_event
  FROM pg_stat_activity WHERE pid = :wpid;
SELECT clock_timestamp() AS t1 \gset
SELECT pg_cancel_backend(:wpid);
\set VERBOSITY sqlstate
SELECT * FROM dblink_get_result('w') AS t(v juhe_result);
\set VERBOSITY default
SELECT clock_timestamp() - :'t1'::timestamptz < interval '500 ms' AS cancelled_in_time;
SELECT * FROM dblink_get_result('w') AS t(v juhe_result);
-- that backend is usable right away
SELECT dblink_exec('w', 'RESET juhe.base_url');
SELECT * FROM dblink('w', $$SELECT (juhe_verify('张三', '11010519491231002X')).res$$) AS t(res int);
SELECT dblink_disconnect('w');

RESET juhe.base_url;
RESET juhe.timeout_ms;
RESET juhe.connect_timeout_ms;
SELECT res FROM juhe_verify('张三', '11010519491231002X');
