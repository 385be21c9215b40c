-- What a low-privilege role can create must not crash the server, forge
-- results or read secrets; strings from the service and from the input
-- never break a row or a message; memory stays bounded.
SET juhe.mode = 'plain';
SET juhe.retries = 0;
CREATE ROLE regress_juhe_owner LOGIN;
GRANT EXECUTE ON FUNCTION juhe_verify_trigger() TO regress_juhe_owner;
CREATE SCHEMA own AUTHORIZATION regress_juhe_owner;
GRANT USAGE ON SCHEMA juhe_test TO regress_juhe_owner;

-- 1. A look-alike juhe_result type (text res, or an extra int8 column) is
-- refused when the trigger is first fired, naming trigger, column and type;
-- the backend survives.  Only the extension's own type (by OID) is taken.
SET ROLE regress_juhe_owner;
CREATE TYPE own.juhe_result AS (res text, orderid text, error_code int, reason text);
CREATE TYPE own.juhe_result_long AS (res int, orderid text, error_code int, reason text, extra int8);
CREATE TABLE own.t1 (name text, id text, r own.juhe_result);
CREATE TRIGGER lookalike BEFORE INSERT OR UPDATE ON own.t1 FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'result=r');
SELECT juhe_test.sqlstate_of($$INSERT INTO own.t1 (name, id) VALUES ('张三', '11010519491231002X')$$);
CREATE TABLE own.t2 (name text, id text, r own.juhe_result_long);
CREATE TRIGGER lookalike2 BEFORE INSERT OR UPDATE ON own.t2 FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'result=r');
SELECT juhe_test.sqlstate_of($$INSERT INTO own.t2 (name, id) VALUES ('张三', '11010519491231002X')$$);
-- even when the look-alike comes first on the search_path
SET search_path = own, public;
CREATE TABLE own.t3 (name text, id text, r juhe_result);
CREATE TRIGGER lookalike3 BEFORE INSERT OR UPDATE ON own.t3 FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'result=r');
SELECT juhe_test.sqlstate_of($$INSERT INTO own.t3 (name, id) VALUES ('张三', '11010519491231002X')$$);
RESET search_path;
RESET ROLE;
SELECT 1 AS still_connected;
-- the extension's own type, altered by its owner, is refused too (no
-- reads past the four values)
BEGIN;
ALTER TYPE juhe_result ADD ATTRIBUTE extra int8;
SELECT juhe_test.sqlstate_of($$SELECT juhe_verify('张三', '11010519491231002X')$$);
CREATE TABLE t_alt (name text, id text, r juhe_result);
CREATE TRIGGER alt BEFORE INSERT OR UPDATE ON t_alt FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'result=r');
SELECT juhe_test.sqlstate_of($$INSERT INTO t_alt (name, id) VALUES ('张三', '11010519491231002X')$$);
ROLLBACK;
-- the toolkit's row type too
BEGIN;
ALTER TYPE juhe_idcard_info ADD ATTRIBUTE extra int8;
SELECT juhe_test.sqlstate_of($$SELECT * FROM juhe_idcard_info('11010519491231002X')$$);
ROLLBACK;
-- a set-returning entry point declared with another row type
CREATE FUNCTION pg_temp.batch3(text[], text[], text DEFAULT NULL, int DEFAULT 1)
RETURNS TABLE (res int, orderid text, error_code int)
AS '$libdir/juheid', 'juhe_verify_batch_internal' LANGUAGE C;
SELECT juhe_test.sqlstate_of($$SELECT * FROM pg_temp.batch3('{张三}', '{11010519491231002X}')$$);

-- 2. The columns the trigger owns always come from the trigger.
CREATE TABLE own.users (
    id serial PRIMARY KEY,
    realname text,
    idcard text,
    verification juhe_result,
    verified_orderid text,
    verified_at timestamptz,
    detail jsonb
);
ALTER TABLE own.users OWNER TO regress_juhe_owner;
SET ROLE regress_juhe_owner;
CREATE TRIGGER users_verify BEFORE INSERT OR UPDATE ON own.users FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=verification',
                                       'orderid=verified_orderid', 'verified_at=verified_at',
                                       'on_null=accept');
-- an INSERT that supplies them gets the trigger's values
INSERT INTO own.users (realname, idcard, verification, verified_orderid, verified_at)
  VALUES ('李四', '440304198808081238', '(2,J-FAKE,0,成功)', 'J-FAKE', '2000-01-01');
-- a NULL identity with supplied values stores NULLs
INSERT INTO own.users (realname, idcard, verification, verified_orderid, verified_at)
  VALUES (NULL, NULL, '(1,J-FAKE,0,成功)', 'J-FAKE', '2000-01-01');
SELECT id, (verification).res, verified_orderid ~ '^J[0-9]+$' AS real_orderid,
       verified_orderid IS NULL AS no_orderid, verified_at > '2001-01-01' AS real_time
  FROM own.users ORDER BY id;
-- an UPDATE that leaves the identity alone cannot forge them: old values stay
UPDATE own.users SET verification = '(1,J-FAKE,0,成功)', verified_orderid = 'J-FAKE',
                     verified_at = '2000-01-01';
SELECT id, (verification).res, verified_orderid ~ '^J[0-9]+$' AS real_orderid,
       verified_orderid IS NULL AS no_orderid, verified_at > '2001-01-01' AS real_time
  FROM own.users ORDER BY id;
-- a trigger that owns columns must fire on every UPDATE
CREATE TABLE own.t4 (name text, id text, res int);
CREATE TRIGGER insert_only BEFORE INSERT ON own.t4 FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'result=res');
SELECT juhe_test.error_of($$INSERT INTO own.t4 (name, id) VALUES ('张三', '11010519491231002X')$$);
DROP TRIGGER insert_only ON own.t4;
CREATE TRIGGER update_of BEFORE INSERT OR UPDATE OF name, id ON own.t4 FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'result=res');
SELECT juhe_test.sqlstate_of($$INSERT INTO own.t4 (name, id) VALUES ('张三', '11010519491231002X')$$);
DROP TRIGGER update_of ON own.t4;
CREATE TRIGGER with_when BEFORE UPDATE ON own.t4 FOR EACH ROW
  WHEN (OLD.name IS DISTINCT FROM NEW.name)
  EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'result=res');
INSERT INTO own.t4 VALUES ('张三', '11010519491231002X', NULL);
SELECT juhe_test.sqlstate_of($$UPDATE own.t4 SET name = '李四'$$);
DROP TRIGGER with_when ON own.t4;
-- a trigger that owns nothing may be INSERT-only
CREATE TRIGGER check_only BEFORE INSERT ON own.t4 FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('name', 'id');
INSERT INTO own.t4 VALUES ('张三', '11010519491231002X', 42);
SELECT count(*) AS rows FROM own.t4;
RESET ROLE;

-- 3. Invalid UTF-8 from the service (2155: order id and reason) is stored
-- and returned as valid text, '?' in place of each bad byte, by juhe_verify,
-- in juhe_result, text and jsonb columns alike.
SELECT res, orderid ~ '^J\?\?[0-9]+$' AS orderid_sanitised, error_code, reason
  FROM juhe_verify('测试', '110101200001012155');
CREATE TRIGGER detail_json BEFORE INSERT OR UPDATE ON own.users FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=detail');
INSERT INTO own.users (realname, idcard) VALUES ('测试', '110101200001012155');
SELECT (verification).reason, verified_orderid ~ '^J\?\?[0-9]+$' AS orderid_sanitised,
       detail ->> 'reason' AS json_reason, detail ->> 'orderid' = verified_orderid AS same_orderid,
       length(detail::text) > 0 AS readable
  FROM own.users WHERE idcard = '110101200001012155';
DROP TRIGGER detail_json ON own.users;

-- 5. Size and shape limits hold with juhe.validate_locally off: nothing
-- the service must reject is sent (and paid for).
SET juhe.validate_locally = off;
SELECT juhe_test.reset();
SELECT error_code, reason FROM juhe_verify(repeat('张', 20000), '11010519491231002X');
SELECT error_code, reason FROM juhe_verify('张三', '12345');
SELECT error_code, reason FROM juhe_verify('张' || chr(7) || '三', '11010519491231002X');
SELECT error_code, reason FROM juhe_verify('   ', '11010519491231002X');
-- the finer rules are off: a Latin name and a wrong check digit are sent
SELECT error_code FROM juhe_verify('Zhang San', '110105194912310021');
SELECT (juhe_test.stats()) ->> 'requests' AS requests_sent;
RESET juhe.validate_locally;
-- a masked detail stays short whatever the input's size
SELECT left(e, 5) AS sqlstate, length(e) < 300 AS bounded
  FROM juhe_test.error_of(format($$INSERT INTO own.users (realname, idcard) VALUES (%L, '11010519491231002X')$$,
                                 repeat('张', 1000000))) AS e;

-- 7. Secrets cannot be parked in world-readable catalogs.
ALTER ROLE regress_juhe_owner SET juhe.key = 'secret';
ALTER DATABASE contrib_regression SET juhe.openid = 'secret';
ALTER ROLE ALL SET juhe.key = 'secret';
CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql SET juhe.key = 'secret' AS 'SELECT 1';
CREATE FUNCTION pg_temp.g() RETURNS int LANGUAGE sql AS 'SELECT 1';
ALTER FUNCTION pg_temp.g() SET juhe.openid = 'secret';
SELECT count(*) AS stored FROM pg_db_role_setting WHERE array_to_string(setconfig, ',') LIKE '%juhe.%';
SELECT count(*) AS stored FROM pg_proc WHERE array_to_string(proconfig, ',') LIKE '%juhe.%';
-- clearing is fine, and a superuser's session SET still works
ALTER ROLE regress_juhe_owner SET juhe.key = '';
ALTER ROLE regress_juhe_owner RESET juhe.key;
SET juhe.key = 'session-only';
RESET juhe.key;

-- 8. A rejected signup leaves no personal data in the server log:
-- test/t/002_server_log.pl

-- 9. In a SQL_ASCII database a name that is not UTF-8 (here the GBK bytes
-- of 张三) is answered locally; no message shows any byte of it.
CREATE DATABASE juheid_ascii TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C';
\c juheid_ascii
CREATE EXTENSION juheid;
SET juhe.retries = 0;
SELECT error_code, reason FROM juhe_verify(E'\xd5\xc5\xc8\xfd', '11010519491231002X');
SELECT error_code, reason FROM juhe_verify('张三', E'11010519491231002\xd5');
CREATE TABLE u (name text, id text, res int);
CREATE TRIGGER v BEFORE INSERT OR UPDATE ON u FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('name', 'id', 'result=res');
CREATE FUNCTION pg_temp.error_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
  EXECUTE stmt;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
  RETURN SQLSTATE || ': ' || SQLERRM || ' / ' || d;
END $$;
SELECT pg_temp.error_of($$INSERT INTO u (name, id) VALUES (E'\xd5\xc5\xc8\xfd', '11010519491231002X')$$) AS e \gset
SELECT :'e' AS error, position(E'\xd5' IN :'e') AS byte_shown, position('0xd5' IN :'e') AS hex_shown;
-- valid UTF-8 in a SQL_ASCII database is verified as before
SELECT res, error_code FROM juhe_verify('张三', '11010519491231002X');
\c contrib_regression
DROP DATABASE juheid_ascii;

-- 12. on_failure=accept keeps memory per row bounded: test/t/003_memory.pl

-- 13. Setting juhe.base_url does not grow ErrorContext
DO $$
BEGIN
  FOR i IN 1..100000 LOOP
    PERFORM set_config('juhe.base_url', 'http://127.0.0.1:' || (1000 + i % 1000), true);
  END LOOP;
END $$;
SELECT total_bytes <= 16384 AS error_context_small
  FROM pg_backend_memory_contexts WHERE name = 'ErrorContext';
RESET juhe.base_url;

DROP SCHEMA own CASCADE;
REVOKE EXECUTE ON FUNCTION juhe_verify_trigger() FROM regress_juhe_owner;
REVOKE USAGE ON SCHEMA juhe_test FROM regress_juhe_owner;
DROP ROLE regress_juhe_owner;
