--
-- toolkit_idcard: resident ID numbers checked locally (normalise, check
-- digit, birth date, region codes, info, masking, the juhe_idcard domain).
-- All IDs are made-up test data.  Nothing here depends on today's date
-- except through expressions computed from CURRENT_DATE.
--

-- check digit of 17 digits, written independently of the C code
CREATE FUNCTION pg_temp.with_check(body text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT body || substr('10X98765432',
        (sum(substr(body, i::int, 1)::int * w) % 11)::int + 1, 1)
    FROM unnest('{7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2}'::int[])
         WITH ORDINALITY AS t(w, i)
$$;

-- the GB 11643-1999 examples
SELECT pg_temp.with_check('11010519491231002') AS ex1,
       pg_temp.with_check('44052418800101001') AS ex2;

-- every check-digit value 0-9 and X, and the same body with a wrong one
SELECT right(id, 1) AS check_digit, id,
       juhe_idcard_valid(id) AS valid,
       juhe_idcard_valid(left(id, 17) || CASE right(id, 1) WHEN '0' THEN '1' ELSE '0' END) AS wrong_digit_valid
FROM (VALUES ('110101199001010090'), ('110101199001010031'), ('110101199001010082'),
             ('110101199001010023'), ('110101199001010074'), ('110101199001010015'),
             ('110101199001010066'), ('110101199001010197'), ('110101199001010058'),
             ('110101199001010189'), ('11010119900101004X')) AS v(id)
ORDER BY right(id, 1) COLLATE "C";

-- the C check digit agrees with the SQL one on many bodies
SELECT count(*) AS bodies,
       count(*) FILTER (WHERE juhe_idcard_normalize(b) = pg_temp.with_check('110105' || '19' || substr(b, 7)))
         AS agree
FROM (SELECT '110105' || lpad(((s * 7919) % 1000000)::text, 6, '0') || lpad((s % 1000)::text, 3, '0') AS b
      FROM generate_series(1, 2000) s) t
WHERE juhe_idcard_normalize(b) IS NOT NULL;

-- Feb 29: leap years 2000 and 2004, not 1900 or 2001
SELECT d, id, juhe_idcard_valid(id) AS valid
FROM (VALUES ('2000-02-29', '110105200002291235'), ('2004-02-29', '110105200402291234'),
             ('1900-02-29', '110105190002291239'), ('2001-02-29', '110105200102291232'),
             ('1900-02-28', '110105190002281233'), ('2001-02-28', '110105200102281237')) AS v(d, id)
ORDER BY d;

-- not real dates (check digits are right)
SELECT body, juhe_idcard_valid(pg_temp.with_check(body)) AS valid
FROM (VALUES ('11010519901301123'), ('11010519900001123'), ('11010519900100123'),
             ('11010519900431123'), ('11010519900532123'), ('11010517991231123'),
             ('11010518000101123')) AS v(body)
ORDER BY body;

-- future dates: tomorrow and 2999 are rejected, today is accepted
SELECT juhe_idcard_valid(pg_temp.with_check('110105' || to_char(current_date, 'YYYYMMDD') || '123')) AS today,
       juhe_idcard_valid(pg_temp.with_check('110105' || to_char(current_date + 1, 'YYYYMMDD') || '123')) AS tomorrow,
       juhe_idcard_valid('110103299901011233') AS year_2999,
       juhe_idcard_info('110103299901011233') IS NULL AS info_null;

-- regions: unknown province, unknown county, retired 110103 (崇文区, ended 2009)
SELECT label, id, juhe_idcard_valid(id) AS valid, juhe_idcard_valid(id, true) AS strict,
       juhe_idcard_valid(id, false) AS not_strict
FROM (VALUES ('unknown province 99', '990101199001011230'),
             ('unknown county 110199', pg_temp.with_check('11019919900101123')),
             ('110103 born 2008', '110103200801011233'),
             ('110103 born 2012', '110103201201011234'),
             ('110118 born 2014', pg_temp.with_check('11011820140101123')),
             ('110118 born 2015', pg_temp.with_check('11011820150101123')),
             ('prefecture 441900 born 1990', pg_temp.with_check('44190019900101123')),
             ('Taiwan 710000', '710000198001011232'),
             ('Taiwan 710100', pg_temp.with_check('71010019800101123')),
             ('Hong Kong permit 810000', '810000198001011236'),
             ('Macau permit 820000', '820000198001011238'),
             ('Taiwan permit 830000', '83000019800101123X'),
             ('810101', '810101198001011238'),
             ('830100', pg_temp.with_check('83010019800101123'))) AS v(label, id)
ORDER BY label COLLATE "C";

-- normalisation: spaces, full-width, lowercase x, 15 -> 18 digits
SELECT label, juhe_idcard_normalize(input) AS normalized, juhe_idcard_valid(input) AS valid
FROM (VALUES ('plain', '11010519491231002X'),
             ('lowercase x', '11010519491231002x'),
             ('ASCII spaces', E'  11010519491231002X\t\n'),
             ('ideographic spaces', '　11010519491231002X　'),
             ('full-width digits', '１１０１０５１９４９１２３１００２Ｘ'),
             ('full-width x', '１１０１０５１９４９１２３１００２ｘ'),
             ('15 digits', '110105491231002'),
             ('15 digits, 1980', '440524800101001'),
             ('15 full-width', ' １１０１０５４９１２３１００２ '),
             ('15 bad date', '110105491232002'),
             ('wrong check digit', '110105194912310021'),
             ('17 digits', '11010519491231002'),
             ('19 characters', '11010519491231002XX'),
             ('X not last', '1101051949123100X2'),
             ('inner space', '110105 19491231002X'),
             ('hyphens', '110105-19491231-002X'),
             ('letter', '11010519491231002Y'),
             ('empty', ''),
             ('blank', '   ')) AS v(label, input)
ORDER BY label COLLATE "C";

-- NULL in, NULL out (STRICT)
SELECT juhe_idcard_normalize(NULL) IS NULL AS n1, juhe_idcard_valid(NULL) IS NULL AS n2,
       juhe_idcard_valid(NULL, true) IS NULL AS n3, juhe_idcard_valid('11010519491231002X', NULL) IS NULL AS n4,
       juhe_idcard_info(NULL) IS NULL AS n5, juhe_mask_idcard(NULL) IS NULL AS n6;

-- info: names as in the birth year, sex, age computed from CURRENT_DATE
SELECT i.idcard, i.region_code, i.province, i.city, i.county,
       to_char(i.birth_date, 'YYYY-MM-DD') AS birth_date, i.sex,
       i.age = extract(year FROM age(current_date, i.birth_date))::int AS age_ok
FROM (VALUES ('11010519491231002X'), ('440524188001010014'), ('110103201201011234'),
             ('110101199001010090'), ('441900199001011231'), ('810000198001011236'),
             ('83000019800101123X'), ('710000198001011232'), ('152626198001011236'),
             (' 110105491231002 ')) AS v(id),
     LATERAL juhe_idcard_info(v.id) AS i
ORDER BY i.idcard;
-- a code reused for another county: the name of the birth year
SELECT id, (juhe_idcard_info(id)).county
FROM (VALUES (pg_temp.with_check('15262619800101123')),
             (pg_temp.with_check('15262619900101123'))) AS v(id)
ORDER BY id;
SELECT juhe_idcard_info('110105194912310021') IS NULL AS invalid_is_null;
SELECT (juhe_idcard_info(pg_temp.with_check('110105' || to_char(current_date - 1, 'YYYYMMDD') || '124'))).age AS born_yesterday;

-- masking
SELECT input, juhe_mask_idcard(input) AS masked
FROM (VALUES ('11010519491231002X'), (' 11010519491231002x '), ('110105491231002'),
             ('１１０１０５１９４９１２３１００２Ｘ'), ('1'), ('1234'), ('1234567890'),
             ('12345678901234567'), ('not an id number at all'), ('')) AS v(input)
ORDER BY input COLLATE "C";

-- the domain: valid and normalised only
CREATE TABLE toolkit_people (id serial PRIMARY KEY, idcard juhe_idcard NOT NULL);
INSERT INTO toolkit_people (idcard) VALUES ('11010519491231002X'), ('110103201201011234');
INSERT INTO toolkit_people (idcard) VALUES ('11010519491231002x');	-- not normalised
INSERT INTO toolkit_people (idcard) VALUES ('110105194912310021');	-- check digit
INSERT INTO toolkit_people (idcard) VALUES ('110105491231002');		-- 15 digits
INSERT INTO toolkit_people (idcard) VALUES ('110103299901011233');	-- future
INSERT INTO toolkit_people (idcard) VALUES (juhe_idcard_normalize(' 110105491231002 '));
UPDATE toolkit_people SET idcard = 'nonsense' WHERE id = 1;
SELECT idcard, juhe_mask_idcard(idcard) FROM toolkit_people ORDER BY id;
SELECT '11010519491231002X'::juhe_idcard;
SELECT '990101199001011230'::juhe_idcard;
DROP TABLE toolkit_people;

-- properties of the functions: volatility, strictness, parallel safety
SELECT p.oid::regprocedure AS function, p.provolatile, p.proisstrict, p.proparallel
FROM pg_proc p
WHERE p.proname IN ('juhe_idcard_normalize', 'juhe_idcard_valid', 'juhe_idcard_info',
                    'juhe_name_normalize', 'juhe_name_valid', 'juhe_mask_idcard', 'juhe_mask_name')
ORDER BY p.oid::regprocedure::text COLLATE "C";

-- granted to PUBLIC: an unprivileged role may call them
CREATE ROLE regress_juhe_toolkit_user;
SET ROLE regress_juhe_toolkit_user;
SELECT juhe_idcard_valid('11010519491231002X') AS valid, juhe_mask_idcard('11010519491231002X') AS masked,
       juhe_name_valid('张三') AS name_valid, '11010519491231002X'::juhe_idcard AS domain_value;
RESET ROLE;
DROP ROLE regress_juhe_toolkit_user;
