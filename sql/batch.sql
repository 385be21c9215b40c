-- The transport engine with many requests in flight (the base of bulk
-- verification).  juhe_verify_batch_internal is not part of the installed
-- API yet; it is declared here to exercise the engine.
CREATE FUNCTION juhe_test.verify_batch(realnames text[], idcards text[],
                                       mode text DEFAULT NULL, parallel int DEFAULT 4)
RETURNS SETOF juhe_result
AS '$libdir/juheid', 'juhe_verify_batch_internal'
LANGUAGE C VOLATILE;
SET juhe.retries = 0;

-- 60 different people and one match, 8 at a time: answers in input order
SELECT juhe_test.reset();
SELECT count(*) AS answers,
       count(*) FILTER (WHERE res = 2 AND error_code = 0) AS mismatches,
       bool_and(orderid IS NOT NULL) AS all_have_orderid,
       (array_agg(res ORDER BY n))[61] AS last_res
  FROM juhe_test.verify_batch(
         array(SELECT '测' || chr(19968 + g) FROM generate_series(1, 60) g) || '{张三}'::text[],
         array(SELECT '11010519491231002X' FROM generate_series(1, 61)),
         'plain', 8) WITH ORDINALITY AS r(res, orderid, error_code, reason, n);
SELECT (s ->> 'requests')::int AS requests,
       (s ->> 'connections')::int BETWEEN 2 AND 8 AS used_parallel_connections
  FROM juhe_test.stats() s;

-- the same engine in aes and rsa mode, with service errors among the answers
SELECT n, res, error_code, reason
  FROM juhe_test.verify_batch('{张三,李四,测试,王𠮷,阿卜杜热合曼·买买提}',
         '{11010519491231002X,11010519491231002X,110101200001010010,110101199003074477,650102198506152016}',
         'aes', 3) WITH ORDINALITY AS r(res, orderid, error_code, reason, n)
 ORDER BY n;
SELECT n, res, error_code, reason
  FROM juhe_test.verify_batch('{张三,李四,测试,王𠮷,阿卜杜热合曼·买买提}',
         '{11010519491231002X,11010519491231002X,110101200001010010,110101199003074477,650102198506152016}',
         'rsa', 5) WITH ORDINALITY AS r(res, orderid, error_code, reason, n)
 ORDER BY n;

-- duplicates share one request; NULLs and invalid input send nothing
SELECT juhe_test.reset();
SELECT n, res, error_code
  FROM juhe_test.verify_batch('{张三,张三,李四,NULL,张三,张三}',
         '{11010519491231002X,11010519491231002x,440304198808081238,11010519491231002X,NULL,110105194912310021}',
         'plain', 4) WITH ORDINALITY AS r(res, orderid, error_code, reason, n)
 ORDER BY n;
SELECT (juhe_test.stats()) ->> 'requests' AS requests;

-- a retry inside a batch: the ID that fails once is asked twice, the others once
SET juhe.retries = 1;
SELECT juhe_test.reset();
SELECT n, res, error_code
  FROM juhe_test.verify_batch('{甲,乙,张三}',
         '{110101200001010109,11010519491231002X,11010519491231002X}',
         'plain', 3) WITH ORDINALITY AS r(res, orderid, error_code, reason, n)
 ORDER BY n;
SELECT (juhe_test.stats()) ->> 'requests' AS requests;
SET juhe.retries = 0;

-- one transport failure fails the call, and the engine is clean afterwards
SELECT juhe_test.error_of($$SELECT * FROM juhe_test.verify_batch('{张三,测试,李四}',
         '{11010519491231002X,110101200001012024,440304198808081238}', 'plain', 3)$$);
-- cancel while several requests wait
SET statement_timeout = '500ms';
SELECT clock_timestamp() AS t0 \gset
\set VERBOSITY sqlstate
SELECT * FROM juhe_test.verify_batch('{测试,测试,张三}',
         '{110101200001012016,110101200001012016,11010519491231002X}', 'plain', 3);
\set VERBOSITY default
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1.5 s' AS stopped_in_time;
SELECT count(*) AS answers FROM juhe_test.verify_batch('{张三,李四}',
         '{11010519491231002X,440304198808081238}', 'plain', 2);

-- bad arguments
SELECT * FROM juhe_test.verify_batch('{张三}', '{}');
SELECT * FROM juhe_test.verify_batch('{张三}', '{11010519491231002X}', 'plain', 0);
