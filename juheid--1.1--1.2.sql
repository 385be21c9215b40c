/* juheid--1.1--1.2.sql: never pay twice - billed answers given again (src/reuse.c) */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION juheid UPDATE TO '1.2'" to load this file. \quit

------------------------------------------------------------------------------
-- Entry points with a per-call choice of reuse.  New overloads, without
-- defaults (so no call of 1.1's forms becomes ambiguous): 1.1's functions,
-- their grants and whatever depends on them stay as they are.
------------------------------------------------------------------------------
CREATE FUNCTION juhe_verify(realname text, idcard text, mode text, reuse boolean)
RETURNS juhe_result
AS 'MODULE_PATHNAME', 'juhe_verify'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION juhe_verify(text, text, text, boolean) IS
'Verify a name and a resident ID number; reuse => false asks the service even when juhe.reuse_answers_for has an answer (mode NULL: juhe.mode)';

REVOKE ALL ON FUNCTION juhe_verify(text, text, text, boolean) FROM PUBLIC;

CREATE FUNCTION juhe_verify_many(realnames text[], idcards text[],
                                 mode text, parallel integer, reuse boolean)
RETURNS TABLE (ord integer, res integer, orderid text, error_code integer,
               reason text, failure text)
AS 'MODULE_PATHNAME', 'juhe_verify_many'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION juhe_verify_many(text[], text[], text, integer, boolean) IS
'juhe_verify_many(), with reuse => false for fresh answers from the service only';

REVOKE ALL ON FUNCTION juhe_verify_many(text[], text[], text, integer, boolean) FROM PUBLIC;

CREATE PROCEDURE juhe_verify_table(tbl regclass, realname_column name, idcard_column name,
                                   result_column name, mode text, parallel integer,
                                   batch_size integer, orderid_column name,
                                   verified_at_column name, reuse boolean)
AS 'MODULE_PATHNAME', 'juhe_verify_table'
LANGUAGE C;

COMMENT ON PROCEDURE juhe_verify_table(regclass, name, name, name, text, integer, integer, name, name, boolean) IS
'juhe_verify_table(), with reuse => false for a re-verification that wants fresh answers from the service';

REVOKE ALL ON PROCEDURE juhe_verify_table(regclass, name, name, name, text, integer, integer, name, name, boolean) FROM PUBLIC;

------------------------------------------------------------------------------
-- juhe_stats gains "reuses" (answers given again without a request).  The
-- function's columns change, so it and the view are made again (as
-- pg_stat_statements does); their grants are the same as in 1.1.
------------------------------------------------------------------------------
DROP VIEW juhe_stats;
DROP FUNCTION juhe_stats_rows();

CREATE FUNCTION juhe_stats_rows(
    OUT dbid oid,
    OUT roleid oid,
    OUT mode text,
    OUT requests bigint,
    OUT local_answers bigint,
    OUT memo_hits bigint,
    OUT retries bigint,
    OUT billed bigint,
    OUT matches bigint,
    OUT mismatches bigint,
    OUT in_doubt bigint,
    OUT service_errors bigint,
    OUT transport_failures bigint,
    OUT total_time_ms double precision,
    OUT p50_ms double precision,
    OUT p95_ms double precision,
    OUT p99_ms double precision,
    OUT latency_buckets bigint[],
    OUT error_codes integer[],
    OUT error_counts bigint[],
    OUT reuses bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'juhe_stats_rows'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

REVOKE ALL ON FUNCTION juhe_stats_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION juhe_stats_rows() TO pg_read_all_stats;

CREATE VIEW juhe_stats AS
SELECT d.datname,
       r.rolname,
       s.mode,
       s.requests,
       s.billed,
       s.matches,
       s.mismatches,
       s.in_doubt,
       s.service_errors,
       s.local_answers,
       s.memo_hits,
       s.reuses,
       s.retries,
       s.transport_failures,
       s.total_time_ms,
       s.total_time_ms / nullif((SELECT sum(n) FROM unnest(s.latency_buckets) AS n), 0)
           AS mean_time_ms,
       s.p50_ms,
       s.p95_ms,
       s.p99_ms,
       (SELECT jsonb_object_agg(b.bound, b.n)
          FROM unnest(ARRAY['<=5ms', '<=10ms', '<=25ms', '<=50ms', '<=100ms', '<=250ms',
                            '<=500ms', '<=1s', '<=2.5s', '<=5s', '<=10s', '>10s'],
                      s.latency_buckets) AS b(bound, n)
         WHERE b.n > 0) AS latency_histogram,
       (SELECT jsonb_object_agg(CASE WHEN e.code = -1 THEN 'other' ELSE e.code::text END, e.n)
          FROM unnest(s.error_codes, s.error_counts) AS e(code, n)) AS service_error_codes,
       s.dbid,
       s.roleid
  FROM juhe_stats_rows() AS s
  LEFT JOIN pg_database AS d ON d.oid = s.dbid
  LEFT JOIN pg_roles AS r ON r.oid = s.roleid;

COMMENT ON VIEW juhe_stats IS
'juheid''s work per database, role and mode, for the whole cluster, since the last juhe_stats_reset()';

REVOKE ALL ON juhe_stats FROM PUBLIC;
GRANT SELECT ON juhe_stats TO pg_read_all_stats;
