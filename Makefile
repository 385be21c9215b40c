# juheid: PGXS build.  `make && make install`; then `bash test/suites.sh`
# runs the pg_regress suites in a throw-away cluster with the mock (the
# suites need its settings: test/harness.sh), and `make prove_installcheck`
# the TAP tests (test/t), as a user PostgreSQL runs as.

EXTENSION = juheid
MODULE_big = juheid
DATA = $(wildcard juheid--*.sql)

EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" juheid.control)

# one file per stage; see README "Architecture"
OBJS = \
	src/juheid.o \
	src/guc.o \
	src/input.o \
	src/memo.o \
	src/reuse.o \
	src/verify.o \
	src/request.o \
	src/crypto.o \
	src/transport.o \
	src/gateway.o \
	src/replay.o \
	src/response.o \
	src/result.o \
	src/errors.o \
	src/encoding.o \
	src/account.o \
	src/ledger.o \
	src/rate.o \
	src/stats.o \
	src/counters.o \
	src/preload.o \
	src/trigger.o \
	src/batch.o \
	src/table_job.o \
	src/toolkit.o \
	src/today.o \
	src/idcard.o \
	src/name.o \
	src/regions_data.o

# juheid has no public C API: no headers are installed
JUHE_HEADERS = $(wildcard src/*.h)

# pg_regress suites: every sql/*.sql, in the order given by test/schedule
REGRESS = --schedule=test/schedule
REGRESS_OPTS = --inputdir=. --load-extension=juheid

# TAP tests (test/t/*.pl, PostgreSQL::Test::Cluster): `make
# prove_installcheck`, or with the suites in `make installcheck`; each test
# starts its own cluster and mock.  The harness runs `make installcheck
# TAP_TESTS=` for the suites alone.  test/tap.sh runs them as root too.
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl
# test-only helpers the TAP tests load: a resolver that never answers for
# one host name, a disk that fills up on demand, a writer of ledger records
TEST_BIN = test/bin
TEST_TOOLS = $(TEST_BIN)/hang_dns.so $(TEST_BIN)/fail_writes.so $(TEST_BIN)/ledger_gen

PG_CONFIG ?= pg_config
PKG_CONFIG ?= pkg-config
DEPS = libcurl json-c libcrypto

PG_CPPFLAGS = -Isrc -DEXTVERSION='"$(EXTVERSION)"' \
	$(shell $(PKG_CONFIG) --cflags $(DEPS)) -Wall -Wextra \
	-Wno-unused-parameter -Wno-missing-field-initializers -Wmissing-prototypes
ifdef WERROR
PG_CPPFLAGS += -Werror
endif
SHLIB_LINK = $(shell $(PKG_CONFIG) --libs $(DEPS))

EXTRA_CLEAN = test/unit/*.bin test/fuzz/*.bin juheid-*.zip $(TEST_BIN)

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# after Makefile.global, which empties it
PROVE_FLAGS = -I test/t

# PGXS does not track headers: rebuild every object when one changes
$(OBJS): $(JUHE_HEADERS)

$(TEST_BIN)/%.so: test/preload/%.c
	@mkdir -p $(TEST_BIN)
	$(CC) -shared -fPIC -O2 -Wall -Werror -o $@ $< -ldl

$(TEST_BIN)/ledger_gen: test/tools/ledger_gen.c
	@mkdir -p $(TEST_BIN)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

.PHONY: test-tools prove_installcheck
test-tools: $(TEST_TOOLS)

installcheck prove_installcheck: export JUHEID_HANG_DNS_SO = $(CURDIR)/$(TEST_BIN)/hang_dns.so
installcheck prove_installcheck: export JUHEID_FAIL_WRITES_SO = $(CURDIR)/$(TEST_BIN)/fail_writes.so
installcheck prove_installcheck: export JUHEID_LEDGER_GEN = $(CURDIR)/$(TEST_BIN)/ledger_gen
ifdef TAP_TESTS
installcheck: $(TEST_TOOLS)
endif
prove_installcheck: $(TEST_TOOLS)
	$(prove_installcheck)

# the PGXN release archive of the committed tree: juheid-X.Y.Z.zip
DISTVERSION = $(shell sed -n 's/^   "version": "\(.*\)",/\1/p' META.json | head -n 1)
.PHONY: dist
dist:
	git archive --format zip --prefix=juheid-$(DISTVERSION)/ -o juheid-$(DISTVERSION).zip HEAD
