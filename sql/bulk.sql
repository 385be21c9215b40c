-- juhe_verify_many: many pairs in one call, one row per position, up to
-- `parallel` requests in flight; a failed item is a row with a failure,
-- never an error that throws the other answers away.
SET juhe.mode = 'plain';
SET juhe.retries = 0;
SELECT juhe_test.reset();
SELECT coalesce(max(id), 0) AS id0 FROM juhe_ledger \gset

-- order, NULLs, duplicates, answers, service errors, local answers and
-- transport failures in one batch
CREATE TEMP TABLE many AS
SELECT * FROM juhe_verify_many(
    ARRAY['张三', '李四', NULL, '张三', '测试', '测试', '张三', '测试', '测试', '王五'],
    ARRAY['11010519491231002X', '440304198808081238', '11010519491231002X', '11010519491231002X',
          '110101200001010010', '110101200001012139', '11010519491231002Y', '110101200001012163',
          NULL, '440304198808081238'],
    'plain', 4);
SELECT ord, res, orderid ~ '^J[0-9]+$' AS has_orderid, error_code, reason, failure
  FROM many ORDER BY ord;
-- the duplicate shares its leader's answer (one request, one order id)
SELECT count(DISTINCT orderid) AS order_ids_for_ord_1_and_4 FROM many WHERE ord IN (1, 4);
-- sent: 张三, 李四, 210301, 503, 2163, 王五 (not the duplicate, the local answer, the NULLs)
SELECT (s ->> 'requests')::int AS requests, (s ->> 'billed')::int AS billed FROM juhe_test.stats() s;
SELECT via, status, count(*) FROM juhe_ledger WHERE id > :id0 GROUP BY via, status ORDER BY status;

-- empty and NULL arrays: no rows; bad arguments: errors
SELECT count(*) FROM juhe_verify_many('{}', '{}');
SELECT count(*) FROM juhe_verify_many(NULL, '{}');
SELECT * FROM juhe_verify_many('{张三}', '{}');
SELECT * FROM juhe_verify_many('{张三}', '{11010519491231002X}', 'plain', 0);
SELECT * FROM juhe_verify_many('{张三}', '{11010519491231002X}', 'plain', 65);
SELECT * FROM juhe_verify_many('{张三}', '{11010519491231002X}', 'sm4');

-- the per-statement guard and the daily cap make failure rows, not errors
SET juhe.max_requests_per_statement = 2;
SELECT juhe_test.reset();
SELECT ord, res IS NOT NULL AS answered, failure
  FROM juhe_verify_many(ARRAY['甲一', '甲二', '甲三', '甲四'], array_fill('440304198808081238'::text, ARRAY[4]), 'plain', 1)
 ORDER BY ord;
SELECT (s ->> 'requests')::int AS requests FROM juhe_test.stats() s;
RESET juhe.max_requests_per_statement;
SELECT billed_today + in_flight AS used FROM juhe_billing \gset
SELECT set_config('juhe.max_billed_per_day', (:used + 1)::text, false) IS NOT NULL AS cap_set;
SELECT ord, res IS NOT NULL AS answered, failure
  FROM juhe_verify_many(ARRAY['乙一', '乙二', '乙三'], array_fill('440304198808081238'::text, ARRAY[3]), 'plain', 1)
 ORDER BY ord;
RESET juhe.max_billed_per_day;

-- 100,000 copies of one pair: one request (duplicates found in a hash table)
SELECT juhe_test.reset();
SELECT count(*) AS rows, count(DISTINCT orderid) AS order_ids
  FROM juhe_verify_many(array_fill('张三'::text, ARRAY[100000]),
                        array_fill('11010519491231002X'::text, ARRAY[100000]));
SELECT (s ->> 'requests')::int AS requests FROM juhe_test.stats() s;

-- a huge batch is cancelled by statement_timeout (memory: one chunk of
-- 10,000 items at a time, not the 3,000,000)
SET statement_timeout = '300ms';
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM juhe_verify_many(array_fill('张三'::text, ARRAY[3000000]),
                                      array_fill('11010519491231002Y'::text, ARRAY[3000000]));
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '2 s' AS stopped_in_time;

-- 200 distinct pairs at parallel 32: no connection opened for one request
-- only (at most 32 with the backend's own connections, at most
-- juhe.gateway_connections through the gateway)
SELECT juhe_test.reset();
SELECT count(*) FILTER (WHERE res IS NOT NULL) AS answered
  FROM juhe_verify_many(ARRAY(SELECT '测' || chr(19968 + g) FROM generate_series(1, 200) g),
                        array_fill('440304198808081238'::text, ARRAY[200]), 'plain', 32);
SELECT (s ->> 'requests')::int AS requests, (s ->> 'connections')::int <= 32 AS connections_reused
  FROM juhe_test.stats() s;

-- juhe.max_requests_per_second spaces the requests of the whole cluster:
-- 20 distinct pairs at 20 a second take about a second, however parallel
ALTER SYSTEM SET juhe.max_requests_per_second = 20;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SELECT current_setting('juhe.max_requests_per_second') AS rate;
SELECT juhe_test.reset();
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FILTER (WHERE res IS NOT NULL) AS answered
  FROM juhe_verify_many(ARRAY(SELECT '测' || chr(20968 + g) FROM generate_series(1, 20) g),
                        array_fill('440304198808081238'::text, ARRAY[20]), 'plain', 8);
SELECT clock_timestamp() - :'t0'::timestamptz BETWEEN interval '0.9 s' AND interval '1.6 s' AS took_about_a_second;
-- single calls wait their turn too
SELECT clock_timestamp() AS t0 \gset
SELECT count(juhe_verify(n, '440304198808081238'))
  FROM (SELECT '测' || chr(21968 + g) AS n FROM generate_series(1, 5) g) s;
SELECT clock_timestamp() - :'t0'::timestamptz >= interval '0.19 s' AS spaced;
ALTER SYSTEM RESET juhe.max_requests_per_second;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);

-- CALL juhe_verify_table: the rows whose result is NULL, batch by batch,
-- committed after each; a failed call leaves its row NULL for the next run
-- (its NOTICE per batch shows rates and times: not shown here)
SET client_min_messages = warning;
CREATE TABLE people (id int PRIMARY KEY, realname text, idcard text,
                     v juhe_result, orderid text, verified_at timestamptz);
INSERT INTO people (id, realname, idcard)
SELECT g,
       CASE WHEN g % 10 = 0 THEN '张三' ELSE '测' || chr(19968 + g) END,
       CASE WHEN g % 7 = 0 THEN '110101200001012139'     -- 503: left for the next run
            WHEN g % 11 = 0 THEN '11010519491231002Y'    -- answered locally
            ELSE '440304198808081238' END
  FROM generate_series(1, 120) g;
INSERT INTO people (id, realname, idcard) VALUES (121, NULL, '440304198808081238');
SELECT juhe_test.reset();
SELECT coalesce(max(id), 0) AS id0 FROM juhe_ledger \gset
CALL juhe_verify_table('people', 'realname', 'idcard', 'v', batch_size => 50, parallel => 8,
                       orderid_column => 'orderid', verified_at_column => 'verified_at');
SELECT count(*) FILTER (WHERE v IS NULL) AS still_null,
       count(*) FILTER (WHERE (v).error_code = 0) AS billed,
       count(*) FILTER (WHERE (v).error_code = 210304) AS local,
       count(*) FILTER (WHERE orderid IS NOT NULL) = count(*) FILTER (WHERE (v).error_code = 0) AS orderids,
       count(*) FILTER (WHERE verified_at IS NOT NULL) = count(*) FILTER (WHERE (v).error_code = 0) AS verified_at
  FROM people;
SELECT (s ->> 'requests')::int AS requests, (s ->> 'billed')::int AS billed FROM juhe_test.stats() s;
SELECT via, status, outcome, count(*) FROM juhe_ledger WHERE id > :id0 GROUP BY 1, 2, 3;
-- again: only the 18 rows still NULL are taken up (17 sent: one has no
-- name), nothing is paid twice
SELECT juhe_test.reset();
CALL juhe_verify_table('people', 'realname', 'idcard', 'v', batch_size => 50);
SELECT (s ->> 'requests')::int AS requests, (s ->> 'billed')::int AS billed FROM juhe_test.stats() s;
-- answer 10012 (quota exceeded): not written, the row stays for the next
-- run; juhe.max_requests_per_statement counts per batch, not per job
CREATE TABLE quota (realname text, idcard text, v juhe_result);
INSERT INTO quota VALUES ('测试', '110101200001011128'), ('李四', '440304198808081238'),
                         ('王五', '440304198808081238'), ('赵六', '440304198808081238');
SET juhe.max_requests_per_statement = 2;
CALL juhe_verify_table('quota', 'realname', 'idcard', 'v', batch_size => 2);
RESET juhe.max_requests_per_statement;
SELECT realname, (v).res, (v).error_code FROM quota ORDER BY realname;
DROP TABLE quota;
-- integer and jsonb result columns
CREATE TABLE people2 (realname text, idcard varchar(18), res integer, detail jsonb);
INSERT INTO people2 VALUES ('李四', '440304198808081238'), ('王五', '440304198808081238');
CALL juhe_verify_table('people2', 'realname', 'idcard', 'res');
CALL juhe_verify_table('people2', 'realname', 'idcard', 'detail');
SELECT realname, res, detail - 'orderid' AS detail, detail ? 'orderid' AS has_orderid FROM people2 ORDER BY realname;
-- verify later: the signup trigger with on_failure=defer accepts a row
-- with a NULL result when the service cannot be reached (nothing billed),
-- and juhe_verify_table fills it in later; a request that may have been
-- billed is not deferred (a later verification could pay twice): rejected
CREATE TABLE signups (realname text, idcard text, v juhe_result);
CREATE TRIGGER verify BEFORE INSERT OR UPDATE ON signups FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=v', 'on_failure=defer');
SET juhe.base_url = 'http://127.0.0.1:1';
INSERT INTO signups VALUES ('张三', '11010519491231002X');
RESET juhe.base_url;
INSERT INTO signups VALUES ('测试', '110101200001012139');
INSERT INTO signups VALUES ('测试', '110101200001012163');
SELECT realname, v IS NULL AS unverified FROM signups ORDER BY realname;
CALL juhe_verify_table('signups', 'realname', 'idcard', 'v');
SELECT realname, (v).res, (v).error_code FROM signups ORDER BY realname;
-- the trigger still keeps anyone else from writing the column
UPDATE signups SET v = NULL WHERE realname = '张三';
SELECT (v).res AS still_verified FROM signups WHERE realname = '张三';
-- defer is for on_failure only
CREATE TRIGGER bad BEFORE INSERT OR UPDATE ON signups FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'on_mismatch=defer');
INSERT INTO signups VALUES ('张三', '11010519491231002X');
-- inside a transaction block it runs as one transaction (no commits)
BEGIN;
UPDATE people SET v = NULL WHERE id = 1;
CALL juhe_verify_table('people', 'realname', 'idcard', 'v');
SELECT (v).res FROM people WHERE id = 1;
ROLLBACK;
-- bad arguments
CALL juhe_verify_table('people', 'nome', 'idcard', 'v');
CALL juhe_verify_table('people', 'realname', 'idcard', 'realname');
CALL juhe_verify_table('people', 'realname', 'idcard', 'v', batch_size => 0);
CALL juhe_verify_table('people', 'realname', 'idcard', 'v', orderid_column => 'id');
CALL juhe_verify_table(NULL, 'realname', 'idcard', 'v');
CALL juhe_verify_table('juhe_ledger', 'orderid', 'orderid', 'orderid');
-- no job running now
SELECT count(*) AS running_jobs FROM juhe_progress;
RESET client_min_messages;

-- nobody may call it until granted
CREATE ROLE regress_bulk_user;
SET ROLE regress_bulk_user;
SELECT * FROM juhe_verify_many('{张三}', '{11010519491231002X}');
CALL juhe_verify_table('people', 'realname', 'idcard', 'v');
RESET ROLE;
DROP ROLE regress_bulk_user;
DROP TABLE many, people, people2, signups;
