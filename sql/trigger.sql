-- juhe_verify_trigger(): verify users at signup
SET juhe.mode = 'plain';
SET juhe.retries = 0;
CREATE TABLE users (
    id serial PRIMARY KEY,
    email text NOT NULL,
    realname text,
    idcard text,
    verification juhe_result,
    verified_orderid text,
    verified_at timestamptz
);
CREATE TRIGGER users_verify
  BEFORE INSERT OR UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION
  juhe_verify_trigger('realname', 'idcard', 'result=verification',
                      'orderid=verified_orderid', 'verified_at=verified_at');

-- a match is accepted and recorded
SELECT juhe_test.reset();
INSERT INTO users (email, realname, idcard) VALUES ('zs@example.com', '张三', '11010519491231002x');
SELECT email, (verification).res, (verification).error_code, (verification).reason,
       verified_orderid = (verification).orderid AS orderid_recorded,
       verified_at IS NOT NULL AS has_verified_at
  FROM users ORDER BY id;

-- a mismatch is rejected with SQLSTATE JH001 and a masked detail
SELECT juhe_test.error_of($$INSERT INTO users (email, realname, idcard) VALUES ('ls@example.com', '李四', '11010519491231002X')$$);
-- a service error (no record) is rejected with JH002
SELECT juhe_test.error_of($$INSERT INTO users (email, realname, idcard) VALUES ('x@example.com', '测试', '110101200001010010')$$);
-- input the service would reject is rejected with JH003, without a request
SELECT juhe_test.reset();
SELECT juhe_test.error_of($$INSERT INTO users (email, realname, idcard) VALUES ('x@example.com', '测试', '12345')$$);
SELECT (juhe_test.stats()) ->> 'requests' AS requests_for_invalid;
-- a long invalid name is masked, not overflowed
SELECT left(e, 5) AS sqlstate, length(substring(e FROM 'name "张(\*+)"')) AS asterisks
  FROM juhe_test.error_of(format($$INSERT INTO users (email, realname, idcard) VALUES ('x@example.com', %L, '11010519491231002X')$$,
                                 repeat('张3', 200))) AS e;
-- a transport failure is rejected with juheid's JH010 (nothing sent), not class 08
SET juhe.base_url = 'http://127.0.0.1:1';
SELECT juhe_test.error_of($$INSERT INTO users (email, realname, idcard) VALUES ('x@example.com', '张三', '11010519491231002X')$$);
RESET juhe.base_url;
-- a NULL identity passes unverified by default
INSERT INTO users (email, realname, idcard) VALUES ('anon@example.com', NULL, NULL);
SELECT email, verification IS NULL AS unverified, verified_at IS NULL AS no_time FROM users WHERE email = 'anon@example.com';
SELECT email FROM users ORDER BY id;

-- UPDATE that does not touch the identity: no request, result kept
SELECT juhe_test.reset();
SELECT verified_orderid AS old_orderid FROM users WHERE email = 'zs@example.com' \gset
UPDATE users SET email = 'zhang.san@example.com' WHERE email = 'zs@example.com';
SELECT (juhe_test.stats()) ->> 'requests' AS requests_for_email_change,
       (SELECT verified_orderid = :'old_orderid' FROM users WHERE email = 'zhang.san@example.com') AS result_kept;
-- writing the same value again is not a change either
UPDATE users SET idcard = idcard WHERE email = 'zhang.san@example.com';
SELECT (juhe_test.stats()) ->> 'requests' AS requests_for_same_value;
-- UPDATE that changes the identity verifies again
UPDATE users SET realname = '阿卜杜热合曼·买买提', idcard = '650102198506152016' WHERE email = 'zhang.san@example.com';
SELECT (juhe_test.stats()) ->> 'requests' AS requests_for_identity_change,
       (SELECT verified_orderid <> :'old_orderid' FROM users WHERE email = 'zhang.san@example.com') AS result_replaced;
-- and an UPDATE to a mismatch is rejected, the row stays as it was
SELECT juhe_test.error_of($$UPDATE users SET realname = '张三' WHERE email = 'zhang.san@example.com'$$);
SELECT realname, (verification).res FROM users WHERE email = 'zhang.san@example.com';

-- multi-row INSERT, with the same person twice: paid once
SELECT juhe_test.reset();
INSERT INTO users (email, realname, idcard) VALUES
  ('a1@example.com', '李四', '440304198808081238'),
  ('a2@example.com', '王𠮷', '110101199003074477'),
  ('a3@example.com', '李四', '440304198808081238');
SELECT (juhe_test.stats()) ->> 'requests' AS requests_multirow;
-- INSERT ... SELECT
SELECT juhe_test.reset();
INSERT INTO users (email, realname, idcard)
  SELECT 'b' || g || '@example.com', '张三', '11010519491231002X' FROM generate_series(1, 3) g;
SELECT (juhe_test.stats()) ->> 'requests' AS requests_insert_select;
-- COPY
SELECT juhe_test.reset();
COPY users (email, realname, idcard) FROM stdin;
c1@example.com	李四	440304198808081238
c2@example.com	张三	11010519491231002X
c3@example.com	\N	\N
\.
SELECT (juhe_test.stats()) ->> 'requests' AS requests_copy;
SELECT email, (verification).res FROM users WHERE email LIKE 'c_@example.com' ORDER BY email;
-- one bad row rolls back the whole statement: no half-written rows
SELECT count(*) AS users_before FROM users \gset
SELECT juhe_test.error_of($$INSERT INTO users (email, realname, idcard) VALUES
  ('d1@example.com', '李四', '440304198808081238'),
  ('d2@example.com', '李四', '11010519491231002X')$$);
SELECT count(*) - :users_before AS rows_added FROM users;
-- COPY with a bad row too
SELECT juhe_test.error_of($$COPY users (email, realname, idcard) FROM PROGRAM 'printf ''e1@example.com\t李四\t440304198808081238\ne2@example.com\t李四\t11010519491231002X\n'''$$);
SELECT count(*) - :users_before AS rows_added FROM users;

-- options: accept and skip
CREATE TABLE signups (
    realname varchar(40),
    idcard varchar(18),
    res integer,
    detail jsonb
);
CREATE TRIGGER accept_all BEFORE INSERT OR UPDATE ON signups FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=res',
      'on_mismatch=accept', 'on_error=accept', 'on_failure=accept', 'on_null=reject', 'mode=aes');
CREATE TRIGGER detail_json BEFORE INSERT OR UPDATE ON signups FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=detail', 'on_mismatch=accept', 'on_error=accept', 'on_failure=accept');
SELECT juhe_test.reset();
INSERT INTO signups (realname, idcard) VALUES ('张三', '11010519491231002X'), ('李四', '11010519491231002X'),
  ('测试', '110101200001010010');
SELECT realname, res, detail - 'orderid' AS detail, detail ->> 'orderid' IS NOT NULL AS has_orderid FROM signups ORDER BY realname;
SELECT s -> 'by_path' AS by_path FROM juhe_test.stats() s;
-- on_null=reject: JH004
SELECT juhe_test.error_of($$INSERT INTO signups (realname, idcard) VALUES (NULL, '11010519491231002X')$$);
-- on_failure=accept: a warning, the row goes in without a result
SET juhe.base_url = 'http://127.0.0.1:1';
INSERT INTO signups (realname, idcard) VALUES ('王𠮷', '110101199003074477');
RESET juhe.base_url;
SELECT realname, res, detail FROM signups WHERE realname = '王𠮷';
DROP TRIGGER accept_all ON signups;
DROP TRIGGER detail_json ON signups;
TRUNCATE signups;
CREATE TRIGGER skip_bad BEFORE INSERT OR UPDATE ON signups FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=res',
      'on_mismatch=skip', 'on_error=skip', 'on_failure=skip', 'on_null=skip');
INSERT INTO signups (realname, idcard) VALUES ('张三', '11010519491231002X'), ('李四', '11010519491231002X'),
  ('测试', '110101200001010010'), (NULL, NULL);
SET juhe.base_url = 'http://127.0.0.1:1';
INSERT INTO signups (realname, idcard) VALUES ('王𠮷', '110101199003074477');
RESET juhe.base_url;
SELECT realname, res FROM signups ORDER BY realname;
DROP TABLE signups;

-- bad definitions are reported naming the trigger
CREATE TABLE t (name text, id text, n numeric, r juhe_result);
CREATE TRIGGER bad1 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION juhe_verify_trigger('nome', 'id');
INSERT INTO t (name, id) VALUES ('张三', '11010519491231002X');
DROP TRIGGER bad1 ON t;
CREATE TRIGGER bad2 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION juhe_verify_trigger('name', 'n');
INSERT INTO t (name, id) VALUES ('张三', '11010519491231002X');
DROP TRIGGER bad2 ON t;
CREATE TRIGGER bad3 BEFORE INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'result=n');
INSERT INTO t (name, id) VALUES ('张三', '11010519491231002X');
DROP TRIGGER bad3 ON t;
CREATE TRIGGER bad4 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'on_mismatch=ignore');
INSERT INTO t (name, id) VALUES ('张三', '11010519491231002X');
DROP TRIGGER bad4 ON t;
CREATE TRIGGER bad5 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'colour=blue');
INSERT INTO t (name, id) VALUES ('张三', '11010519491231002X');
DROP TRIGGER bad5 ON t;
CREATE TRIGGER bad6 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'strict');
INSERT INTO t (name, id) VALUES ('张三', '11010519491231002X');
DROP TRIGGER bad6 ON t;
CREATE TRIGGER bad7 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION juhe_verify_trigger('name');
INSERT INTO t (name, id) VALUES ('张三', '11010519491231002X');
DROP TRIGGER bad7 ON t;
CREATE TRIGGER bad8 AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION juhe_verify_trigger('name', 'id');
INSERT INTO t (name, id) VALUES ('张三', '11010519491231002X');
DROP TRIGGER bad8 ON t;
CREATE TRIGGER bad9 BEFORE INSERT ON t FOR EACH STATEMENT EXECUTE FUNCTION juhe_verify_trigger('name', 'id');
INSERT INTO t (name, id) VALUES ('张三', '11010519491231002X');
DROP TRIGGER bad9 ON t;
CREATE TRIGGER bad10 BEFORE DELETE ON t FOR EACH ROW EXECUTE FUNCTION juhe_verify_trigger('name', 'id');
INSERT INTO t (name, id) VALUES ('张三', '11010519491231002X');
DELETE FROM t;
DROP TRIGGER bad10 ON t;
CREATE TRIGGER bad11 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'mode=sm4');
INSERT INTO t (name, id) VALUES ('张三', '11010519491231002X');
DROP TRIGGER bad11 ON t;
-- a juhe_result column works with the composite type
CREATE TRIGGER good BEFORE INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'result=r');
INSERT INTO t (name, id) VALUES ('张三', '11010519491231002X');
SELECT name, (r).res FROM t;
DROP TABLE t;
-- not callable directly
SELECT juhe_verify_trigger();
DROP TABLE users;
