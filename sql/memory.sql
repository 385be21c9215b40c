-- No memory growth across thousands of calls in one backend: curl handles,
-- header lists, json objects and OpenSSL contexts are freed on every path.
-- Measured as the backend's resident set size from /proc.
SET juhe.retries = 0;
CREATE FUNCTION pg_temp.rss_kb() RETURNS bigint LANGUAGE sql AS $$
  SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),
                       'VmRSS:\s+(\d+)'))[1]::bigint $$;
CREATE FUNCTION pg_temp.calls(n int, m text) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM (
    SELECT juhe_verify('测' || chr(19968 + g % 20000) || chr(19968 + g / 20000), '11010519491231002X', m) AS v
      FROM generate_series(1, n) g) s
   WHERE (v).error_code = 0 $$;
CREATE FUNCTION pg_temp.errors(n int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE k bigint := 0;
BEGIN
  FOR i IN 1..n LOOP
    BEGIN
      PERFORM juhe_verify('测试', CASE i % 3 WHEN 0 THEN '110101200001012032'
                                            WHEN 1 THEN '110101200001012024'
                                            ELSE '110101200001012075' END);
    EXCEPTION WHEN OTHERS THEN k := k + 1;
    END;
  END LOOP;
  RETURN k;
END $$;

-- warm up every path once
SELECT pg_temp.calls(300, 'plain') + pg_temp.calls(300, 'aes') + pg_temp.calls(300, 'rsa') AS warmup;
SELECT pg_temp.errors(150) AS warmup_errors;
SELECT pg_temp.rss_kb() AS rss0 \gset
SELECT pg_temp.calls(2000, 'plain') AS plain_calls;
SELECT pg_temp.calls(1500, 'aes') AS aes_calls;
SELECT pg_temp.calls(1500, 'rsa') AS rsa_calls;
SELECT pg_temp.errors(600) AS error_calls;
SELECT pg_temp.rss_kb() - :rss0 AS growth_kb \gset
SELECT :growth_kb < 2048 AS no_growth;
