-- juhe.validate_locally (default on): input the service would reject is
-- answered locally with error_code 210304 and no request; valid input is
-- normalised before it is sent.
SET juhe.mode = 'plain';
SELECT juhe_test.reset();
SELECT local_answers AS l0 FROM juhe_backend_stats() \gset

SELECT id, (v).res, (v).error_code, (v).reason
  FROM (VALUES ('110105194912310021'),    -- wrong check digit
               ('11010519491231002'),     -- 17 digits
               ('110105194902300020'),    -- 30 February
               ('110105209901010020'),    -- born in the future
               ('990105194912310023'),    -- no such region
               ('')) AS t(id),
       LATERAL (SELECT juhe_verify('张三', id) AS v) s
 ORDER BY id;
SELECT name, (v).res, (v).error_code, (v).reason
  FROM (VALUES ('张3'), ('   '), ('张 三'), ('·张三'), ('张三' || chr(7))) AS t(name),
       LATERAL (SELECT juhe_verify(name, '11010519491231002X') AS v) s
 ORDER BY name;
-- both wrong: both named
SELECT res, error_code, reason FROM juhe_verify('张3', '110105194912310021');
SELECT (juhe_test.stats()) ->> 'requests' AS requests_sent,
       (SELECT local_answers - :l0 FROM juhe_backend_stats()) AS local_answers;

-- normalised before sending: 15-digit ID, full-width digits and X, dots
SELECT juhe_test.reset();
SELECT res, error_code FROM juhe_verify('张三', '110105491231002');
SELECT res, error_code FROM juhe_verify('张三', '１１０１０５１９４９１２３１００２ｘ');
SELECT res, error_code FROM juhe_verify('阿卜杜热合曼•买买提', '650102198506152016');
SELECT res, error_code FROM juhe_verify('阿卜杜热合曼・买买提', '650102198506152016');
SELECT res, error_code FROM juhe_verify('阿卜杜热合曼．买买提', '650102198506152016', 'aes');
SELECT res, error_code FROM juhe_verify('阿卜杜热合曼‧买买提', '650102198506152016', 'rsa');
SELECT (juhe_test.stats()) ->> 'requests' AS requests_sent;

-- a long name is not rejected for being long
SELECT error_code, reason FROM juhe_verify('阿卜杜热合曼·买买提·艾力·阿不都热依木', '650102198506152016');

-- with local validation off, everything goes to the service
SET juhe.validate_locally = off;
SELECT juhe_test.reset();
SELECT res, error_code, reason FROM juhe_verify('张三', '110105194912310021');
SELECT res, error_code FROM juhe_verify('张三', '110105491231002');
SELECT (juhe_test.stats()) ->> 'requests' AS requests_sent;
RESET juhe.validate_locally;
