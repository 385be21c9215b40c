#!/bin/bash
# test/release/run_dist.sh -- the PGXN release archive: `make dist` on a clone
# of the committed tree writes juheid-X.Y.Z.zip (X.Y.Z from META.json) with
# one top directory, the files a PGXN user needs, and nothing of git; the
# unpacked archive builds with PGXS (-Werror), as `pgxn install` would.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
PGC=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

version=$($PY -c 'import json; print(json.load(open("META.json"))["version"])')
T=$(mktemp -d /tmp/juheid-dist.XXXXXX)
trap 'rm -rf "$T"' EXIT
git clone -q . "$T/clone" || { bad "clone"; echo "$passed passed, $failed failed"; exit 1; }
if make -s -C "$T/clone" dist PG_CONFIG="$PGC" >"$T/dist.log" 2>&1 && [ -s "$T/clone/juheid-$version.zip" ]; then
	ok "make dist writes juheid-$version.zip"
else
	cat "$T/dist.log"
	bad "make dist writes juheid-$version.zip"
	echo "$passed passed, $failed failed"
	exit 1
fi
zip=$T/clone/juheid-$version.zip
$PY -m zipfile -l "$zip" | awk 'NR > 1 {print $1}' >"$T/list"
top=$(cut -d/ -f1 "$T/list" | sort -u)
[ "$top" = "juheid-$version" ] && ok "one top directory juheid-$version" || bad "one top directory (found: $top)"
for f in META.json README.md LICENSE Makefile juheid.control $(git ls-files 'juheid--*.sql') \
	$(git ls-files 'src/*.c' 'src/*.h') debian/control debian/rules mock/mock_juhe.py mock/juheid-mock.1; do
	grep -qx "juheid-$version/$f" "$T/list" && ok "has $f" || bad "has $f"
done
grep -q '/\.git/\|/\.git$' "$T/list" && bad "no .git in the archive" || ok "no .git in the archive"
[ "$(grep -vc '/$' "$T/list")" = "$(git ls-files | wc -l)" ] &&
	ok "exactly the committed files" || bad "exactly the committed files ($(grep -vc '/$' "$T/list") vs $(git ls-files | wc -l))"

mkdir -p "$T/unpacked"
$PY -m zipfile -e "$zip" "$T/unpacked"
cmp -s "$T/unpacked/juheid-$version/META.json" META.json && ok "the archive's META.json is the tree's" ||
	bad "the archive's META.json is the tree's"
if make -s -C "$T/unpacked/juheid-$version" WERROR=1 PG_CONFIG="$PGC" >"$T/build.log" 2>&1 &&
	[ -e "$T/unpacked/juheid-$version/juheid.so" ] && ! grep -q 'warning:' "$T/build.log"; then
	ok "the unpacked archive builds with PGXS ($($PGC --version)), no warnings"
else
	tail -n 20 "$T/build.log"
	bad "the unpacked archive builds with PGXS"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
