#!/bin/bash
# test/release/run_mock_doc.sh -- the mock's documentation against the mock
# (mock/mock_juhe.py, installed as juheid-mock): --help works (also under the
# C locale), --version is the release of juheid.control, every option
# argparse knows is in the man page (mock/juheid-mock.1) and mock/MOCK.md,
# every person and magic ID of the service's own tables (PEOPLE, MAGIC) is in
# --help, the man page and mock/MOCK.md (the man page with the same text as
# --help), and the man page renders without warnings.  Then the installed
# layout (share/juheid-mock/mock_juhe.py + keys/, bin/juheid-mock a symlink
# to it) in a temporary directory: started through the symlink from another
# cwd it finds its keys, listens on 127.0.0.1 only and answers a plain
# request.  Needs curl, groff-base and man-db; installs nothing.
# Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. test/lib.sh
PY=/usr/bin/python3
MOCK=mock/mock_juhe.py
MAN=mock/juheid-mock.1
DOC=mock/MOCK.md

work=$(mktemp -d "${TMPDIR:-/tmp}/mock_doc.XXXXXX") || exit 1
MOCK_PID=
cleanup() {
	if [ -n "$MOCK_PID" ] && kill -0 "$MOCK_PID" 2>/dev/null; then
		kill "$MOCK_PID"
		wait "$MOCK_PID" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT

ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
check() { # check NAME COMMAND...: passes if the command does
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}

# ---- --help and --version ---------------------------------------------------
# a clean environment each time, so the caller's LC_ALL cannot hide the case;
# the last one is the C locale with Python's UTF-8 mode and locale coercion off
for loc in "LANG=C.UTF-8" "LANG=C" "LC_ALL=C" "LC_ALL=POSIX" \
	"LC_ALL=C PYTHONUTF8=0 PYTHONCOERCECLOCALE=0"; do
	# shellcheck disable=SC2086
	env -i PATH=/usr/bin:/bin COLUMNS=80 $loc "$PY" "$MOCK" --help \
		>"$work/help.out" 2>"$work/help.err"
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$work/help.err" ] && grep -q '张三' "$work/help.out" &&
		grep -q '王𠮷' "$work/help.out"; then
		ok "--help under $loc: exit 0, UTF-8 names"
	else
		bad "--help under $loc: exit $rc, stderr: $(head -c 300 "$work/help.err")"
	fi
done
env -i PATH=/usr/bin:/bin COLUMNS=80 LANG=C.UTF-8 "$PY" "$MOCK" --help >"$work/help.txt" 2>/dev/null

defv=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" juheid.control)
version=$("$PY" "$MOCK" --version 2>&1)
rc=$?
v=${version##* }
if [ $rc -eq 0 ] && [ -n "$defv" ] && { [ "$v" = "$defv" ] || [[ "$v" == "$defv".* ]]; }; then
	ok "--version '$version' is default_version $defv"
else
	bad "--version '$version' (exit $rc) is not default_version '$defv'"
fi
check "man page header names juheid $v" grep -q "^\.TH .*\"juheid $v\"" "$MAN"

# ---- the man page renders without warnings -----------------------------------
if ! command -v groff >/dev/null || ! command -v man >/dev/null; then
	bad "groff and man are missing (apt-get install groff-base man-db)"
else
	groff -k -man -ww -z -Tutf8 "$MAN" >"$work/groff.err" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$work/groff.err" ]; then
		ok "groff -k -man -ww: no warnings"
	else
		bad "groff -k -man -ww: exit $rc: $(head -n 5 "$work/groff.err")"
	fi
	# as lintian checks it
	LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
		man --warnings -E UTF-8 -l -Tutf8 -Z "$MAN" >/dev/null 2>"$work/man.err"
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$work/man.err" ]; then
		ok "man --warnings: no warnings"
	else
		bad "man --warnings: exit $rc: $(head -n 5 "$work/man.err")"
	fi
	LC_ALL=C.UTF-8 MANWIDTH=80 man -E UTF-8 -l "$MAN" >"$work/man80.txt" 2>/dev/null
	check "man page: no line over 80 columns at MANWIDTH=80" \
		"$PY" -c 'import sys; sys.exit(any(len(l) > 80 for l in open(sys.argv[1], encoding="utf-8").read().splitlines()))' "$work/man80.txt"
fi
# wide, so that every entry is one line and nothing is hyphenated
LC_ALL=C.UTF-8 MANWIDTH=1000 man -E UTF-8 -l "$MAN" >"$work/man.txt" 2>/dev/null

# ---- options, people and magic IDs against the service's tables -------------
out=$(PYTHONDONTWRITEBYTECODE=1 "$PY" - "$MOCK" "$work/help.txt" "$work/man.txt" "$DOC" <<'PY' 2>&1
import importlib.util, re, sys
mock_path, help_path, man_path, doc_path = sys.argv[1:5]
passed = failed = 0
def check(cond, what):
    global passed, failed
    print(("ok   " if cond else "FAIL ") + what)
    if cond: passed += 1
    else: failed += 1

spec = importlib.util.spec_from_file_location("mock_juhe", mock_path)
mock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mock)
text = lambda p: open(p, encoding="utf-8").read()
# the rendered man page: ASCII hyphens and quotes, whatever the groff
norm = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2212": "-",
                      "\u2018": "'", "\u2019": "'"})
helptxt, mantxt, doc = text(help_path), text(man_path).translate(norm), text(doc_path)
one = lambda s: " ".join(s.split())

def section(t, start, end):
    """Lines of t from the line matching start up to the one matching end."""
    m = re.search(start, t, re.M)
    if not m:
        return ""
    e = re.compile(end, re.M).search(t, m.end())
    return t[m.end():e.start() if e else len(t)]

ID = r"\d{17}[\dX]"

def check_digit(id17):     # ISO 7064 MOD 11-2, written out again here
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(c) * x for c, x in zip(id17, w)) % 11]

# options: every option string argparse knows, as a tag in the man page's
# OPTIONS section and in a table row of MOCK.md
opts = [o for a in mock.build_parser()._actions for o in a.option_strings]
check(len(opts) >= 16, "argparse knows %d option strings" % len(opts))
man_opts = section(mantxt, r"^OPTIONS$", r"^[A-Z][A-Z ]+$")
tags = [l.strip() for l in man_opts.splitlines() if re.match(r"^ {7}-", l)]
doc_rows = [l for l in doc.splitlines() if l.startswith("|")]
for o in opts:
    pat = re.compile(r"(?<![\w-])%s(?![\w-])" % re.escape(o))
    check(any(pat.search(t) for t in tags), "option %s in the man page's OPTIONS" % o)
    check(any(pat.search(r) for r in doc_rows), "option %s in MOCK.md's tables" % o)
    check(pat.search(helptxt) is not None, "option %s in --help" % o)

# people: ID and full name in each; no one who is not in the table
man_people = section(mantxt, r"^PEOPLE$", r"^[A-Z][A-Z ]+$")
doc_people = section(doc, r"^## People", r"^## ")
help_people = section(helptxt, r"^people", r"^$")
man_lines = man_people.splitlines()
for idcard, name in mock.PEOPLE.items():
    check(re.search(r"^  %s  %s( |$)" % (idcard, re.escape(name)), help_people, re.M) is not None,
          "person %s in --help" % idcard)
    i = [k for k, l in enumerate(man_lines) if l.strip() == idcard]
    check(bool(i) and i[0] + 1 < len(man_lines) and man_lines[i[0] + 1].strip().split(" ")[0] == name,
          "person %s in the man page" % idcard)
    check(re.search(r"^\| %s \| %s( |\|)" % (idcard, re.escape(name)), doc_people, re.M) is not None,
          "person %s in MOCK.md" % idcard)
for where, t in (("--help", help_people), ("the man page", man_people), ("MOCK.md", doc_people)):
    check(set(re.findall(ID, t)) == set(mock.PEOPLE), "%s lists exactly the people of PEOPLE" % where)

# magic IDs: every one, with the same answer text in --help and the man page
want = {}
for seq, entry in mock.MAGIC.items():
    id17 = mock.MAGIC_PREFIX + seq
    want[id17 + check_digit(id17)] = entry
help_magic = section(helptxt, r"^magic IDs.*\n.*:$", r"^$")
help_doc = {}
for m in re.finditer(r"^  (%s)  (.*(?:\n {22}\S.*)*)" % ID, help_magic, re.M):
    help_doc[m.group(1)] = one(m.group(2))
man_magic = section(mantxt, r"^MAGIC IDS$", r"^[A-Z][A-Z ]+$")
man_doc = {}
for m in re.finditer(r"^ +(%s)\n((?: {8,}\S.*\n)*)" % ID, man_magic, re.M):
    man_doc[m.group(1)] = one(m.group(2))
doc_magic = section(doc, r"^## Magic IDs", r"^## ")
for idcard, (kind, code) in ((k, v[:2]) for k, v in want.items()):
    h = help_doc.get(idcard)
    check(h is not None, "magic %s (%s) in --help" % (idcard, kind))
    if kind == "error":
        check(h is not None and str(code) in h and mock.REASONS[code] in h,
              "magic %s: --help names error %s" % (idcard, code))
    check(man_doc.get(idcard) == h and h is not None,
          "magic %s in the man page, same text as --help" % idcard)
    check(re.search(r"^\| %s \|" % idcard, doc_magic, re.M) is not None,
          "magic %s in MOCK.md" % idcard)
for where, t in (("--help", help_magic), ("the man page", man_magic), ("MOCK.md", doc_magic)):
    check(set(re.findall(ID, t)) == set(want), "%s lists exactly the magic IDs of MAGIC" % where)

for e in ("/idcard/query", "/idcard/queryEncry", "/idcard/queryEncryV2", "/_stats", "/_reset"):
    check(e in helptxt and e in mantxt, "endpoint %s in --help and the man page" % e)
check("juheid-mock --help" in doc and "man juheid-mock" in doc,
      "MOCK.md mentions juheid-mock --help and man juheid-mock")
check("/usr/share/juheid-mock/keys/" in doc and "/usr/share/juheid-mock/keys/" in mantxt,
      "MOCK.md and the man page give the installed layout")
print("doc: %d passed, %d failed" % (passed, failed))
PY
)
rc=$?
echo "$out" | grep -v '^doc: [0-9]* passed, [0-9]* failed$'
line=$(echo "$out" | grep -E '^doc: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
if [ -n "$line" ]; then
	passed=$((passed + $(echo "$line" | awk '{print $2}')))
	failed=$((failed + $(echo "$line" | awk '{print $4}')))
fi
if [ $rc -ne 0 ] || [ -z "$line" ]; then
	bad "table checks exited with status $rc"
fi

# ---- the installed layout, started through the symlink ----------------------
inst=$(cd "$work" && pwd -P)/inst
mkdir -p "$inst/share/juheid-mock/keys" "$inst/bin"
cp "$MOCK" "$inst/share/juheid-mock/mock_juhe.py"
cp mock/keys/*.pem mock/keys/*.b64 "$inst/share/juheid-mock/keys/"
ln -s ../share/juheid-mock/mock_juhe.py "$inst/bin/juheid-mock"	# as dh_link makes it
BIN=$inst/bin/juheid-mock

# wide, so that argparse does not break the long temporary path
(cd / && COLUMNS=1000 "$BIN" --help) >"$work/ihelp.txt" 2>&1
rc=$?
check "installed --help exits 0" [ $rc -eq 0 ]
check "installed --help: prog is juheid-mock" grep -q '^usage: juheid-mock ' "$work/ihelp.txt"
check "installed --help: default key in share/juheid-mock/keys/" \
	grep -qF "$inst/share/juheid-mock/keys/test_rsa_private.pem" "$work/ihelp.txt"
check "installed --version" [ "$(cd / && "$BIN" --version 2>&1)" = "juheid-mock $v" ]

log_masked() { ! grep -qE '11010519491231002X|张三' "$1" && grep -qF '110105********002X' "$1"; }
curl_() { curl -q -s --noproxy '*' --max-time 10 "$@"; }
# from /, so that nothing is found relative to the cwd
(cd / && exec "$BIN" --port 0 --port-file "$work/port" --pid-file "$work/pid") \
	2>"$work/mock.log" &
MOCK_PID=$!
for _ in $(seq 100); do
	[ -s "$work/port" ] && break
	kill -0 "$MOCK_PID" 2>/dev/null || break
	sleep 0.1
done
if [ -s "$work/port" ]; then
	ok "installed mock starts through the symlink (--port 0 --port-file)"
	port=$(cat "$work/port")
	check "pid file holds the mock's PID" [ "$(cat "$work/pid")" = "$MOCK_PID" ]
	# listening sockets on that port: 127.0.0.1 only (/proc/net/tcp{,6}, state 0A)
	listen=$(awk -v p="$(printf '%04X' "$port")" \
		'$4 == "0A" { split($2, a, ":"); if (a[2] == p) print a[1] }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u | tr '\n' ' ')
	check "listens on 127.0.0.1 only (got: $listen)" [ "$listen" = "0100007F " ]
	body=$(curl_ -d key=testkey0123456789abcdef0123456789 -d idcard=11010519491231002X \
		--data-urlencode 'realname=张三' "http://127.0.0.1:$port/idcard/query")
	check "plain request 张三/11010519491231002X: res 1" \
		"$PY" -c 'import json, sys; d = json.loads(sys.argv[1]); sys.exit(not (d["error_code"] == 0 and d["result"]["res"] == 1))' "$body"
	kill "$(cat "$work/pid")"
	wait "$MOCK_PID"
	rc=$?
	MOCK_PID=
	check "stops on SIGTERM to its PID with status 0" [ $rc -eq 0 ]
	check "its log masks the ID and the name" log_masked "$work/mock.log"
else
	bad "installed mock did not start: $(head -c 500 "$work/mock.log")"
fi
summary
