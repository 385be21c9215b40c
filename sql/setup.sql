-- Helpers shared by the suites.  The harness (test/run-tests.sh) points
-- juhe.base_url at the mock service and sets juhe_test.* to its extra URLs.
CREATE SCHEMA juhe_test;

-- one line of the mock's JSON, read raw (csv with impossible quote/delimiter)
CREATE TABLE juhe_test.mock_line (line text);
CREATE FUNCTION juhe_test.mock(path text, method text DEFAULT 'GET')
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    j jsonb;
BEGIN
    DELETE FROM juhe_test.mock_line;
    EXECUTE format('COPY juhe_test.mock_line FROM PROGRAM %L WITH (FORMAT csv, QUOTE e''\x01'', DELIMITER e''\x02'')',
                   format('curl -s -X %s %s%s', method,
                          current_setting('juhe.base_url'), path));
    SELECT line::jsonb INTO j FROM juhe_test.mock_line;
    RETURN j;
END $$;

CREATE FUNCTION juhe_test.reset() RETURNS void LANGUAGE sql AS
$$ SELECT juhe_test.mock('/_reset', 'POST') $$;

CREATE FUNCTION juhe_test.stats() RETURNS jsonb LANGUAGE sql AS
$$ SELECT juhe_test.mock('/_stats') $$;

-- run a statement, return its SQLSTATE and message instead of failing
CREATE FUNCTION juhe_test.sqlstate_of(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- the same, with the detail; order ids are replaced by J<n> (they count up)
CREATE FUNCTION juhe_test.error_of(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || ' / ' || regexp_replace(d, 'J[0-9]+', 'J<n>', 'g');
END $$;

SELECT juhe_test.reset();
SELECT (juhe_test.stats()) ->> 'requests' AS requests_after_reset;
SELECT extname, extversion FROM pg_extension WHERE extname = 'juheid';
