-- A database in EUC_CN: names are converted to UTF-8 before they are
-- encrypted or sent, and the service's reason comes back in EUC_CN.
CREATE DATABASE juheid_euc_core TEMPLATE template0 ENCODING 'EUC_CN' LC_COLLATE 'C' LC_CTYPE 'C';
\c juheid_euc_core
SET client_encoding = 'UTF8';
CREATE EXTENSION juheid;
SELECT current_setting('server_encoding') AS server_encoding;
SELECT res, error_code, reason FROM juhe_verify('张三', '11010519491231002X', 'plain');
SELECT res, error_code, reason FROM juhe_verify('张三', '11010519491231002X', 'aes');
SELECT res, error_code, reason FROM juhe_verify('张三', '11010519491231002X', 'rsa');
SELECT res, error_code FROM juhe_verify('李四', '11010519491231002X', 'aes');
-- EUC_CN has no U+00B7: its middle dot (0xA1A4) arrives as U+30FB, which
-- local normalisation folds to the U+00B7 the service expects
SELECT convert_to('阿卜杜热合曼・买买提', 'EUC_CN') AS name_in_euc_cn;
SELECT res, error_code FROM juhe_verify('阿卜杜热合曼・买买提', '650102198506152016', 'rsa');
-- U+00B7 itself cannot be stored in EUC_CN at all
SELECT juhe_verify('阿卜杜热合曼·买买提', '650102198506152016', 'rsa');
SELECT res, error_code, reason FROM juhe_verify('张三', '110101200001010010');
\c contrib_regression
DROP DATABASE juheid_euc_core;
