/* juheid--1.0--1.1.sql: what it costs - cluster statistics, the ledger, spending limits */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION juheid UPDATE TO '1.1'" to load this file. \quit

------------------------------------------------------------------------------
-- Cluster-wide statistics (src/stats.c)
------------------------------------------------------------------------------
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
    OUT error_counts bigint[])
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

CREATE FUNCTION juhe_stats_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'juhe_stats_reset'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION juhe_stats_reset() IS
'Set juheid''s cluster-wide statistics (the juhe_stats view) to zero; the ledger and the daily count stay';

REVOKE ALL ON FUNCTION juhe_stats_reset() FROM PUBLIC;

------------------------------------------------------------------------------
-- The ledger of billed and possibly billed requests (src/ledger.c)
------------------------------------------------------------------------------
CREATE FUNCTION juhe_ledger_rows(
    OUT id bigint,
    OUT orderid text,
    OUT sent_at timestamptz,
    OUT billed_at timestamptz,
    OUT datname text,
    OUT rolname text,
    OUT mode text,
    OUT via text,
    OUT status text,
    OUT res integer,
    OUT error_code integer,
    OUT xid xid8,
    OUT pid integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'juhe_ledger_rows'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

REVOKE ALL ON FUNCTION juhe_ledger_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION juhe_ledger_rows() TO pg_read_all_stats;

CREATE VIEW juhe_ledger AS
SELECT l.id,
       l.orderid,
       l.billed_at,
       l.sent_at,
       l.datname,
       l.rolname,
       l.mode,
       l.via,
       l.status,
       l.res,
       coalesce(pg_xact_status(l.xid), 'unknown') AS outcome,
       l.xid,
       l.pid
  FROM juhe_ledger_rows() AS l;

COMMENT ON VIEW juhe_ledger IS
'Every request juheid sent that was billed or may have been (status "in doubt"), whatever became of the caller''s transaction (outcome)';

REVOKE ALL ON juhe_ledger FROM PUBLIC;
GRANT SELECT ON juhe_ledger TO pg_read_all_stats;

------------------------------------------------------------------------------
-- Today's count under juhe.max_billed_per_day (src/account.c)
------------------------------------------------------------------------------
CREATE FUNCTION juhe_billing_rows(
    OUT day date,
    OUT billed_today bigint,
    OUT in_flight bigint,
    OUT max_billed_per_day integer,
    OUT billing_timezone text)
AS 'MODULE_PATHNAME', 'juhe_billing_rows'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

REVOKE ALL ON FUNCTION juhe_billing_rows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION juhe_billing_rows() TO pg_read_all_stats;

CREATE VIEW juhe_billing AS SELECT * FROM juhe_billing_rows();

COMMENT ON VIEW juhe_billing IS
'Requests billed or in doubt today (a day in juhe.billing_timezone), those in flight, and the cap juhe.max_billed_per_day';

REVOKE ALL ON juhe_billing FROM PUBLIC;
GRANT SELECT ON juhe_billing TO pg_read_all_stats;

------------------------------------------------------------------------------
-- Bulk verification (src/batch.c)
------------------------------------------------------------------------------
CREATE FUNCTION juhe_verify_many(realnames text[], idcards text[],
                                 mode text DEFAULT NULL, parallel integer DEFAULT 8)
RETURNS TABLE (ord integer, res integer, orderid text, error_code integer,
               reason text, failure text)
AS 'MODULE_PATHNAME', 'juhe_verify_many'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION juhe_verify_many(text[], text[], text, integer) IS
'Verify many name/ID pairs with up to "parallel" requests in flight; one row per position (ord from 1), failures in the failure column';

-- every pair may cost money: nobody may call it until granted
REVOKE ALL ON FUNCTION juhe_verify_many(text[], text[], text, integer) FROM PUBLIC;

------------------------------------------------------------------------------
-- Resumable table jobs (src/table_job.c)
------------------------------------------------------------------------------
CREATE PROCEDURE juhe_verify_table(tbl regclass, realname_column name, idcard_column name,
                                   result_column name, mode text DEFAULT NULL,
                                   parallel integer DEFAULT 8, batch_size integer DEFAULT 1000,
                                   orderid_column name DEFAULT NULL,
                                   verified_at_column name DEFAULT NULL)
AS 'MODULE_PATHNAME', 'juhe_verify_table'
LANGUAGE C;

COMMENT ON PROCEDURE juhe_verify_table(regclass, name, name, name, text, integer, integer, name, name) IS
'Verify the rows whose result column is NULL, batch by batch, committing after each (CALL it outside a transaction block); run it again to resume';

REVOKE ALL ON PROCEDURE juhe_verify_table(regclass, name, name, name, text, integer, integer, name, name) FROM PUBLIC;

CREATE FUNCTION juhe_progress_rows(
    OUT pid integer,
    OUT dbid oid,
    OUT relid oid,
    OUT started_at timestamptz,
    OUT updated_at timestamptz,
    OUT total bigint,
    OUT done bigint,
    OUT answered bigint,
    OUT left_for_next_run bigint,
    OUT batches bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'juhe_progress_rows'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

CREATE VIEW juhe_progress AS
SELECT p.pid,
       d.datname,
       p.relid,
       p.started_at,
       p.updated_at,
       p.total,
       p.done,
       p.answered,
       p.left_for_next_run,
       p.batches,
       round(p.done / nullif(extract(epoch FROM p.updated_at - p.started_at), 0), 1) AS rows_per_second,
       CASE WHEN p.done > 0 AND p.total > p.done
            THEN (p.updated_at - p.started_at) * ((p.total - p.done)::float8 / p.done) END AS time_left
  FROM juhe_progress_rows() AS p
  LEFT JOIN pg_database AS d ON d.oid = p.dbid;

COMMENT ON VIEW juhe_progress IS
'Running juhe_verify_table jobs: rows done of those NULL at the start, answered, left for the next run, rate, time left';
