# juheid: PGXS build.  `make && make install`, then `make installcheck`
# against a running cluster (test/run-tests.sh sets one up with the mock).

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
	src/verify.o \
	src/request.o \
	src/crypto.o \
	src/transport.o \
	src/gateway.o \
	src/response.o \
	src/result.o \
	src/errors.o \
	src/encoding.o \
	src/account.o \
	src/ledger.o \
	src/rate.o \
	src/stats.o \
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

EXTRA_CLEAN = test/unit/*.bin test/fuzz/*.bin juheid-*.zip

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track headers: rebuild every object when one changes
$(OBJS): $(JUHE_HEADERS)

# the PGXN release archive of the committed tree: juheid-X.Y.Z.zip
DISTVERSION = $(shell sed -n 's/^   "version": "\(.*\)",/\1/p' META.json | head -n 1)
.PHONY: dist
dist:
	git archive --format zip --prefix=juheid-$(DISTVERSION)/ -o juheid-$(DISTVERSION).zip HEAD
