--
-- toolkit_euc_cn: the toolkit in an EUC_CN (GB 2312) database.  Input is
-- converted to UTF-8 for the checks and results back to EUC_CN.  This file
-- is UTF-8; the client encoding is set to UTF8 after each connection.
--
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS juheid_euc;
CREATE DATABASE juheid_euc TEMPLATE template0 ENCODING 'EUC_CN' LC_COLLATE 'C' LC_CTYPE 'C';
\c juheid_euc
SET client_encoding TO 'UTF8';
CREATE EXTENSION juheid;
SELECT getdatabaseencoding();

-- names: GB 2312's middle dot (A1A4) is U+30FB in PostgreSQL's EUC_CN; it
-- is folded to U+00B7 for the checks and returned as A1A4 again
SELECT input, convert_to(input, 'EUC_CN') AS euc_bytes,
       juhe_name_normalize(input) AS normalized,
       convert_to(juhe_name_normalize(input), 'EUC_CN') AS normalized_bytes,
       juhe_name_valid(input) AS valid, juhe_mask_name(input) AS masked
FROM (VALUES ('张三'), ('　张三丰　'), ('阿依古丽・买买提'), ('阿依古丽．买买提'),
             ('阿依古丽・・买买提'), ('张3'), ('张３'), ('张 三'), ('Zhang'), (''),
             ('李')) AS v(input)
ORDER BY input COLLATE "C";
SELECT juhe_name_valid(repeat('张', 30)) AS len30, juhe_name_valid(repeat('张', 31)) AS len31;
-- characters outside GB 2312 cannot be typed in this database at all
SELECT juhe_name_valid('王' || U&'\+020000');
SELECT juhe_name_valid('阿依古丽·买买提');

-- ID numbers: full-width digits and spaces are in GB 2312 too
SELECT input, juhe_idcard_normalize(input) AS normalized, juhe_idcard_valid(input) AS valid,
       juhe_idcard_valid(input, true) AS strict, juhe_mask_idcard(input) AS masked
FROM (VALUES ('11010519491231002X'), ('　11010519491231002x　'),
             ('１１０１０５１９４９１２３１００２Ｘ'), ('110105491231002'),
             ('110105194912310021'), ('110103201201011234'), ('990101199001011230'),
             ('abc')) AS v(input)
ORDER BY input COLLATE "C";

-- info: region names come back in EUC_CN; a name GB 2312 cannot spell
-- (硚口区, 硚 U+7854) is NULL instead of an error
SELECT i.idcard, i.province, i.city, i.county,
       to_char(i.birth_date, 'YYYY-MM-DD') AS birth_date, i.sex
FROM (VALUES ('11010519491231002X'), ('440524188001010014'), ('420104199001011239')) AS v(id),
     LATERAL juhe_idcard_info(v.id) AS i
ORDER BY i.idcard;

-- the domain
CREATE TABLE toolkit_people (idcard juhe_idcard);
INSERT INTO toolkit_people VALUES ('11010519491231002X');
INSERT INTO toolkit_people VALUES ('１１０１０５１９４９１２３１００２Ｘ');
SELECT idcard FROM toolkit_people;
DROP TABLE toolkit_people;

\c :regress_db
DROP DATABASE juheid_euc;
