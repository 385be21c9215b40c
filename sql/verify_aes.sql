-- AES mode: fields encrypted with AES-128-ECB under k16 = MD5(openid)[0:16];
-- the mock decrypts with Python's cryptography, so a wrong key derivation,
-- padding or percent-encoding fails here.
SET juhe.mode = 'aes';
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
-- unknown person: a service answer, not an error
SELECT res, error_code, reason FROM juhe_verify('张三', '110101200001010010');

-- many names whose ciphertexts contain '+' and '/': all must decrypt
SELECT count(*) FILTER (WHERE (v).error_code = 0) AS answered,
       count(*) FILTER (WHERE (v).res = 2) AS mismatches
  FROM (SELECT juhe_verify('测试' || chr(19968 + g), '11010519491231002X') AS v
          FROM generate_series(1, 40) g) s;

-- a wrong openid derives a wrong key: the mock cannot decrypt (210304)
SET juhe.openid = 'some-other-openid';
SELECT res, error_code, reason FROM juhe_verify('张三', '11010519491231002X');
RESET juhe.openid;

-- openid is required (checked before sending)
SELECT juhe_test.reset();
SET juhe.openid = '';
SELECT juhe_verify('张三', '11010519491231002X');
RESET juhe.openid;
SELECT (juhe_test.stats()) ->> 'requests' AS requests_sent;
