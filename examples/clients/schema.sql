-- examples/clients/schema.sql -- what the client programs need, run by a
-- superuser (run.sh does, with psql) in a database of their own:
--   createdb shop && psql -d shop -f schema.sql
-- The programs connect as shop_app, an ordinary role.  shop_app_offline is
-- the same application with the provider unreachable (juhe.base_url points
-- where nothing listens), to show a failure where nothing was sent (JH010).
CREATE EXTENSION IF NOT EXISTS juheid;

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop_app') THEN
    CREATE ROLE shop_app LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop_app_offline') THEN
    CREATE ROLE shop_app_offline LOGIN IN ROLE shop_app;
  END IF;
END
$$;
-- juhe.base_url is superuser-only: only a superuser can point a role elsewhere
ALTER ROLE shop_app_offline SET juhe.base_url = 'http://127.0.0.1:1';

GRANT EXECUTE ON FUNCTION juhe_verify(text, text, text) TO shop_app;

DROP TABLE IF EXISTS users;
CREATE TABLE users (
    id serial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    realname text,
    idcard text,
    verification juhe_result,
    verified_orderid text,
    verified_at timestamptz
);
-- README "Verify users at signup": no account without a verified identity
CREATE TRIGGER users_verify
  BEFORE INSERT OR UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION
  juhe_verify_trigger('realname', 'idcard',
                      'result=verification', 'orderid=verified_orderid',
                      'verified_at=verified_at',
                      'on_mismatch=reject', 'on_error=reject', 'on_failure=reject');
GRANT SELECT, INSERT, DELETE ON users TO shop_app;
GRANT USAGE ON SEQUENCE users_id_seq TO shop_app;
