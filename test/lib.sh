# test/lib.sh -- sourced by the test drivers (test/run-tests.sh,
# test/package.sh, test/clean-machine.sh, test/installed-check.sh) and the
# release checks (test/release/run_released.sh, run_mock_doc.sh): one
# pass/fail count, and the tree as git sees it.  Callers end with: summary
passed=0
failed=0

ok() { echo "  ok - $1"; passed=$((passed + 1)); }
bad() { echo "  not ok - $1"; failed=$((failed + 1)); }

# add the counts of the last "N passed, N failed" line of a log; a log
# without one counts as one failure
count() {
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" 2>/dev/null | tail -n 1)
	if [ -z "$line" ]; then
		echo "  (no result line in $1: counted as one failure)"
		failed=$((failed + 1))
		return 1
	fi
	passed=$((passed + $(echo "$line" | awk '{print $1}')))
	failed=$((failed + $(echo "$line" | awk '{print $3}')))
}

# the last line every driver prints; the exit status says whether all passed
summary() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# copy_tree DIR: this checkout's files as git sees them (tracked and new,
# nothing ignored or built) into DIR, as a user's checkout would have them;
# outside a git checkout (an unpacked release archive), every file
copy_tree() {
	mkdir -p "$1" || return
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$1"
	else
		tar --exclude=.git -cf - . | tar -xf - -C "$1"
	fi
}
