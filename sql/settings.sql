-- Settings: defaults, bounds, validation, missing values
SELECT name, boot_val, unit, context, vartype
  FROM pg_settings WHERE name LIKE 'juhe.%' AND name NOT IN ('juhe.key', 'juhe.openid', 'juhe.base_url', 'juhe.rsa_public_key', 'juhe.ca_file')
 ORDER BY name;
SELECT name, context FROM pg_settings WHERE name IN ('juhe.key', 'juhe.openid', 'juhe.base_url', 'juhe.rsa_public_key', 'juhe.ca_file') ORDER BY name;

SET juhe.mode = 'RSA';
SHOW juhe.mode;
SET juhe.mode = 'sm4';
RESET juhe.mode;
-- out of range: 22023 (PostgreSQL's wording differs between versions)
\set VERBOSITY sqlstate
SET juhe.timeout_ms = 10;
\set VERBOSITY default
SET juhe.timeout_ms = '2s';
SHOW juhe.timeout_ms;
SET juhe.retries = 9;

-- base_url: scheme and shape are checked
SET juhe.base_url = 'ftp://example.com';
SET juhe.base_url = 'https://user@example.com';
SET juhe.base_url = 'https://example.com/?x=1';
SET juhe.base_url = 'https://';
-- a trailing slash is fine
SELECT set_config('juhe.base_url', current_setting('juhe.base_url') || '/', false) ~ '/$' AS slash;
SELECT res FROM juhe_verify('张三', '11010519491231002X');
RESET juhe.base_url;

-- unknown settings under the reserved prefix are refused
SET juhe.no_such_setting = 1;

-- a missing key fails before anything is sent, naming the setting
SELECT juhe_test.reset();
SET juhe.key = '';
SELECT juhe_verify('张三', '11010519491231002X');
SELECT juhe_verify('张三', '11010519491231002X', 'aes');
RESET juhe.key;
SELECT (juhe_test.stats()) ->> 'requests' AS requests_sent;
