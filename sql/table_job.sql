-- CALL juhe_verify_table on what real schemas hold: partitioned and
-- inherited tables, a signup trigger that owns the result columns, tables
-- that refuse an answer, roles with some privileges, odd order ids.  Rows
-- are identified by relation and ctid together; a row is sent at most once
-- per CALL; only the answer for the trigger's own identity gets into the
-- trigger's columns; the privileges are checked before anything is sent;
-- no message carries a name or an ID number unmasked.
SET juhe.mode = 'plain';
SET juhe.retries = 0;
-- the NOTICE per batch shows rates and times: not shown here
SET client_min_messages = warning;
CREATE FUNCTION pg_temp.sent() RETURNS text LANGUAGE sql AS
$$ SELECT (s ->> 'requests') || ' sent, ' || (s ->> 'billed') || ' billed' FROM juhe_test.stats() s $$;

-- 1. A partitioned table with the signup trigger: two signups deferred
-- while the service was unreachable, then verified by the job, once each
CREATE TABLE p_users (id int, realname text, idcard text, v juhe_result, verified_at timestamptz)
  PARTITION BY RANGE (id);
CREATE TABLE p_users_1 PARTITION OF p_users FOR VALUES FROM (0) TO (100);
CREATE TABLE p_users_2 PARTITION OF p_users FOR VALUES FROM (100) TO (200);
CREATE TRIGGER verify BEFORE INSERT OR UPDATE ON p_users FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=v', 'verified_at=verified_at',
                                       'on_failure=defer');
SET juhe.base_url = 'http://127.0.0.1:1';
INSERT INTO p_users (id, realname, idcard) VALUES (1, '张三', '11010519491231002X'), (150, '李四', '440304198808081238');
RESET juhe.base_url;
SELECT juhe_test.reset();
CALL juhe_verify_table('p_users', 'realname', 'idcard', 'v', verified_at_column => 'verified_at');
SELECT pg_temp.sent();
SELECT tableoid::regclass, id, (v).res, (v).error_code, verified_at IS NOT NULL AS verified_at
  FROM p_users ORDER BY id;
-- again: nothing left, nothing sent
SELECT juhe_test.reset();
CALL juhe_verify_table('p_users', 'realname', 'idcard', 'v', verified_at_column => 'verified_at');
SELECT pg_temp.sent();
-- the trigger still refuses anyone else's write, on every partition
UPDATE p_users SET v = '(1,J-FAKE,0,成功)' WHERE id = 150;
SELECT (v).orderid = 'J-FAKE' AS forged FROM p_users WHERE id = 150;

-- 2. Inheritance without a trigger: parent and child both hold a row at
-- ctid (0,1); each gets its own answer (王五's ID has no record)
CREATE TABLE i_people (id int, realname text, idcard text, v juhe_result);
CREATE TABLE i_people_child () INHERITS (i_people);
INSERT INTO i_people VALUES (1, '张三', '11010519491231002X');
INSERT INTO i_people_child VALUES (2, '王五', '110105198001010016');
SELECT tableoid::regclass, ctid FROM i_people ORDER BY id;
SELECT juhe_test.reset();
CALL juhe_verify_table('i_people', 'realname', 'idcard', 'v');
SELECT pg_temp.sent();
SELECT tableoid::regclass, realname, (v).res, (v).error_code FROM i_people ORDER BY id;

-- a foreign table in the tree, or row-level security on the root: refused
-- before anything is sent
CREATE FOREIGN DATA WRAPPER regress_juhe_nofdw;
CREATE SERVER regress_juhe_nowhere FOREIGN DATA WRAPPER regress_juhe_nofdw;
CREATE FOREIGN TABLE p_users_far PARTITION OF p_users FOR VALUES FROM (200) TO (300)
  SERVER regress_juhe_nowhere;
SET juhe.base_url = 'http://127.0.0.1:1';
UPDATE p_users SET realname = '测试' WHERE id = 1;
RESET juhe.base_url;
SELECT juhe_test.reset();
CALL juhe_verify_table('p_users', 'realname', 'idcard', 'v');
SELECT pg_temp.sent();
DROP FOREIGN TABLE p_users_far;
CREATE ROLE regress_rls_user;
GRANT SELECT, UPDATE ON p_users, p_users_1, p_users_2 TO regress_rls_user;
GRANT EXECUTE ON PROCEDURE juhe_verify_table(regclass, name, name, name, text, integer, integer, name, name)
  TO regress_rls_user;
ALTER TABLE p_users ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_low ON p_users USING (id < 10);
SELECT juhe_test.reset();
SET ROLE regress_rls_user;
CALL juhe_verify_table('p_users', 'realname', 'idcard', 'v');
RESET ROLE;
SELECT pg_temp.sent();
ALTER TABLE p_users DISABLE ROW LEVEL SECURITY;
-- without privileges on a partition: refused before anything is sent
REVOKE UPDATE ON p_users_2 FROM regress_rls_user;
SET juhe.base_url = 'http://127.0.0.1:1';
UPDATE p_users SET realname = '测一' WHERE id = 150;
RESET juhe.base_url;
SELECT juhe_test.reset();
SET ROLE regress_rls_user;
CALL juhe_verify_table('p_users', 'realname', 'idcard', 'v');
RESET ROLE;
SELECT pg_temp.sent();

-- 3. A forged verification: someone else's name and ID in two other
-- columns of a row whose own identity is 冒名/110105198001010016
CREATE TABLE users2 (id int PRIMARY KEY, realname text, idcard text, nickname text, note text,
                     verification juhe_result, verified_at timestamptz);
CREATE TRIGGER users2_verify BEFORE INSERT OR UPDATE ON users2 FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=verification',
                                       'verified_at=verified_at', 'on_failure=defer');
SET juhe.base_url = 'http://127.0.0.1:1';
INSERT INTO users2 (id, realname, idcard, nickname, note)
  VALUES (1, '冒名', '110105198001010016', '张三', '11010519491231002X');
RESET juhe.base_url;
CREATE ROLE regress_forger;
GRANT SELECT, UPDATE ON users2 TO regress_forger;
GRANT EXECUTE ON PROCEDURE juhe_verify_table(regclass, name, name, name, text, integer, integer, name, name)
  TO regress_forger;
SELECT juhe_test.reset();
SET ROLE regress_forger;
\set VERBOSITY terse
CALL juhe_verify_table('users2', 'nickname', 'note', 'verification', verified_at_column => 'verified_at');
\set VERBOSITY default
RESET ROLE;
SELECT pg_temp.sent();
SELECT verification IS NULL AS still_unverified, verified_at IS NULL AS no_verified_at FROM users2;
-- its own identity, through the job: the trigger records the answer
SELECT juhe_test.reset();
CALL juhe_verify_table('users2', 'realname', 'idcard', 'verification', verified_at_column => 'verified_at');
SELECT pg_temp.sent();
SELECT (verification).error_code, verified_at IS NULL AS no_verified_at FROM users2;

-- a user trigger that copies the answer being written into other rows:
-- those writes are any other UPDATE, and the trigger keeps their columns
CREATE TABLE users3 (id int PRIMARY KEY, realname text, idcard text, verification juhe_result);
CREATE TRIGGER a_verify BEFORE INSERT OR UPDATE ON users3 FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=verification', 'on_failure=defer');
CREATE FUNCTION users3_spread() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() = 1 THEN
        UPDATE users3 SET verification = NEW.verification WHERE id <> NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER z_spread AFTER UPDATE ON users3 FOR EACH ROW EXECUTE FUNCTION users3_spread();
SET juhe.base_url = 'http://127.0.0.1:1';
INSERT INTO users3 VALUES (1, '张三', '11010519491231002X'), (2, NULL, NULL);
RESET juhe.base_url;
SELECT juhe_test.reset();
CALL juhe_verify_table('users3', 'realname', 'idcard', 'verification');
SELECT pg_temp.sent();
SELECT id, (verification).res FROM users3 ORDER BY id;

-- 4. A table that refuses one answer (a CHECK on mismatches): the other
-- answers are kept, the refused row is reported masked (PostgreSQL's
-- "Failing row contains" detail would show the name and ID) and not sent
-- again in this CALL; the next CALL asks again for it only
CREATE TABLE strict_people (id int PRIMARY KEY, realname text, idcard text, v juhe_result,
                            CHECK ((v).res IS DISTINCT FROM 2));
INSERT INTO strict_people VALUES (1, '张三', '11010519491231002X'), (2, '李四', '440304198808081238'),
                                 (3, '诸葛亮', '110101199003074477'),
                                 (4, '阿卜杜热合曼·买买提', '650102198506152016');
SELECT (pg_stat_file(current_setting('juhe_test.log_file'))).size AS log0 \gset
SELECT juhe_test.reset();
-- (terse: the detail has the order id, which counts up)
\set VERBOSITY terse
CALL juhe_verify_table('strict_people', 'realname', 'idcard', 'v');
SELECT pg_temp.sent();
SELECT id, (v).res FROM strict_people ORDER BY id;
SELECT juhe_test.reset();
CALL juhe_verify_table('strict_people', 'realname', 'idcard', 'v', batch_size => 1);
\set VERBOSITY default
SELECT pg_temp.sent();
-- nothing of the refused row in the server log either
SELECT pg_sleep(0.2);
SELECT count(*) FILTER (WHERE l LIKE '%could not write the answer for name "诸**", ID "110101********4477"%')
         AS masked_warnings,
       count(*) FILTER (WHERE l LIKE '%诸葛亮%' OR l LIKE '%110101199003074477%' OR l LIKE '%Failing row%')
         AS lines_with_the_person
  FROM regexp_split_to_table(pg_read_file(current_setting('juhe_test.log_file'), :log0, 1000000), E'\n') AS l;

-- a role without UPDATE on the result column: refused before anything is
-- sent (it used to be after the first billed answers)
CREATE TABLE narrow (id int PRIMARY KEY, realname text, idcard text, v juhe_result, orderid text);
INSERT INTO narrow VALUES (1, '张三', '11010519491231002X'), (2, '李四', '440304198808081238');
CREATE ROLE regress_narrow;
GRANT SELECT, UPDATE (realname, idcard, orderid) ON narrow TO regress_narrow;
GRANT EXECUTE ON PROCEDURE juhe_verify_table(regclass, name, name, name, text, integer, integer, name, name)
  TO regress_narrow;
SELECT juhe_test.reset();
SET ROLE regress_narrow;
CALL juhe_verify_table('narrow', 'realname', 'idcard', 'v');
RESET ROLE;
SELECT pg_temp.sent();
-- and without UPDATE on the orderid column
GRANT UPDATE (v) ON narrow TO regress_narrow;
REVOKE UPDATE (orderid) ON narrow FROM regress_narrow;
SELECT juhe_test.reset();
SET ROLE regress_narrow;
CALL juhe_verify_table('narrow', 'realname', 'idcard', 'v', orderid_column => 'orderid');
RESET ROLE;
SELECT pg_temp.sent();

-- an integer result column holds res only: a 210301 answer leaves it NULL,
-- and the row is not sent again in the same CALL
CREATE TABLE int_people (realname text, idcard text, res integer);
INSERT INTO int_people VALUES ('王五', '110105198001010016');
SELECT juhe_test.reset();
CALL juhe_verify_table('int_people', 'realname', 'idcard', 'res', batch_size => 1);
SELECT pg_temp.sent();

-- 5. Order ids as the service sends them (300 characters; not ASCII) are
-- in the ledger exactly as the caller and the table got them
SELECT coalesce(max(id), 0) AS id0 FROM juhe_ledger \gset
CREATE TABLE odd_ids (realname text, idcard text, v juhe_result, orderid text);
INSERT INTO odd_ids VALUES ('测试', '110101200001012198'), ('测试', '110101200001012200');
CALL juhe_verify_table('odd_ids', 'realname', 'idcard', 'v', orderid_column => 'orderid');
SELECT length(orderid) AS length, orderid = (v).orderid AS same, left(orderid, 7) AS starts
  FROM odd_ids ORDER BY idcard;
SELECT count(*) AS found_in_ledger FROM odd_ids o JOIN juhe_ledger l ON l.orderid = o.orderid
 WHERE l.id > :id0 AND l.status = 'billed';
CREATE TEMP TABLE odd_calls AS
SELECT (juhe_verify('测试', '110101200001012198')).orderid AS long_id,
       (juhe_verify('测一', '110101200001012200')).orderid AS unicode_id;
SELECT length(long_id), left(unicode_id, 7) FROM odd_calls;
SELECT count(*) AS found_in_ledger FROM odd_calls c JOIN juhe_ledger l
    ON l.orderid IN (c.long_id, c.unicode_id)
 WHERE l.id > :id0;

RESET client_min_messages;
DROP TABLE p_users, i_people CASCADE;
DROP TABLE users2, users3, strict_people, narrow, int_people, odd_ids;
DROP FUNCTION users3_spread();
DROP SERVER regress_juhe_nowhere;
DROP FOREIGN DATA WRAPPER regress_juhe_nofdw;
DROP OWNED BY regress_rls_user, regress_forger, regress_narrow;
DROP ROLE regress_rls_user;
DROP ROLE regress_forger;
DROP ROLE regress_narrow;
