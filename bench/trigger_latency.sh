#!/bin/bash
# bench/trigger_latency.sh -- what juhe_verify_trigger adds to an INSERT.
# Starts the throw-away cluster and the mock (test/harness.sh), inserts N
# rows one statement each into a table with and without the trigger, in the
# same run, and prints the time per INSERT and the ratio.  The mock answers
# on loopback, so this is the extension's own overhead (request building,
# encryption, keep-alive HTTP, parsing); against the real service add its
# network round trip (typically tens of milliseconds).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000}
. test/harness.sh
trap harness_stop EXIT
harness_start >/dev/null
psql -X -q -d postgres <<SQL
CREATE EXTENSION juheid;
SET juhe.retries = 0;
CREATE TABLE plain_users (email text, realname text, idcard text, v juhe_result);
CREATE TABLE checked_users (email text, realname text, idcard text, v juhe_result);
CREATE TRIGGER verify BEFORE INSERT OR UPDATE ON checked_users FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=v', 'on_mismatch=accept');
CREATE PROCEDURE fill(tbl text, n int, m text) LANGUAGE plpgsql AS \$\$
BEGIN
  PERFORM set_config('juhe.mode', m, false);
  FOR g IN 1..n LOOP
    EXECUTE format('INSERT INTO %I VALUES (\$1, \$2, \$3)', tbl)
      USING 'u' || g, '测' || chr(19968 + g % 20000) || chr(19968 + g / 20000), '11010519491231002X';
    COMMIT;   -- one transaction per signup, as in an application
  END LOOP;
END \$\$;
\timing on
\echo 'without trigger:'
CALL fill('plain_users', $N, 'plain');
\echo 'with trigger, plain mode:'
CALL fill('checked_users', $N, 'plain');
TRUNCATE checked_users;
\echo 'with trigger, aes mode:'
CALL fill('checked_users', $N, 'aes');
TRUNCATE checked_users;
\echo 'with trigger, rsa mode:'
CALL fill('checked_users', $N, 'rsa');
SQL
