#!/bin/bash
# test/lint/check_stack.sh -- the files of src/ form a stack (src/STACK,
# top to bottom).  Fails when
#   - a file of src/ is not in src/STACK, or is there twice;
#   - a file includes the header of a file on a line above its own (which
#     also catches two files that include each other);
#   - a .c file declares something extern itself (a way around includes);
#   - README.md's Architecture section names the .c files in another order.
# Prints "ok - ..." / "not ok - ..." lines and ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
STACK=${STACK_FILE:-src/STACK}
SRC=${STACK_SRC:-src}
README=${STACK_README:-README.md}
declare -A rank
fails=0
passes=0
bad() { echo "not ok - $*"; fails=$((fails + 1)); }
good() { echo "ok - $*"; passes=$((passes + 1)); }

n=0
dup=0
while read -r line; do
	line=${line%%#*}
	[ -z "${line// /}" ] && continue
	n=$((n + 1))
	for f in $line; do
		if [ -n "${rank[$f]:-}" ]; then
			bad "$f is listed twice in $STACK"
			dup=1
		fi
		rank[$f]=$n
	done
done <"$STACK"
[ "$dup" = 0 ] && good "no file is listed twice in $STACK"

missing=0
for p in "$SRC"/*.c "$SRC"/*.h; do
	f=${p##*/}
	if [ -z "${rank[$f]:-}" ]; then
		bad "$p is not in $STACK"
		missing=1
	fi
done
for f in "${!rank[@]}"; do
	[ -e "$SRC/$f" ] || { bad "$STACK lists $f, which is not in $SRC/"; missing=1; }
done
[ "$missing" = 0 ] && good "every file of $SRC/ is in $STACK, and only those"

up=0
for p in "$SRC"/*.c "$SRC"/*.h; do
	f=${p##*/}
	r=${rank[$f]:-}
	[ -z "$r" ] && continue
	while IFS=: read -r ln inc; do
		h=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/' <<<"$inc")
		# a header that is not in src/ is PostgreSQL's ("postgres.h")
		[ -e "$SRC/$h" ] || continue
		hr=${rank[$h]:-}
		[ -z "$hr" ] && continue	# reported above: not in the stack
		if [ "$hr" -lt "$r" ]; then
			bad "$p:$ln includes \"$h\" from a stage above it (line $hr of the stack; $f is on line $r)"
			up=1
		fi
	done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' "$p")
done
[ "$up" = 0 ] && good "no file of $SRC/ includes a header of a stage above it"

ext=0
while IFS= read -r hit; do
	bad "$hit: extern declaration in a .c file (include the header instead)"
	ext=1
done < <(grep -nE '^[[:space:]]*extern[[:space:]]' "$SRC"/*.c)
[ "$ext" = 0 ] && good "no .c file of $SRC/ declares anything extern itself"

# the Architecture section of the README: src/X.c in the stack's order
if [ -e "$README" ]; then
	order=$(awk '/^## Architecture/ {on = 1; next} on && /^## / {exit} on' "$README" |
		grep -oE 'src/[a-z_]+\.c' | awk '!seen[$0]++')
	prev=0
	prevf=""
	wrong=0
	for p in $order; do
		f=${p#src/}
		r=${rank[$f]:-}
		if [ -z "$r" ]; then
			bad "$README's Architecture names $p, which is not in $STACK"
			wrong=1
			continue
		fi
		if [ "$r" -lt "$prev" ]; then
			bad "$README's Architecture names $p (stack line $r) after $prevf (line $prev)"
			wrong=1
		fi
		prev=$r
		prevf=$p
	done
	listed=$(wc -w <<<"$order")
	cs=$(ls "$SRC"/*.c | wc -l)
	if [ "$listed" -ne "$cs" ]; then
		bad "$README's Architecture names $listed of the $cs .c files of $SRC/"
		wrong=1
	fi
	[ "$wrong" = 0 ] && good "$README's Architecture lists every .c file of $SRC/ in the stack's order"
fi
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
