--
-- toolkit_name: names checked locally (trim, middle-dot variants, CJK
-- Extensions, length, digits, control characters) and masking.
-- All names are made-up test data.
--

-- plain names and trimming; no 2-4 character limit
SELECT label, juhe_name_normalize(input) AS normalized, juhe_name_valid(input) AS valid
FROM (VALUES ('two characters', '张三'), ('one character', '李'),
             ('ASCII spaces', '  张三  '), ('tab and newline', E'\t张三\n'),
             ('ideographic spaces', '　张三　'), ('no-break space', U&'\00A0张三\00A0'),
             ('eight characters', '欧阳成功奋发图强'), ('compound surname', '司马相如')) AS v(label, input)
ORDER BY label COLLATE "C";

-- minority names: every dot variant folds to U+00B7
SELECT label, juhe_name_normalize(input) AS normalized,
       juhe_name_normalize(input) = '阿依古丽' || U&'\00B7' || '买买提' AS is_u00b7
FROM (VALUES ('U+00B7 middle dot', '阿依古丽·买买提'),
             ('U+2022 bullet', '阿依古丽•买买提'),
             ('U+30FB katakana middle dot', '阿依古丽・买买提'),
             ('U+FF0E full-width full stop', '阿依古丽．买买提'),
             ('U+2027 hyphenation point', '阿依古丽‧买买提'),
             ('U+FF65 half-width katakana middle dot', '阿依古丽･买买提'),
             ('U+FE52 small full stop', '阿依古丽﹒买买提'),
             ('U+2219 bullet operator', '阿依古丽∙买买提'),
             ('U+22C5 dot operator', '阿依古丽⋅买买提'),
             ('U+0387 Greek ano teleia', '阿依古丽' || U&'\0387' || '买买提'),
             ('ASCII full stop', '阿依古丽.买买提')) AS v(label, input)
ORDER BY label COLLATE "C";

-- dots: several parts fine; leading, trailing, doubled or alone are not
SELECT input, juhe_name_normalize(input) AS normalized, juhe_name_valid(input) AS valid
FROM (VALUES ('米斯日古丽·阿不都·艾合买提'), ('爱新觉罗•溥仪'), ('·买买提'), ('买买提·'),
             ('阿依古丽··买买提'), ('阿依古丽•・买买提'), ('·'), ('阿 · 买')) AS v(input)
ORDER BY input COLLATE "C";

-- rare characters: Extension A, B and later, compatibility ideographs, 〇
SELECT label, juhe_name_valid(input) AS valid, juhe_name_normalize(input) = input AS unchanged
FROM (VALUES ('Ext A U+3400', '王' || U&'\3400'),
             ('Ext A U+4DB5', '王' || U&'\4DB5'),
             ('Ext B U+20000', '王' || U&'\+020000'),
             ('Ext B U+2A6D6', U&'\+02A6D6' || '明'),
             ('Ext C U+2A700', '王' || U&'\+02A700'),
             ('Ext D U+2B740', '王' || U&'\+02B740'),
             ('Ext E U+2B820', '王' || U&'\+02B820'),
             ('Ext F U+2CEB0', '王' || U&'\+02CEB0'),
             ('Ext G U+30000', '王' || U&'\+030000'),
             ('compat U+F900', '王' || U&'\F900'),
             ('compat supplement U+2F800', '王' || U&'\+02F800'),
             ('ideographic zero U+3007', '李' || U&'\3007'),
             ('Ext B with dot', U&'\+020000' || '·' || U&'\+020001')) AS v(label, input)
ORDER BY label COLLATE "C";

-- rejected: digits, control characters, inner spaces, other scripts, symbols
SELECT label, juhe_name_valid(input) AS valid, juhe_name_normalize(input) IS NULL AS normalized_null
FROM (VALUES ('ASCII digit', '张3'),
             ('full-width digit', '张３'),
             ('tab inside', E'张\t三'),
             ('newline inside', E'张\n三'),
             ('control U+0001', E'张\u0001三'),
             ('zero width joiner', '张' || U&'\200D' || '三'),
             ('space inside', '张 三'),
             ('ideographic space inside', '张　三'),
             ('Latin', 'Zhang San'),
             ('Latin letter', '张A'),
             ('kana', 'さくら'),
             ('Hangul', '김철수'),
             ('hyphen', '张-三'),
             ('Kangxi radical U+2F00', U&'\2F00'),
             ('variation selector', '葛' || U&'\+0E0100'),
             ('emoji', '张' || U&'\+01F600')) AS v(label, input)
ORDER BY label COLLATE "C";

-- empty and length: 30 characters (dots included) is the limit
SELECT label, juhe_name_valid(input) AS valid, char_length(juhe_name_normalize(input)) AS normalized_length
FROM (VALUES ('empty', ''),
             ('blank', '   '),
             ('blank ideographic', '　　'),
             ('30 characters', repeat('张', 30)),
             ('31 characters', repeat('张', 31)),
             ('30 Ext B characters', repeat(U&'\+020000', 30)),
             ('30 with dots', repeat('阿依·', 9) || '阿依克'),
             ('31 with dots', repeat('阿依·', 10) || '阿'),
             ('30 after trimming', '  ' || repeat('张', 30) || '  '),
             ('very long', repeat('张', 100000))) AS v(label, input)
ORDER BY label COLLATE "C";

-- NULL in, NULL out
SELECT juhe_name_normalize(NULL) IS NULL AS n1, juhe_name_valid(NULL) IS NULL AS n2,
       juhe_mask_name(NULL) IS NULL AS n3;

-- masking: first character, one * per remaining character
SELECT input, juhe_mask_name(input) AS masked
FROM (VALUES ('张三'), ('张三丰'), ('李'), (' 李 '), (''), ('阿依古丽·买买提'),
             (U&'\+020000' || '明'), ('Zhang San')) AS v(input)
ORDER BY input COLLATE "C";
