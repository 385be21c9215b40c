-- Plain mode: match, mismatch, normalisation, NULLs, composite access
SET juhe.mode = 'plain';
SELECT juhe_test.reset();

-- a match, and the whole row
SELECT res, orderid IS NOT NULL AS has_orderid, error_code, reason
  FROM juhe_verify('张三', '11010519491231002X');
-- the mock saw a POST form, orderid=1, nothing in the URL
SELECT s -> 'last' ->> 'method' AS method,
       s -> 'last' ->> 'content_type' AS content_type,
       s -> 'last' -> 'fields' AS fields,
       s -> 'last' ->> 'orderid' AS orderid_field,
       s -> 'last' ->> 'query_string' AS query_string
  FROM juhe_test.stats() s;

-- a mismatch is an answer (billed), not an error
SELECT res, error_code, reason FROM juhe_verify('李四', '11010519491231002X', 'plain');

-- mode is case-insensitive; lowercase x and spaces are normalised
SELECT res FROM juhe_verify('  张三 ', ' 11010519491231002x ', 'PLAIN');
SELECT res FROM juhe_verify('阿卜杜热合曼·买买提', '650102198506152016', 'Plain');
-- a CJK Extension B character survives the trip
SELECT res FROM juhe_verify('王𠮷', '110101199003074477');

-- NULLs: NULL result and nothing sent
SELECT juhe_test.reset();
SELECT juhe_verify(NULL, '11010519491231002X') IS NULL AS null_name,
       juhe_verify('张三', NULL) IS NULL AS null_id,
       juhe_verify(NULL, NULL) IS NULL AS both_null;
SELECT (juhe_test.stats()) ->> 'requests' AS requests_sent;

-- NULL mode means juhe.mode; an unknown mode fails before sending
SELECT res FROM juhe_verify('张三', '11010519491231002X', NULL);
SELECT juhe_test.reset();
SELECT juhe_verify('张三', '11010519491231002X', 'rsa2');
SELECT juhe_verify('张三', '11010519491231002X', '');
SELECT (juhe_test.stats()) ->> 'requests' AS requests_sent;

-- numbers as strings are accepted
SELECT res, error_code FROM juhe_verify('某人', '110101200001012059');
SELECT res, error_code FROM juhe_verify('某人', '110101200001012067');
