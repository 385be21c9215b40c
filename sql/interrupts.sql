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

-- query cancel from another session, through dblink
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('w', format('host=%s port=%s dbname=%s user=%s',
       current_setting('unix_socket_directories'), current_setting('port'),
       current_database(), current_user));
SELECT pid AS wpid FROM dblink('w', 'SELECT pg_backend_pid()') AS t(pid int) \gset
SELECT dblink_exec('w', 'SET juhe.timeout_ms = 60000');
SELECT set_config('juhe_test.wpid', :'wpid', false) IS NOT NULL AS noted;
SELECT dblink_send_query('w', $$SELECT juhe_verify('测试', '110101200001012016')$$);
-- wait (up to 10 s) until that backend is inside the call
DO $$
BEGIN
  FOR i IN 1..100 LOOP
    PERFORM pg_stat_clear_snapshot();
    EXIT WHEN EXISTS (SELECT FROM pg_stat_activity
                       WHERE pid = current_setting('juhe_test.wpid')::int
                         AND wait_event_type = 'Extension');
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
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
SELECT clock_timestamp() - :'t1'::timestamptz < interval '1 s' AS cancelled_in_time;
SELECT * FROM dblink_get_result('w') AS t(v juhe_result);
-- the cancelled backend works afterwards
SELECT * FROM dblink('w', $$SELECT (juhe_verify('张三', '11010519491231002X')).res$$) AS t(res int);
SELECT dblink_disconnect('w');

-- pg_terminate_backend during a call ends that backend cleanly (no crash:
-- a crash would restart the server and end this session too)
SELECT dblink_connect('w', format('host=%s port=%s dbname=%s user=%s',
       current_setting('unix_socket_directories'), current_setting('port'),
       current_database(), current_user));
SELECT pid AS wpid FROM dblink('w', 'SELECT pg_backend_pid()') AS t(pid int) \gset
SELECT dblink_send_query('w', $$SELECT juhe_verify('测试', '110101200001012016')$$);
SELECT pg_sleep(0.3);
SELECT pg_terminate_backend(:wpid, 5000);
SELECT count(*) AS still_there FROM pg_stat_activity WHERE pid = :wpid;
SELECT dblink_disconnect('w');
SELECT res FROM juhe_verify('张三', '11010519491231002X');

-- the retry back-off is interruptible too
SET juhe.retries = 3;
SET statement_timeout = '300ms';
SELECT juhe_verify('测试', '110101200001010053');
RESET statement_timeout;
