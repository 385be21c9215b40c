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
-- TOOLKIT-END
