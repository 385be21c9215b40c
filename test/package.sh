#!/bin/bash
# test/package.sh -- the Debian package, as the README tells a user to make
# and install it: build postgresql-NN-juheid and juheid-mock with
# `dpkg-buildpackage -us -uc -b` from a copy of this tree, check what the
# .debs contain and what lintian says, install them with apt-get, check the installed tools, and
# run Debian's autopkgtest (debian/tests: the regression suites and the
# example user suite against the installed files, test/installed-check.sh)
# on this machine.  Packages this script installed are removed again at
# the end, so a later `make install` of the tree is what the other tests
# load.  Needs root (apt-get, dpkg); as another user it only says so.
# Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. test/lib.sh

if [ "$(id -u)" != 0 ]; then
	echo "  skipped: building and installing the package needs root"
	summary
	exit
fi

version=$(dpkg-parsechangelog -l debian/changelog -S Version)
WORK=$(mktemp -d /tmp/juheid-package.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
src=$WORK/juheid-$version
copy_tree "$src"

# 1. build, with the README's commands: build dependencies from
# debian/control, then dpkg-buildpackage
if (cd "$src" && DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq ./) >"$WORK/build-dep.log" 2>&1; then
	ok "apt-get build-dep ./"
else
	tail -n 20 "$WORK/build-dep.log"
	bad "apt-get build-dep ./"
fi
if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b"
else
	tail -n 40 "$WORK/build.log"
	bad "dpkg-buildpackage -us -uc -b"
	summary
	exit
fi
grep -q 'warning:' "$WORK/build.log" && { grep 'warning:' "$WORK/build.log"; bad "the build printed warnings"; }

# Debian's policy checker on what was built: no error, no warning
if lintian --fail-on error,warning "$WORK"/juheid_"$version"_*.changes >"$WORK/lintian.log" 2>&1; then
	ok "lintian: no errors or warnings"
else
	grep -E '^[EW]:' "$WORK/lintian.log" || tail -n 20 "$WORK/lintian.log"
	bad "lintian: no errors or warnings"
fi

# 2. contents: every PostgreSQL version pg_buildext built for, and the mock
mapfile -t versions < <(cd "$src" && pg_buildext supported-versions)
debs=()
for v in "${versions[@]}"; do
	deb=$(ls "$WORK"/postgresql-"$v"-juheid_"$version"_*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ]; then
		bad "postgresql-$v-juheid was built"
		continue
	fi
	ok "postgresql-$v-juheid was built ($(basename "$deb"))"
	debs+=("$deb")
	list=$(dpkg-deb -c "$deb")
	missing=""
	for f in lib/juheid.so extension/juheid.control $(cd "$ROOT" && ls juheid--*.sql | sed 's|^|extension/|'); do
		echo "$list" | grep -q "/postgresql/$v/$f\$" || missing="$missing $f"
	done
	[ -z "$missing" ] && ok "postgresql-$v-juheid has the module, control file and every script" ||
		bad "postgresql-$v-juheid lacks$missing"
	dpkg-deb -f "$deb" Depends | grep -q "postgresql-$v" &&
		ok "postgresql-$v-juheid depends on postgresql-$v" || bad "postgresql-$v-juheid depends on postgresql-$v"
done
mock=$(ls "$WORK"/juheid-mock_"$version"_all.deb 2>/dev/null | head -n 1)
if [ -n "$mock" ]; then
	debs+=("$mock")
	list=$(dpkg-deb -c "$mock")
	for f in usr/bin/juheid-mock usr/share/man/man1/juheid-mock.1.gz usr/share/juheid-mock/keys/test_rsa_private.pem; do
		echo "$list" | grep -q "\./$f" && ok "juheid-mock has /$f" || bad "juheid-mock has /$f"
	done
else
	bad "juheid-mock was built"
fi

# 3. install them as a user would (apt-get resolves their dependencies)
before=$(dpkg-query -W -f='${Package} ${Status}\n' 'postgresql-*-juheid' juheid-mock 2>/dev/null |
	awk '/install ok installed/ {print $1}')
if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	--allow-downgrades --reinstall "${debs[@]}" >"$WORK/install.log" 2>&1; then
	ok "apt-get install the .debs"
else
	tail -n 20 "$WORK/install.log"
	bad "apt-get install the .debs"
fi
cleanup_packages() {
	local remove=()
	for p in $(dpkg-query -W -f='${Package} ${Status}\n' 'postgresql-*-juheid' juheid-mock 2>/dev/null |
		awk '/install ok installed/ {print $1}'); do
		echo "$before" | grep -qx "$p" || remove+=("$p")
	done
	[ ${#remove[@]} -gt 0 ] && dpkg -r "${remove[@]}" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup_packages EXIT

juheid-mock --help >"$WORK/help.txt" 2>&1 && grep -q '11010120000101' "$WORK/help.txt" &&
	ok "juheid-mock --help lists the magic IDs" || bad "juheid-mock --help lists the magic IDs"
MANWIDTH=80 man juheid-mock 2>/dev/null | grep -q 'juheid-mock' &&
	ok "man juheid-mock" || bad "man juheid-mock"

# 4. Debian's autopkgtest on this machine: debian/tests against the
# installed packages (its own log has the suites' "N passed, N failed")
if command -v autopkgtest >/dev/null; then
	autopkgtest --output-dir "$WORK/autopkgtest" "${debs[@]}" "$src/" -- null \
		>"$WORK/autopkgtest.log" 2>&1
	rc=$?
	out="$WORK/autopkgtest/installcheck-stdout"
	grep -E '\.\.\. |^  \[|passed, .* failed' "$out" 2>/dev/null | grep -v '^logs:' | sed 's/^  */  /'
	count "$out"
	if [ $rc -eq 0 ]; then
		ok "autopkgtest: $(tr -s ' ' <"$WORK/autopkgtest/summary")"
	else
		tail -n 30 "$WORK/autopkgtest.log"
		bad "autopkgtest (exit status $rc)"
	fi
else
	bad "autopkgtest is not installed"
fi

summary
