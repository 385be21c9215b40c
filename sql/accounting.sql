-- What requests cost, as one session sees it: the ledger of billed and
-- possibly billed requests (juhe_ledger), the cluster statistics
-- (juhe_stats), today's count (juhe_billing) and the spending limits.
-- Whole-cluster cases (restarts, crashes, kill -9, racing backends, no
-- preload) are in test/t/006_accounting.pl.
SET juhe.mode = 'plain';
SET juhe.retries = 0;
SELECT juhe_test.reset();
SELECT juhe_stats_reset();
SELECT coalesce(max(id), 0) AS id0 FROM juhe_ledger \gset

-- 1. Every billed answer is in the ledger, whatever became of the caller's
-- transaction: committed, rolled back, rolled back to a savepoint, or a
-- PL/pgSQL block that failed (a subtransaction)
SELECT res FROM juhe_verify('张三', '11010519491231002X');
BEGIN;
SELECT res FROM juhe_verify('李四', '440304198808081238');
ROLLBACK;
BEGIN;
SAVEPOINT s;
SELECT res FROM juhe_verify('王五', '440304198808081238');
ROLLBACK TO s;
SELECT res FROM juhe_verify('张三', '650102198506152016');
COMMIT;
DO $$
BEGIN
    PERFORM juhe_verify('赵六', '110101199003074477');
    RAISE EXCEPTION 'the application fails after the answer';
EXCEPTION WHEN OTHERS THEN
    NULL;
END $$;
-- the same person twice in one transaction: one request (the memo)
BEGIN;
SELECT res FROM juhe_verify('张三', '11010519491231002X');
SELECT res FROM juhe_verify('张三', '11010519491231002X');
COMMIT;
-- a trigger's request says so
CREATE TABLE acct_signups (realname text, idcard text, res integer);
CREATE TRIGGER acct_verify BEFORE INSERT OR UPDATE ON acct_signups FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=res', 'on_mismatch=accept');
INSERT INTO acct_signups (realname, idcard) VALUES ('张三', '11010519491231002X');
SELECT via, status, res, outcome, orderid ~ '^J[0-9]+$' AS has_orderid,
       datname = current_database() AS this_db, rolname = current_user AS this_role,
       mode, billed_at >= sent_at AS ordered, xid IS NOT NULL AS has_xid
  FROM juhe_ledger WHERE id > :id0 ORDER BY id;

-- 2. A request that may have been billed is "in doubt" (2163 bills on
-- receipt and drops the connection); service errors, 503 and local
-- answers are not billed and not in the ledger
SELECT juhe_test.error_of($$SELECT juhe_verify('测试', '110101200001012163')$$) AS bill_then_drop;
SELECT error_code FROM juhe_verify('测试', '110101200001010010');
SELECT error_code FROM juhe_verify('测试', '110101200001011128');
SELECT juhe_test.error_of($$SELECT juhe_verify('测试', '110101200001012139')$$) AS http_503;
SELECT error_code FROM juhe_verify('张三', '11010519491231002Y');
SET juhe.retries = 1;
SELECT res FROM juhe_verify('测试', '11010120000101218X');
SET juhe.retries = 0;
SELECT status, count(*) FROM juhe_ledger WHERE id > :id0 GROUP BY status ORDER BY status;
-- every charge of the mock is in the ledger as billed or in doubt
SELECT (s ->> 'billed')::int AS mock_billed,
       (SELECT count(*) FROM juhe_ledger WHERE id > :id0) AS ledger_rows
  FROM juhe_test.stats() s;
-- nothing in it is personal data
SELECT count(*) AS rows_with_personal_data
  FROM juhe_ledger l
 WHERE l::text LIKE ANY (ARRAY['%11010519491231002X%', '%440304198808081238%', '%650102198506152016%',
                              '%110101199003074477%', '%张三%', '%李四%', '%王五%', '%赵六%', '%测试%']);

-- 3. The cluster statistics match the mock's own counts
SELECT (s ->> 'requests')::int AS mock_requests, (s ->> 'billed')::int AS mock_billed
  FROM juhe_test.stats() s;
SELECT mode, requests, billed, matches, mismatches, in_doubt, service_errors,
       local_answers, memo_hits, retries, transport_failures, service_error_codes,
       total_time_ms > 0 AS timed, p50_ms > 0 AS has_p50, p99_ms >= p50_ms AS p99_ge_p50,
       (SELECT sum(v::bigint) FROM jsonb_each_text(latency_histogram) AS h(k, v))
         = requests AS histogram_complete
  FROM juhe_stats WHERE datname = current_database() AND rolname = current_user;
SELECT juhe_stats_reset();
SELECT count(*) AS rows_after_reset FROM juhe_stats;

-- 4. The per-statement guard stops a statement before its next request
SET juhe.max_requests_per_statement = 2;
SELECT juhe_test.reset();
SELECT juhe_test.error_of($$SELECT count(juhe_verify(n, '440304198808081238')) FROM (VALUES ('甲一'), ('甲二'), ('甲三')) v(n)$$) AS guard;
SELECT (s ->> 'requests')::int AS requests_sent FROM juhe_test.stats() s;
-- per statement: the next one may send two again
SELECT count(juhe_verify(n, '440304198808081238')) FROM (VALUES ('乙一'), ('乙二')) v(n);
-- local answers and memo hits are not requests
SELECT count(juhe_verify(n, '440304198808081230')) FROM (VALUES ('丙一'), ('丙二'), ('丙三')) v(n);
RESET juhe.max_requests_per_statement;

-- 5. The daily cap: reserve before sending, so it is never exceeded; a
-- request refused by it sends nothing; the trigger cannot accept its way
-- past it; local answers still work
SELECT billed_today + in_flight AS used FROM juhe_billing \gset
SELECT set_config('juhe.max_billed_per_day', (:used + 2)::text, false) IS NOT NULL AS cap_set;
SELECT juhe_test.reset();
SELECT regexp_replace(juhe_test.error_of($$SELECT count(juhe_verify(n, '440304198808081238')) FROM (VALUES ('丁一'), ('丁二'), ('丁三')) v(n)$$),
                      'is [0-9]+', 'is <cap>') AS daily_cap;
SELECT (s ->> 'requests')::int AS requests_sent FROM juhe_test.stats() s;
-- (requests earlier suites left running in the gateway worker may settle
-- meanwhile: billed + in flight is what counts against the cap)
SELECT billed_today + in_flight - :used AS counted_since,
       max_billed_per_day - :used AS cap_above_start, billing_timezone
  FROM juhe_billing;
SELECT juhe_test.sqlstate_of($$SELECT juhe_verify('测试', '110101200001010010')$$) AS service_error_at_cap;
CREATE TABLE acct_accepting (realname text, idcard text, res integer);
CREATE TRIGGER acct_accept BEFORE INSERT OR UPDATE ON acct_accepting FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=res', 'on_failure=accept');
SELECT juhe_test.sqlstate_of($$INSERT INTO acct_accepting (realname, idcard) VALUES ('戊一', '440304198808081238')$$) AS trigger_at_cap;
SELECT error_code FROM juhe_verify('张三', '11010519491231002Y');
SELECT (s ->> 'requests')::int AS requests_sent FROM juhe_test.stats() s;
RESET juhe.max_billed_per_day;
SELECT res FROM juhe_verify('戊二', '440304198808081238');

-- 6. Who may see and change what
CREATE ROLE regress_acct_plain;
CREATE ROLE regress_acct_reader IN ROLE pg_read_all_stats;
GRANT USAGE ON SCHEMA juhe_test TO regress_acct_plain, regress_acct_reader;
SET ROLE regress_acct_plain;
SELECT juhe_test.sqlstate_of('SELECT count(*) FROM juhe_ledger') AS ledger;
SELECT juhe_test.sqlstate_of('SELECT count(*) FROM juhe_stats') AS stats;
SELECT juhe_test.sqlstate_of('SELECT count(*) FROM juhe_billing') AS billing;
SELECT juhe_test.sqlstate_of('SELECT count(*) FROM juhe_ledger_rows()') AS ledger_rows;
SELECT juhe_test.sqlstate_of('SELECT juhe_stats_reset()') AS reset;
SELECT juhe_test.sqlstate_of('SET juhe.max_billed_per_day = 0') AS raise_cap;
SELECT juhe_test.sqlstate_of('SET juhe.ledger_sync = off') AS ledger_sync;
SELECT juhe_test.sqlstate_of('SET juhe.billing_timezone = ''UTC''') AS billing_timezone;
SELECT juhe_test.sqlstate_of('SET juhe.max_requests_per_statement = 0') AS own_guard;
RESET ROLE;
SET ROLE regress_acct_reader;
SELECT count(*) > 0 AS reads_ledger FROM juhe_ledger;
SELECT count(*) > 0 AS reads_stats FROM juhe_stats;
SELECT count(*) AS reads_billing FROM juhe_billing;
SELECT juhe_test.sqlstate_of('SELECT juhe_stats_reset()') AS reset;
RESET ROLE;
RESET juhe.max_requests_per_statement;
ALTER SYSTEM SET juhe.billing_timezone = 'Mars/Olympus';
SELECT name, boot_val, context FROM pg_settings
 WHERE name IN ('juhe.ledger_sync', 'juhe.ledger_retention_days', 'juhe.max_billed_per_day',
                'juhe.billing_timezone', 'juhe.max_requests_per_statement')
 ORDER BY name;

DROP TABLE acct_signups, acct_accepting;
REVOKE USAGE ON SCHEMA juhe_test FROM regress_acct_plain, regress_acct_reader;
DROP ROLE regress_acct_plain, regress_acct_reader;
