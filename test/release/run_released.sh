#!/bin/bash
# test/release/run_released.sh -- the released extension scripts and their kept
# copies in test/released (see test/released/README): every copy is
# byte-identical to the script at the top level; every top-level
# juheid--*.sql up to default_version has a copy; every kept install
# version reaches default_version through kept update scripts; every script
# (and juheid.control) is ASCII, so a database in EUC_CN or any other
# server encoding can run it; the Makefile's DATA installs them all.
# test/t/010_upgrade.pl runs the update itself.
# Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. test/lib.sh
KEPT=test/released

check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok   $what"
		passed=$((passed + 1))
	else
		echo "FAIL $what"
		failed=$((failed + 1))
	fi
}

# version_le A B: A <= B in version order
version_le() {
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]
}

# the version a script brings a database to: juheid--V.sql or juheid--A--V.sql
target_version() {
	local v=${1##*/}
	v=${v%.sql}
	echo "${v##*--}"
}

ascii_only() {
	[ "$(LC_ALL=C tr -d '\000-\177' <"$1" | wc -c)" -eq 0 ]
}

defv=$(sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" juheid.control)
check "default_version is read from juheid.control ($defv)" test -n "$defv"
check "$KEPT/README exists" test -s "$KEPT/README"

shopt -s nullglob
kept=("$KEPT"/juheid--*.sql)
check "$KEPT holds released scripts (${#kept[@]})" test ${#kept[@]} -gt 0

# every kept copy is still the script at the top level, byte for byte
for f in "${kept[@]}"; do
	check "${f##*/}: at the top level" test -e "${f##*/}"
	check "${f##*/}: identical to $f" cmp -s "$f" "${f##*/}"
done

# every top-level script up to default_version was released: it has a copy
for f in juheid--*.sql; do
	v=$(target_version "$f")
	if version_le "$v" "$defv"; then
		check "$f (version $v <= $defv): kept in $KEPT" test -e "$KEPT/$f"
	fi
done

# the update chain from every kept install version reaches default_version
# through kept update scripts (a breadth-first walk over juheid--A--B.sql)
reaches_default() {
	local start=$1 seen=" $1 " todo=("$1") v f from to
	while [ ${#todo[@]} -gt 0 ]; do
		v=${todo[0]}
		todo=("${todo[@]:1}")
		[ "$v" = "$defv" ] && return 0
		for f in "$KEPT/juheid--$v--"*.sql; do
			from=${f##*/juheid--}
			from=${from%%--*}
			[ "$from" = "$v" ] || continue
			to=$(target_version "$f")
			case $seen in *" $to "*) continue ;; esac
			seen="$seen$to "
			todo+=("$to")
		done
	done
	echo "  no chain of kept update scripts from $start to $defv (reached:$seen)"
	return 1
}
installs=0
for f in "${kept[@]}"; do
	name=${f##*/}
	case $name in juheid--*--*.sql) continue ;; esac
	installs=$((installs + 1))
	v=$(target_version "$f")
	check "install version $v reaches $defv through kept update scripts" reaches_default "$v"
done
check "at least one kept install script ($installs)" test "$installs" -gt 0

# ASCII only: CREATE EXTENSION reads a script in the database's encoding
for f in juheid--*.sql "${kept[@]}" juheid.control; do
	check "$f: ASCII only" ascii_only "$f"
done

# make install puts every script into the extension directory
check "Makefile: DATA = \$(wildcard juheid--*.sql)" \
	grep -Eq '^DATA[[:space:]]*[:+]?=[[:space:]]*\$\(wildcard juheid--\*\.sql\)[[:space:]]*$' Makefile

summary
