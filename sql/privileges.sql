-- With juheid preloaded (the recommended setup), a non-superuser can
-- neither read nor change the secrets or the service URL, and may not call
-- juhe_verify until granted.
CREATE ROLE regress_juhe_app LOGIN;
CREATE ROLE regress_juhe_other LOGIN;
GRANT EXECUTE ON FUNCTION juhe_verify(text, text, text) TO regress_juhe_app;

SET ROLE regress_juhe_other;
SELECT juhe_verify('张三', '11010519491231002X');
RESET ROLE;

SET ROLE regress_juhe_app;
-- reading: 42501 insufficient privilege (the wording is PostgreSQL's own
-- and differs between versions)
\set VERBOSITY sqlstate
SHOW juhe.key;
SHOW juhe.openid;
SHOW juhe.base_url;
SHOW juhe.ca_file;
SELECT current_setting('juhe.key');
SELECT current_setting('juhe.openid');
SELECT current_setting('juhe.base_url');
\set VERBOSITY default
SELECT name FROM pg_settings WHERE name IN ('juhe.key', 'juhe.openid', 'juhe.base_url', 'juhe.ca_file');
SELECT count(*) AS visible_juhe_settings FROM pg_settings WHERE name LIKE 'juhe.%';
SELECT name, setting FROM pg_show_all_settings() WHERE name IN ('juhe.key', 'juhe.openid', 'juhe.base_url');
-- changing
SET juhe.key = 'stolen';
SET juhe.openid = 'stolen';
SET juhe.base_url = 'http://127.0.0.1:9/steal';
SET juhe.ca_file = '/tmp/evil.pem';
SET juhe.rsa_public_key = '';
SELECT set_config('juhe.base_url', 'http://127.0.0.1:9/steal', false);
ALTER ROLE regress_juhe_app SET juhe.base_url = 'http://127.0.0.1:9/steal';
-- the user settings are theirs to change
SET juhe.mode = 'aes';
SET juhe.timeout_ms = 4000;
SET juhe.retries = 0;
-- and the call works, through the superuser's settings
SELECT res, error_code FROM juhe_verify('张三', '11010519491231002X');
SELECT res, error_code FROM juhe_verify('张三', '11010519491231002X', 'rsa');
RESET ROLE;

-- EXECUTE on juhe_verify is granted explicitly, never to PUBLIC
SELECT has_function_privilege('regress_juhe_other', 'juhe_verify(text, text, text)', 'EXECUTE') AS other_may_verify,
       has_function_privilege('regress_juhe_app', 'juhe_verify(text, text, text)', 'EXECUTE') AS app_may_verify;

DROP OWNED BY regress_juhe_app;
DROP ROLE regress_juhe_app;
DROP ROLE regress_juhe_other;
