-- bench/idcard_valid_plpgsql.sql -- the rules of juhe_idcard_valid written
-- in PL/pgSQL, the way a DBA would without the extension: the baseline of
-- bench/idcard_bench.sh.  Same rules: trim (ASCII, no-break, ideographic
-- spaces), full-width digits and x to ASCII, 15 -> 18 digits, GB 11643-1999
-- check digit, a real birth date from 1800 to today, a region code found in
-- data/gbt2260-timeline.tsv (plus 710000); strict: in use in the birth year.
-- Run with psql from the repository root (\copy reads a relative path).

CREATE TABLE bench_regions_raw (code text, name text, start_year text, end_year text, source text);
\copy bench_regions_raw FROM 'data/gbt2260-timeline.tsv' WITH (FORMAT text, HEADER true)

CREATE TABLE bench_regions AS
SELECT code::int AS code, name,
       -- rows with start = end + 1 mean "in use in both years" (see data/README.md)
       least(coalesce(nullif(start_year, '')::int, 0), coalesce(nullif(end_year, '')::int, 32767)) AS start_year,
       greatest(coalesce(nullif(start_year, '')::int, 0), coalesce(nullif(end_year, '')::int, 32767)) AS end_year
FROM bench_regions_raw
UNION ALL
SELECT 710000, '台湾省', 0, 32767;
CREATE INDEX ON bench_regions (code);
ANALYZE bench_regions;
DROP TABLE bench_regions_raw;

CREATE FUNCTION plpgsql_idcard_valid(idcard text, strict boolean DEFAULT false)
RETURNS boolean
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE AS $$
DECLARE
    weights constant int[] := '{7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2}';
    s       text;
    total   int := 0;
    y       int;
    m       int;
    d       int;
    mdays   int;
    region  int;
BEGIN
    s := translate(btrim(idcard, E' \t\n\r\f\v\u00a0\u3000\ufeff\u200b'),
                   '０１２３４５６７８９Ｘｘx', '0123456789XXX');
    IF length(s) = 15 AND s ~ '^[0-9]{15}$' THEN
        s := substr(s, 1, 6) || '19' || substr(s, 7);
        FOR i IN 1..17 LOOP
            total := total + substr(s, i, 1)::int * weights[i];
        END LOOP;
        s := s || substr('10X98765432', total % 11 + 1, 1);
    ELSIF length(s) = 18 AND s ~ '^[0-9]{17}[0-9X]$' THEN
        FOR i IN 1..17 LOOP
            total := total + substr(s, i, 1)::int * weights[i];
        END LOOP;
        IF substr('10X98765432', total % 11 + 1, 1) <> substr(s, 18, 1) THEN
            RETURN false;
        END IF;
    ELSE
        RETURN false;
    END IF;

    y := substr(s, 7, 4)::int;
    m := substr(s, 11, 2)::int;
    d := substr(s, 13, 2)::int;
    IF y < 1800 OR m NOT BETWEEN 1 AND 12 OR d < 1 THEN
        RETURN false;
    END IF;
    mdays := CASE WHEN m = 2 THEN
                 CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END
             WHEN m IN (4, 6, 9, 11) THEN 30 ELSE 31 END;
    IF d > mdays OR make_date(y, m, d) > current_date THEN
        RETURN false;
    END IF;

    region := substr(s, 1, 6)::int;
    IF strict THEN
        RETURN EXISTS (SELECT 1 FROM bench_regions r
                       WHERE r.code = region AND y BETWEEN r.start_year AND r.end_year);
    END IF;
    RETURN EXISTS (SELECT 1 FROM bench_regions r WHERE r.code = region);
END
$$;
