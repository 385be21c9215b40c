-- One connection per backend, reused across calls (keep-alive); identical
-- calls in one statement or transaction cost one request.
-- connection counts differ with the gateway worker (its connections are
-- shared by every backend): expected/keepalive_memo_1.out is that variant
SELECT current_setting('juhe.gateway') AS gateway;
SET juhe.mode = 'plain';
SET juhe.retries = 0;
SELECT juhe_test.reset();
SELECT requests AS r0, connections AS c0 FROM juhe_backend_stats() \gset

-- 200 different people in one statement
SELECT count(*) FILTER (WHERE (v).error_code = 0) AS answered
  FROM (SELECT juhe_verify('测' || chr(19968 + g), '11010519491231002X') AS v
          FROM generate_series(1, 200) g) s;
SELECT (s ->> 'requests')::int AS mock_requests,
       (s ->> 'connections')::int AS mock_connections
  FROM juhe_test.stats() s;
SELECT requests - :r0 AS sent, connections - :c0 AS connections_opened
  FROM juhe_backend_stats();

-- (f()).* calls f once per column: the memo makes that one request
SELECT juhe_test.reset();
SELECT memo_hits AS m0 FROM juhe_backend_stats() \gset
SELECT (juhe_verify('张三', '11010519491231002X')).*  \gset v_
SELECT :v_res AS res, :v_error_code AS error_code;
SELECT (juhe_test.stats()) ->> 'requests' AS requests_for_star;
SELECT memo_hits - :m0 AS memo_hits FROM juhe_backend_stats();

-- the LATERAL form calls it once to begin with
SELECT juhe_test.reset();
SELECT v.res, v.error_code
  FROM (VALUES ('李四', '11010519491231002X')) AS u(name, id),
       LATERAL juhe_verify(u.name, u.id) AS v;
SELECT (juhe_test.stats()) ->> 'requests' AS requests_for_lateral;

-- within a transaction, the second identical call is free ...
SELECT juhe_test.reset();
BEGIN;
SELECT res FROM juhe_verify('阿卜杜热合曼·买买提', '650102198506152016');
SELECT res FROM juhe_verify(' 阿卜杜热合曼·买买提 ', '650102198506152016');
SELECT (juhe_test.stats()) ->> 'requests' AS requests_in_xact;
COMMIT;
-- ... and the memo ends with the transaction
SELECT res FROM juhe_verify('阿卜杜热合曼·买买提', '650102198506152016');
SELECT (juhe_test.stats()) ->> 'requests' AS requests_after_commit;

-- the mode is part of the memo key
SELECT juhe_test.reset();
BEGIN;
SELECT res FROM juhe_verify('张三', '11010519491231002X', 'plain');
SELECT res FROM juhe_verify('张三', '11010519491231002X', 'aes');
SELECT res FROM juhe_verify('张三', '11010519491231002X', 'aes');
SELECT (juhe_test.stats()) ->> 'requests' AS requests_two_modes;
COMMIT;

-- unbilled answers are not memoised (asking again may give a new answer)
SELECT juhe_test.reset();
SELECT (juhe_verify('测试', '110101200001010010')).error_code;
SELECT (juhe_test.stats()) ->> 'requests' AS requests_unbilled;

-- a memoised answer survives a rolled-back subtransaction: never paid twice
SELECT juhe_test.reset();
BEGIN;
SAVEPOINT s1;
SELECT res FROM juhe_verify('李四', '440304198808081238');
ROLLBACK TO s1;
SELECT res FROM juhe_verify('李四', '440304198808081238');
COMMIT;
SELECT (juhe_test.stats()) ->> 'requests' AS requests_savepoint;

-- a rollback that discards billed answers leaves their order ids in the
-- server log: test/t/002_server_log.pl
