#!/bin/bash
# test/demo.sh -- install what is needed, build and install juheid, start a
# throw-away PostgreSQL cluster and the bundled mock Juhe service on
# 127.0.0.1, and run a short tour: the three modes, a mismatch, a service
# error, the LATERAL form, the signup trigger and the ID toolkit.  Everything
# is stopped and removed at the end.  Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

bash test/install-deps.sh
make -s clean && make -s && make -s install >/dev/null

. test/harness.sh
trap harness_stop EXIT
harness_start

run() {
	psql -X -q -v ON_ERROR_STOP=0 -d postgres "$@"
}

echo "== juheid demo: cluster on port $PGPORT, mock Juhe service at $JUHE_MOCK_URL"
run <<'SQL'
\pset footer off
\set ECHO queries
CREATE EXTENSION juheid;

-- the three modes; the mock decrypts aes/rsa with Python's cryptography
SELECT * FROM juhe_verify('张三', '11010519491231002X', 'plain');
SELECT * FROM juhe_verify('张三', '11010519491231002X', 'aes');
SELECT * FROM juhe_verify('阿卜杜热合曼·买买提', '650102198506152016', 'rsa');

-- a mismatch (billed, res 2) and a service error (not billed, res NULL)
SELECT * FROM juhe_verify('李四', '11010519491231002X');
SELECT * FROM juhe_verify('王五', '110101200001010010');

-- sloppy input is normalised; malformed input is answered locally for free
SELECT * FROM juhe_verify('  张三 ', '11010519491231002x ');
SELECT * FROM juhe_verify('张三', '110105194912310021');

-- one call per row with LATERAL
CREATE TABLE applicants (name text, idcard text);
INSERT INTO applicants VALUES ('张三', '11010519491231002X'), ('李四', '440304198808081238'),
                              ('王𠮷', '110101199003074477'), ('赵六', '11010519491231002X');
SELECT a.name, juhe_mask_idcard(a.idcard) AS idcard, v.res, v.error_code, v.reason
  FROM applicants a, LATERAL juhe_verify(a.name, a.idcard) v;

-- verify users at signup
CREATE TABLE users (id serial PRIMARY KEY, email text, realname text, idcard text,
                    verification juhe_result, verified_at timestamptz);
CREATE TRIGGER users_verify BEFORE INSERT OR UPDATE ON users FOR EACH ROW
  EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard', 'result=verification',
                                       'verified_at=verified_at');
INSERT INTO users (email, realname, idcard) VALUES ('zs@example.com', '张三', '11010519491231002X');
INSERT INTO users (email, realname, idcard) VALUES ('ls@example.com', '李四', '11010519491231002X');
SELECT id, email, (verification).res, verified_at IS NOT NULL AS verified FROM users;

-- never pay twice: the rejected signup is retried, and with juhe.reuse_answers_for
-- (the harness set juhe.digest_key in postgresql.conf) the paid answer is given again
SET juhe.reuse_answers_for = '30d';
SELECT res, orderid, reason FROM juhe_verify('李四', '11010519491231002X');
SELECT res, orderid, reason FROM juhe_verify('李四', '11010519491231002X', NULL, reuse => false);

-- the ID toolkit (no request, free)
SELECT * FROM juhe_idcard_info('11010519491231002X');
SELECT juhe_idcard_normalize('110105491231002'), juhe_idcard_valid('110105194912310021');

-- what this backend did
SELECT * FROM juhe_backend_stats();

-- what the cluster spent: statistics, the ledger of billed answers (the
-- rejected signup above rolled back, its answer is still there), today's count
SELECT datname, rolname, mode, requests, billed, matches, mismatches, service_errors,
       local_answers, reuses, p50_ms, service_error_codes FROM juhe_stats;
SELECT orderid, via, status, res, outcome FROM juhe_ledger ORDER BY id;
SELECT * FROM juhe_billing;
SQL
echo "== demo finished; cluster and mock stopped"
