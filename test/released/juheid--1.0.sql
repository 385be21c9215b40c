/* juheid--1.0.sql: install script for juheid 1.0 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION juheid" to load this file. \quit

------------------------------------------------------------------------------
-- Verification (src/juheid.c, src/guc.c, src/transport.c, ...)
------------------------------------------------------------------------------
-- CORE-BEGIN
CREATE TYPE juhe_result AS (
    res        integer,   -- 1 match, 2 mismatch; NULL unless error_code = 0
    orderid    text,      -- the provider's order number (billed answers)
    error_code integer,   -- 0 = answered and billed; otherwise the service's code
    reason     text       -- the service's reason text
);

COMMENT ON TYPE juhe_result IS 'Answer of the Juhe real-name verification service';

CREATE FUNCTION juhe_verify(realname text, idcard text, mode text DEFAULT NULL)
RETURNS juhe_result
AS 'MODULE_PATHNAME', 'juhe_verify'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION juhe_verify(text, text, text) IS
'Verify that a name and a resident ID number belong together (a paid request to the Juhe service)';

-- every call costs money: nobody may call it until granted
REVOKE ALL ON FUNCTION juhe_verify(text, text, text) FROM PUBLIC;

CREATE FUNCTION juhe_backend_stats(
    OUT requests bigint,
    OUT connections bigint,
    OUT retries bigint,
    OUT memo_hits bigint,
    OUT local_answers bigint,
    OUT key_loads bigint)
AS 'MODULE_PATHNAME', 'juhe_backend_stats'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION juhe_backend_stats() IS
'Counters of juheid in this backend: requests sent, connections opened, retries, memo hits, local answers, RSA key parses';

-- BEFORE INSERT OR UPDATE ... FOR EACH ROW trigger; see README "Verify users at signup"
CREATE FUNCTION juhe_verify_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'juhe_verify_trigger'
LANGUAGE C;

COMMENT ON FUNCTION juhe_verify_trigger() IS
'Row trigger: verify a name column and an ID column of each new or changed row';

-- attaching it to a table makes every insert a paid request: grant explicitly
REVOKE ALL ON FUNCTION juhe_verify_trigger() FROM PUBLIC;
-- CORE-END

------------------------------------------------------------------------------
-- ID toolkit (src/idcard.c, src/name.c, src/toolkit.c)
------------------------------------------------------------------------------
-- TOOLKIT-BEGIN
-- Local checks of ID numbers and names (GB 11643-1999 check digit, real
-- birth date, historical GB/T 2260 region codes).  They send nothing and
-- cost nothing, so they are granted to PUBLIC (as functions are by default;
-- said explicitly here because juhe_verify is revoked above).
--
-- Volatility: normalising and masking are IMMUTABLE.  Validity also needs
-- "the birth date is not in the future", i.e. CURRENT_DATE, so
-- juhe_idcard_valid and juhe_idcard_info are STABLE (info also reports the
-- age today).  The answer can only change from false to true as days pass
-- (an ID never becomes invalid later), so the juhe_idcard domain below uses
-- the STABLE check: stored values stay valid and dumps always restore.

CREATE TYPE juhe_idcard_info AS (
    idcard      text,     -- normalised 18-character ID
    region_code text,     -- first six digits
    province    text,     -- names in use in the birth year; NULL if unknown
    city        text,     -- NULL for municipalities' "districts" groupings
    county      text,     -- NULL for prefecture- or province-level codes
    birth_date  date,
    sex         text,     -- 'M' (odd 17th digit) or 'F'
    age         integer   -- full years on CURRENT_DATE
);

COMMENT ON TYPE juhe_idcard_info IS
'What a resident ID number says: region, birth date, sex and age';

CREATE FUNCTION juhe_idcard_normalize(idcard text)
RETURNS text
AS 'MODULE_PATHNAME', 'juhe_idcard_normalize_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION juhe_idcard_normalize(text) IS
'Trim, fold full-width digits and x to ASCII X, upgrade 15 digits to 18; NULL if it cannot be an ID number';

CREATE FUNCTION juhe_idcard_valid(idcard text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'juhe_idcard_valid_sql'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION juhe_idcard_valid(text) IS
'True for a resident ID number with a correct check digit, a real birth date not after today and a region code that existed';

CREATE FUNCTION juhe_idcard_valid(idcard text, strict boolean)
RETURNS boolean
AS 'MODULE_PATHNAME', 'juhe_idcard_valid_strict_sql'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION juhe_idcard_valid(text, boolean) IS
'juhe_idcard_valid; when strict, the region code must also have been in use in the birth year';

CREATE FUNCTION juhe_idcard_info(idcard text)
RETURNS juhe_idcard_info
AS 'MODULE_PATHNAME', 'juhe_idcard_info_sql'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION juhe_idcard_info(text) IS
'Region names (as in the birth year), birth date, sex and age of a valid ID number; NULL if invalid';

CREATE FUNCTION juhe_name_normalize(realname text)
RETURNS text
AS 'MODULE_PATHNAME', 'juhe_name_normalize_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION juhe_name_normalize(text) IS
'Trim and fold middle-dot variants to U+00B7; NULL if it is not a valid Chinese name';

CREATE FUNCTION juhe_name_valid(realname text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'juhe_name_valid_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION juhe_name_valid(text) IS
'True for 1 to 30 CJK ideographs (Extensions A, B and later included) with single middle dots between parts';

CREATE FUNCTION juhe_mask_idcard(idcard text)
RETURNS text
AS 'MODULE_PATHNAME', 'juhe_mask_idcard_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION juhe_mask_idcard(text) IS
'ID number for display: first 6, eight asterisks, last 4; other input is never shown whole';

CREATE FUNCTION juhe_mask_name(realname text)
RETURNS text
AS 'MODULE_PATHNAME', 'juhe_mask_name_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION juhe_mask_name(text) IS
'Name for display: first character, then one asterisk per remaining character';

CREATE DOMAIN juhe_idcard AS text
    CHECK (juhe_idcard_valid(VALUE) AND VALUE = juhe_idcard_normalize(VALUE));

COMMENT ON DOMAIN juhe_idcard IS
'A valid resident ID number in normalised form (18 characters, upper-case X)';

GRANT EXECUTE ON FUNCTION
    juhe_idcard_normalize(text),
    juhe_idcard_valid(text),
    juhe_idcard_valid(text, boolean),
    juhe_idcard_info(text),
    juhe_name_normalize(text),
    juhe_name_valid(text),
    juhe_mask_idcard(text),
    juhe_mask_name(text)
TO PUBLIC;
GRANT USAGE ON TYPE juhe_idcard_info TO PUBLIC;
GRANT USAGE ON DOMAIN juhe_idcard TO PUBLIC;
-- TOOLKIT-END
