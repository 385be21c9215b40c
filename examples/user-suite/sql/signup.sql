-- An application's signup rule: no account without a verified identity.
-- Runs against juheid-mock, whose test people and magic IDs give every
-- answer (juheid-mock --help).
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
  juhe_verify_trigger('realname', 'idcard',
                      'result=verification', 'orderid=verified_orderid',
                      'verified_at=verified_at',
                      'on_mismatch=reject', 'on_error=reject', 'on_failure=reject');

-- a registered person whose name matches: the account is created
INSERT INTO users (email, realname, idcard) VALUES ('a@example.com', '张三', '11010519491231002X');
SELECT email, (verification).res, (verification).error_code,
       verified_orderid LIKE 'J%' AS has_orderid, verified_at IS NOT NULL AS verified
  FROM users;

-- the wrong name for a registered ID: refused (the detail masks the person)
\set VERBOSITY default
INSERT INTO users (email, realname, idcard) VALUES ('b@example.com', '李五', '440304198808081238');

-- an ID the service has no record of (magic ID: 210301)
INSERT INTO users (email, realname, idcard) VALUES ('c@example.com', '王五', '110101200001010010');

-- not an ID number at all: refused locally, nothing sent
INSERT INTO users (email, realname, idcard) VALUES ('d@example.com', '赵六', '12345');

-- the provider answers HTTP 502 (magic ID): a provider failure, not a rejection of the person
INSERT INTO users (email, realname, idcard) VALUES ('e@example.com', '孙七', '110101200001012024');

-- the application can tell them apart by SQLSTATE
DO $$
BEGIN
  INSERT INTO users (email, realname, idcard) VALUES ('f@example.com', '李五', '440304198808081238');
EXCEPTION WHEN SQLSTATE 'JH001' THEN
  RAISE NOTICE 'identity does not match: ask the user to check the name';
END
$$;

-- only the verified account exists
SELECT count(*) FROM users;
