-- RSA mode: a fresh random AES key per request encrypts the fields with
-- AES-128-CBC (IV k16) and travels RSA-encrypted (PKCS#1 v1.5); the mock
-- decrypts with the test private key.
SET juhe.mode = 'rsa';
SELECT juhe_test.reset();

SELECT res, orderid IS NOT NULL AS has_orderid, error_code, reason
  FROM juhe_verify('张三', '11010519491231002X');
SELECT s -> 'last' ->> 'path' AS path,
       s -> 'last' -> 'fields' AS fields,
       s -> 'last' ->> 'decrypt_ok' AS decrypt_ok
  FROM juhe_test.stats() s;
SELECT res, error_code FROM juhe_verify('李四', '11010519491231002X');
SELECT res, error_code FROM juhe_verify('阿卜杜热合曼·买买提', '650102198506152016');
SELECT res, error_code FROM juhe_verify('王𠮷', '110101199003074477');

-- 30 requests, 30 different random keys, all decrypt
SELECT count(*) FILTER (WHERE (v).error_code = 0) AS answered
  FROM (SELECT juhe_verify('测试' || chr(19968 + g), '11010519491231002X') AS v
          FROM generate_series(1, 30) g) s;

-- the key was parsed once for all of this
SELECT key_loads FROM juhe_backend_stats();

-- key formats: PEM (PUBLIC KEY), PEM (RSA PUBLIC KEY), PEM on one line
SELECT pg_read_file(current_setting('juhe_test.keys_dir') || '/test_rsa_public.pem') AS pem \gset
SET juhe.rsa_public_key = :'pem';
SELECT res FROM juhe_verify('张三', '11010519491231002X');
SELECT pg_read_file(current_setting('juhe_test.keys_dir') || '/test_rsa_public_pkcs1.pem') AS pkcs1 \gset
SET juhe.rsa_public_key = :'pkcs1';
SELECT res FROM juhe_verify('张三', '11010519491231002X');
SELECT replace(:'pem', e'\n', ' ') AS oneline \gset
SET juhe.rsa_public_key = :'oneline';
SELECT res FROM juhe_verify('张三', '11010519491231002X');
-- a new setting is parsed once more each time
SELECT key_loads FROM juhe_backend_stats();
RESET juhe.rsa_public_key;

-- invalid keys are refused when set, with a reason and no key in the message
SET juhe.rsa_public_key = 'not a key';
SET juhe.rsa_public_key = 'AAAAAAAA';
SET juhe.rsa_public_key = '-----BEGIN PRIVATE KEY-----
MIIB
-----END PRIVATE KEY-----';
-- a valid DER key that is not RSA (an EC key) is refused too
SET juhe.rsa_public_key = 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEIrT1ynFWRIs4oQd835P69zKvy/qzx+rhvVmqVY4baZjqqRRbBJ/9+yn+kTHsqzOMLC3jyVjE8zHioMcxQyxIiw==';
-- a 512-bit RSA key is too weak
SET juhe.rsa_public_key = 'MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAJ9fuuuyXKGa2NhENpn8tsCC6BbWGb1apVvM5U8qsDWsiEr9V3benbZ/2dr+M4twkdz/6S9iikfwsD4OtyYSRykCAwEAAQ==';

-- the public key is required in rsa mode
SELECT juhe_test.reset();
SET juhe.rsa_public_key = '';
SELECT juhe_verify('张三', '11010519491231002X');
RESET juhe.rsa_public_key;
SELECT (juhe_test.stats()) ->> 'requests' AS requests_sent;
