#!/usr/bin/env bash
# tools/pg-from-source.sh -- build a PostgreSQL major version from Debian's own
# source package, for testing juheid against versions Debian 12 ships no
# binaries for (18 comes from a newer Debian suite), or with assertions and
# Valgrind support for any version.
#
#   tools/pg-from-source.sh MAJOR PREFIX [--cassert]
#     MAJOR      e.g. 18 (whatever Debian's suites carry as postgresql-MAJOR)
#     PREFIX     install directory; PREFIX/bin/pg_config is the one to build
#                juheid with: make PG_CONFIG=PREFIX/bin/pg_config
#     --cassert  --enable-cassert --enable-debug, -O0 and -DUSE_VALGRIND
#
# Installs the server, pg_regress (for PGXS installcheck), the TAP modules and
# the contrib modules the test suite uses (dblink).  Uses a private apt
# configuration (the system's sources are not changed) whose deb-src lines
# point at the Debian mirror the system already uses; only Debian's archive
# is contacted.  About 5 minutes on 2 cores.  Does nothing if PREFIX already
# holds a complete build.  Run as root (it installs build dependencies).
set -euo pipefail
major=${1:?usage: pg-from-source.sh MAJOR PREFIX [--cassert]}
prefix=${2:?usage: pg-from-source.sh MAJOR PREFIX [--cassert]}
cassert=${3:-}
if [[ -x $prefix/bin/pg_config && -e $prefix/.juheid-complete ]]; then
	echo "$prefix: PostgreSQL $("$prefix/bin/pg_config" --version | awk '{print $2}') already built"
	exit 0
fi

work=$(mktemp -d /tmp/pgsrc.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
uris=$(grep -hoE '^URIs: *\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true)
[[ -n $uris ]] || uris=$(grep -hoE '^deb +\S+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' || true)
mirror=$(grep -v security <<<"$uris" | head -1)
security=$(grep security <<<"$uris" | head -1 || true)
[[ -n $mirror ]] || { echo "cannot find the Debian mirror in the apt configuration" >&2; exit 1; }
mkdir -p "$work/lists/partial"
{
	for suite in bullseye bookworm trixie sid; do echo "deb-src $mirror $suite main"; done
	if [[ -n $security ]]; then
		for suite in bullseye-security bookworm-security trixie-security; do echo "deb-src $security $suite main"; done
	fi
} >"$work/src.list"
apt_opts=(-o "Dir::Etc::sourcelist=$work/src.list" -o Dir::Etc::sourceparts=/dev/null -o "Dir::State::lists=$work/lists")
apt-get "${apt_opts[@]}" update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	build-essential bison flex libreadline-dev zlib1g-dev libssl-dev libxml2-dev \
	pkg-config dpkg-dev libipc-run-perl >/dev/null

# newest first; a mirror may lack the newest files of a suite, so fall back
got=
for v in $(apt-cache "${apt_opts[@]}" showsrc "postgresql-$major" 2>/dev/null | awk '/^Version:/ {print $2}' | sort -rV | uniq); do
	if (cd "$work" && apt-get "${apt_opts[@]}" source --download-only -qq "postgresql-$major=$v" >/dev/null 2>&1); then
		got=$v
		break
	fi
	rm -f "$work"/postgresql-"$major"_*
done
[[ -n $got ]] || { echo "no source of postgresql-$major could be downloaded" >&2; exit 1; }
tar -C "$work" -xf "$work"/postgresql-"$major"_*.orig.tar.*
src=$(find "$work" -maxdepth 1 -type d -name "postgresql-$major*" | head -1)

flags=()
cflags="-O2"
if [[ $cassert == --cassert ]]; then
	flags=(--enable-cassert --enable-debug)
	cflags="-O0 -g -DUSE_VALGRIND"
fi
echo "building PostgreSQL $got into $prefix ${cassert}"
(cd "$src" && CFLAGS="$cflags" ./configure --prefix="$prefix" --with-openssl --without-icu \
		--enable-tap-tests "${flags[@]}" >"$work/configure.log" 2>&1 &&
	make -j"$(nproc)" -s >"$work/make.log" 2>&1 &&
	make -s install >"$work/install.log" 2>&1 &&
	make -C contrib/dblink -s install >>"$work/install.log" 2>&1 &&
	make -C src/test/perl -s install >>"$work/install.log" 2>&1 &&
	make -C src/test/regress -s install >>"$work/install.log" 2>&1) ||
	{ tail -30 "$work"/*.log; exit 1; }
chmod -R a+rX "$prefix"
touch "$prefix/.juheid-complete"
"$prefix/bin/pg_config" --version
