-- Service errors are answers: a row with res NULL, the error_code and the
-- reason, never an exception.  Magic IDs make the mock answer each one.
SET juhe.mode = 'plain';
SET juhe.retries = 0;
SELECT juhe_test.reset();

SELECT id, (v).res, (v).orderid, (v).error_code, (v).reason
  FROM (VALUES ('110101200001010010'), ('110101200001010029'),
               ('110101200001010037'), ('110101200001010045'),
               ('110101200001010053'), ('110101200001010061'),
               ('11010120000101007X'), ('110101200001011128'),
               ('110101200001011144'), ('110101200001011216'),
               ('110101200001012112')) AS t(id),
       LATERAL (SELECT juhe_verify('测试', id) AS v) s
 ORDER BY id;

-- a wrong key is an answer too (10001)
SET juhe.key = 'wrong-key';
SELECT res, error_code, reason FROM juhe_verify('张三', '11010519491231002X');
RESET juhe.key;

-- error_code 0 with an unknown res: an error that keeps the order id
SELECT juhe_test.error_of($$SELECT juhe_verify('测试', '110101200001012075')$$);

-- 210305 is retried: the mock fails the first time for this ID, then answers
SET juhe.retries = 1;
SELECT juhe_test.reset();
SELECT res, error_code FROM juhe_verify('测试', '110101200001010109');
SELECT (juhe_test.stats()) ->> 'requests' AS requests_sent;
-- always 210305: retried juhe.retries times, then the answer is returned
SELECT juhe_test.reset();
SET juhe.retries = 2;
SELECT res, error_code, reason FROM juhe_verify('测试', '110101200001010053');
SELECT (juhe_test.stats()) ->> 'requests' AS requests_sent;
-- other service errors are not retried
SELECT juhe_test.reset();
SELECT error_code FROM juhe_verify('测试', '110101200001010010');
SELECT (juhe_test.stats()) ->> 'requests' AS requests_sent;
