-- bench/idcard_bench.sql -- juhe_idcard_valid (C) against the same rules in
-- PL/pgSQL (bench/idcard_valid_plpgsql.sql, loaded first) over :n IDs, in
-- one run.  Run by bench/idcard_bench.sh; prints both times and the ratio.
\set ON_ERROR_STOP on
\if :{?n}
\else
\set n 1000000
\endif

-- one core each: the ratio compares the functions, not the parallel plans
SET max_parallel_workers_per_gather = 0;
SET jit = off;

-- check digit in plain SQL, for generating test data
CREATE FUNCTION bench_with_check(body text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT body || substr('10X98765432', ((
          substr(body, 1, 1)::int * 7 + substr(body, 2, 1)::int * 9
        + substr(body, 3, 1)::int * 10 + substr(body, 4, 1)::int * 5
        + substr(body, 5, 1)::int * 8 + substr(body, 6, 1)::int * 4
        + substr(body, 7, 1)::int * 2 + substr(body, 8, 1)::int * 1
        + substr(body, 9, 1)::int * 6 + substr(body, 10, 1)::int * 3
        + substr(body, 11, 1)::int * 7 + substr(body, 12, 1)::int * 9
        + substr(body, 13, 1)::int * 10 + substr(body, 14, 1)::int * 5
        + substr(body, 15, 1)::int * 8 + substr(body, 16, 1)::int * 4
        + substr(body, 17, 1)::int * 2) % 11) + 1, 1)
$$;

-- :n IDs: 60% valid, 10% wrong check digit, 10% impossible date, 10%
-- unknown region, 10% valid but messy (lowercase x, full-width, spaces,
-- 15 digits)
CREATE UNLOGGED TABLE bench_ids AS
WITH codes AS (
    SELECT array_agg(DISTINCT code::text ORDER BY code::text) AS a
    FROM bench_regions WHERE code % 100 <> 0
), g AS (
    SELECT s,
           codes.a[1 + (s * 7919) % array_length(codes.a, 1)] AS region,
           to_char(date '1930-01-01' + ((s * 104729) % 30000)::int, 'YYYYMMDD') AS birth,
           lpad((s % 1000)::text, 3, '0') AS seq
    FROM generate_series(1::bigint, :n) AS s, codes
)
SELECT s, CASE s % 10
    WHEN 6 THEN left(bench_with_check(region || birth || seq), 17)
                || CASE right(bench_with_check(region || birth || seq), 1) WHEN '0' THEN '1' ELSE '0' END
    WHEN 7 THEN bench_with_check(region || left(birth, 4) || '13' || right(birth, 2) || seq)
    WHEN 8 THEN bench_with_check('99' || right(region, 4) || birth || seq)
    WHEN 9 THEN CASE s % 40
        WHEN 9 THEN lower(bench_with_check(region || birth || seq))
        WHEN 19 THEN ' ' || bench_with_check(region || birth || seq) || ' '
        WHEN 29 THEN translate(bench_with_check(region || birth || seq), '0123456789X', '０１２３４５６７８９Ｘ')
        ELSE region || substr(birth, 3) || seq END
    ELSE bench_with_check(region || birth || seq)
    END AS id
FROM g;
ANALYZE bench_ids;

-- both implementations agree on every row (not timed)
SELECT count(*) AS ids,
       count(*) FILTER (WHERE juhe_idcard_valid(id)) AS valid,
       count(*) FILTER (WHERE juhe_idcard_valid(id) IS DISTINCT FROM plpgsql_idcard_valid(id)) AS disagree,
       count(*) FILTER (WHERE juhe_idcard_valid(id, true) IS DISTINCT FROM plpgsql_idcard_valid(id, true)) AS disagree_strict
FROM bench_ids \gset
\echo ids: :ids  valid: :valid  disagreements: :disagree (strict: :disagree_strict)
SELECT :disagree + :disagree_strict > 0 AS mismatch \gset
\if :mismatch
\echo the two implementations disagree
\quit
\endif

-- timed: each query three times, alternating; the best time counts
CREATE TEMP TABLE bench_times (impl text, ms float8);
CREATE PROCEDURE bench_run(impl text) LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    c  bigint;
BEGIN
    t0 := clock_timestamp();
    IF impl = 'c' THEN
        SELECT count(*) FILTER (WHERE juhe_idcard_valid(id)) INTO c FROM bench_ids;
    ELSIF impl = 'scan' THEN
        SELECT count(*) FILTER (WHERE id IS NOT NULL) INTO c FROM bench_ids;
    ELSE
        SELECT count(*) FILTER (WHERE plpgsql_idcard_valid(id)) INTO c FROM bench_ids;
    END IF;
    INSERT INTO bench_times VALUES (impl, extract(epoch FROM clock_timestamp() - t0) * 1000);
END $$;
CALL bench_run('scan');
CALL bench_run('c');
CALL bench_run('plpgsql');
CALL bench_run('scan');
CALL bench_run('c');
CALL bench_run('plpgsql');
CALL bench_run('scan');
CALL bench_run('c');
CALL bench_run('plpgsql');

SELECT min(ms) FILTER (WHERE impl = 'scan') AS scan_ms,
       min(ms) FILTER (WHERE impl = 'c') AS c_ms,
       min(ms) FILTER (WHERE impl = 'plpgsql') AS plpgsql_ms
FROM bench_times \gset
SELECT :n AS ids,
       round(:scan_ms::numeric) AS "scan only (ms)",
       round(:c_ms::numeric) AS "juhe_idcard_valid (ms)",
       round(:plpgsql_ms::numeric) AS "PL/pgSQL (ms)",
       round((:plpgsql_ms / :c_ms)::numeric, 1) AS "ratio PL/pgSQL / C",
       round(((:plpgsql_ms - :scan_ms) / nullif(:c_ms - :scan_ms, 0))::numeric, 1) AS "ratio excluding the scan",
       round(:n / (:c_ms / 1000))::bigint AS "C IDs/s",
       round(:n / (:plpgsql_ms / 1000))::bigint AS "PL/pgSQL IDs/s";
