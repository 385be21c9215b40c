-- juhe.reuse_answers_for: a billed answer about the person (res 1 or 2)
-- given again without a request, in any transaction; per-call opt-outs;
-- what is never reused.  The harness sets juhe.digest_key.
SET juhe.mode = 'plain';
SET juhe.retries = 0;
SET juhe.reuse_answers_for = 0;
SELECT juhe_stats_reset();

-- off: every call is a request
SELECT juhe_test.reset();
SELECT res FROM juhe_verify('张三', '11010519491231002X');
SELECT res FROM juhe_verify('张三', '11010519491231002X');
SELECT (juhe_test.stats()) ->> 'billed' AS billed_while_off;

-- on: the same person, written differently (normalised), in new transactions
SET juhe.reuse_answers_for = '1d';
SELECT juhe_test.reset();
SELECT orderid AS last_orderid, id AS last_id FROM juhe_ledger
 WHERE status = 'billed' ORDER BY id DESC LIMIT 1 \gset
SELECT res, orderid = :'last_orderid' AS same_orderid, error_code,
       reason ~ ('^reused answer of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(ledger id ' || :last_id || '\), no request sent$') AS reason_says_reused
  FROM juhe_verify(' 张三 ', '11010519491231002x');
SELECT res, reason LIKE 'reused answer of %' AS reused FROM juhe_verify('张三', '11010519491231002X');
-- a mismatch (res 2) is an answer about the person too
SELECT res FROM juhe_verify('张四', '11010519491231002X');
SELECT res, reason LIKE 'reused answer of %' AS reused FROM juhe_verify('张四', '11010519491231002X');
SELECT (juhe_test.stats()) ->> 'billed' AS billed_while_on;
SELECT sum(reuses) AS reuses, sum(billed) AS billed FROM juhe_stats
 WHERE datname = current_database();

-- opting out per call: a fresh, billed answer (which is then the one reused)
SELECT juhe_test.reset();
SELECT res, reason LIKE 'reused answer of %' AS reused
  FROM juhe_verify('张三', '11010519491231002X', NULL, false);
SELECT res, reason LIKE 'reused answer of %' AS reused
  FROM juhe_verify('张三', '11010519491231002X', NULL, NULL);
SELECT ord, res, reason LIKE 'reused answer of %' AS reused
  FROM juhe_verify_many(ARRAY['张三', '李四'], ARRAY['11010519491231002X', '440304198808081238'],
                        NULL, 4, false);
SELECT ord, res, reason LIKE 'reused answer of %' AS reused
  FROM juhe_verify_many(ARRAY['张三', '李四'], ARRAY['11010519491231002X', '440304198808081238']);
SELECT (juhe_test.stats()) ->> 'billed' AS billed_opted_out;

-- never reused: service errors and local answers
SELECT juhe_test.reset();
SELECT error_code FROM juhe_verify('张三', '110101200001010010');
SELECT error_code FROM juhe_verify('张三', '110101200001010010');
SELECT error_code, reason LIKE '%checked locally%' AS local FROM juhe_verify('张三', '110105194912310021');
SELECT (juhe_test.stats()) ->> 'requests' AS requests_for_errors;

-- the trigger: reused by default, verified_at is the original answer's time
CREATE TABLE reuse_signup (email text UNIQUE, realname text, idcard text,
                           verification juhe_result, orderid text, verified_at timestamptz);
CREATE TRIGGER reuse_signup_verify BEFORE INSERT OR UPDATE ON reuse_signup
  FOR EACH ROW EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard',
    'result=verification', 'orderid=orderid', 'verified_at=verified_at', 'on_mismatch=accept');
SELECT juhe_test.reset();
INSERT INTO reuse_signup (email, realname, idcard) VALUES ('taken@example.com', '张三', '11010519491231002X');
-- a person not verified before: the signup pays, fails on the e-mail, is retried
INSERT INTO reuse_signup (email, realname, idcard) VALUES ('taken@example.com', '钱七', '110101199003074477');
INSERT INTO reuse_signup (email, realname, idcard) VALUES ('b@example.com', '钱七', '110101199003074477');
SELECT (juhe_test.stats()) ->> 'billed' AS signup_billed;
SELECT (r.verification).res, r.orderid = l.orderid AS orderid_of_first_answer,
       r.verified_at = l.billed_at AS verified_at_of_first_answer, l.outcome
  FROM reuse_signup r, juhe_ledger l
 WHERE r.email = 'b@example.com' AND l.orderid = r.orderid AND l.status = 'billed';
-- reuse=off: always fresh
CREATE TABLE reuse_fresh (realname text, idcard text, verification juhe_result, verified_at timestamptz);
CREATE TRIGGER reuse_fresh_verify BEFORE INSERT OR UPDATE ON reuse_fresh
  FOR EACH ROW EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard',
    'result=verification', 'verified_at=verified_at', 'reuse=off', 'on_mismatch=accept');
SELECT juhe_test.reset();
INSERT INTO reuse_fresh (realname, idcard) VALUES ('钱七', '110101199003074477');
SELECT (verification).res, (verification).reason LIKE 'reused answer of %' AS reused,
       verified_at > now() - interval '1 minute' AS verified_now FROM reuse_fresh;
SELECT (juhe_test.stats()) ->> 'billed' AS fresh_billed;
CREATE TABLE reuse_bad (realname text, idcard text);
CREATE TRIGGER reuse_bad_verify BEFORE INSERT ON reuse_bad
  FOR EACH ROW EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'reuse=maybe');
INSERT INTO reuse_bad VALUES ('王𠮷', '110101199003074477');

-- juhe_verify_table: reuse => false re-verifies with fresh answers
CREATE TABLE reuse_people (realname text, idcard text, res integer, verified_at timestamptz);
INSERT INTO reuse_people (realname, idcard) VALUES ('张三', '11010519491231002X'), ('李四', '440304198808081238');
SELECT juhe_test.reset();
SET client_min_messages = warning;	-- the NOTICE has a rate
CALL juhe_verify_table('reuse_people', 'realname', 'idcard', 'res', verified_at_column => 'verified_at');
SELECT (juhe_test.stats()) ->> 'billed' AS table_billed_reusing;
UPDATE reuse_people SET res = NULL;
CALL juhe_verify_table('reuse_people', 'realname', 'idcard', 'res', NULL, 8, 1000, NULL, 'verified_at', false);
SELECT (juhe_test.stats()) ->> 'billed' AS table_billed_fresh;
RESET client_min_messages;
SELECT count(*) FILTER (WHERE res IS NOT NULL) AS answered FROM reuse_people;

-- who may set and read it
CREATE ROLE regress_juhe_reuser;
SET ROLE regress_juhe_reuser;
\set VERBOSITY sqlstate
-- (the messages differ between PostgreSQL versions; the SQLSTATEs do not)
SET juhe.reuse_answers_for = '30d';
SHOW juhe.digest_key;
SELECT current_setting('juhe.digest_key');
\set VERBOSITY default
RESET ROLE;
DROP ROLE regress_juhe_reuser;
-- a key too short is refused without being echoed
ALTER SYSTEM SET juhe.digest_key = 'short-secret';
SET juhe.reuse_answers_for = 0;
