#!/bin/bash
# test/clean-machine.sh -- the README's package commands on a clean Debian
# 12: debootstrap a minimal bookworm into a temporary directory, copy this
# tree into it (as git sees it), run the commands of the README's
# "Debian 12: the package" block there, exactly as written, in a chroot,
# then the regression suites and the example user suite against what they
# installed (test/installed-check.sh).  Needs root and Debian's archive.
# Downloaded packages are kept in $JUHEID_PG_CACHE/clean-machine (default
# /var/cache/juheid) for the next run.  Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

if [ "$(id -u)" != 0 ]; then
	echo "  skipped: debootstrap and chroot need root"
	summary
	exit
fi
command -v debootstrap >/dev/null || {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1
}
CACHE=${JUHEID_PG_CACHE:-/var/cache/juheid}/clean-machine
mkdir -p "$CACHE/debootstrap" "$CACHE/apt"
MIRROR=${JUHEID_DEBIAN_MIRROR:-http://deb.debian.org/debian}

R=$(mktemp -d /tmp/juheid-clean.XXXXXX)
chmod 755 "$R"	# the root directory of the clean system
mounted=()
cleanup() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -l "${mounted[$i]}" 2>/dev/null
	done
	# nothing may be left mounted below $R before it is removed
	if ! grep -q " $R/" /proc/mounts; then
		rm -rf "$R"
	else
		echo "  left $R: something is still mounted there"
	fi
}
trap cleanup EXIT
bindmount() {	# bindmount [-t type] SRC DST
	mount "$@" && mounted+=("${!#}")
}

# 1. a clean Debian 12
if debootstrap --variant=minbase --cache-dir="$CACHE/debootstrap" bookworm "$R" "$MIRROR" \
	>"$R.debootstrap.log" 2>&1; then
	ok "debootstrap a minimal Debian 12"
else
	tail -n 20 "$R.debootstrap.log"
	bad "debootstrap a minimal Debian 12"
	summary
	exit
fi
rm -f "$R.debootstrap.log"
cat >"$R/etc/apt/sources.list" <<LIST
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${MIRROR%/debian}/debian-security bookworm-security main
LIST
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"	# start no services
chmod +x "$R/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$R/etc/resolv.conf"
bindmount -t proc proc "$R/proc"
bindmount --bind /dev "$R/dev"
bindmount -t devpts devpts "$R/dev/pts"
bindmount -t tmpfs tmpfs "$R/dev/shm"
bindmount --bind "$CACHE/apt" "$R/var/cache/apt/archives"

# 2. the tree, as a user's checkout
copy_tree "$R/root/juheid"

# 3. the README's commands, as written
awk '/^\*\*Debian 12: the package\.\*\*/ {f = 1} f && /^```sh$/ {b = 1; next} b && /^```$/ {exit} b' \
	README.md >"$R/root/readme-commands.sh"
sed 's/^/    /' "$R/root/readme-commands.sh"
if [ "$(grep -c . "$R/root/readme-commands.sh")" -lt 3 ]; then
	bad "found the README's package commands"
	summary
	exit
fi
if chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
	DEBIAN_FRONTEND=noninteractive /bin/bash -ec 'cd /root/juheid && . /root/readme-commands.sh' \
	>"$R/root/readme.log" 2>&1; then
	ok "the README's package commands on a clean Debian 12"
else
	tail -n 30 "$R/root/readme.log"
	bad "the README's package commands on a clean Debian 12"
fi
for p in postgresql-15-juheid juheid-mock; do
	chroot "$R" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" &&
		ok "$p is installed" || bad "$p is installed"
done

# 4. the tests against the installed files there (debian/tests/control's
# test dependencies first, as autopkgtest would install them)
deps=$(sed -n '/^Depends:/,/^[A-Z]/p' debian/tests/control | grep '^ ' | tr -d ' ,' | grep -v '^@$' | tr '\n' ' ')
chroot "$R" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $deps >/dev/null 2>&1 ||
	bad "install the test dependencies ($deps)"
chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
	/bin/bash -c 'cd /root/juheid && bash test/installed-check.sh' >"$R/root/check.log" 2>&1
grep -E '^  \[|^  ' "$R/root/check.log" | grep -vE '\.\.\. ok' | sed 's/^  */  /'
echo "  installed-check in the clean system: $(grep -E '^[0-9]+ passed, [0-9]+ failed' "$R/root/check.log" | tail -n 1)"
f0=$failed
if ! count "$R/root/check.log" || [ "$failed" -ne "$f0" ]; then
	head -n 40 "$R/root/check.log"
	cat "$R"/tmp/juheid-installed.*/*.diffs 2>/dev/null | head -n 80
fi

summary
