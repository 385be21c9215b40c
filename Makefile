# juheid: PGXS build.  `make && make install`, then `make installcheck`
# against a running cluster (test/run-tests.sh sets one up with the mock).

EXTENSION = juheid
MODULE_big = juheid
DATA = $(wildcard juheid--*.sql)

OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
HEADERS_juheid = $(wildcard src/*.h)

# pg_regress suites: every sql/*.sql, in the order given by test/schedule
REGRESS = --schedule=test/schedule
REGRESS_OPTS = --inputdir=. --load-extension=juheid

PG_CONFIG ?= pg_config
PKG_CONFIG ?= pkg-config
DEPS = libcurl json-c libcrypto

PG_CPPFLAGS = -Isrc $(shell $(PKG_CONFIG) --cflags $(DEPS)) -Wall -Wextra \
	-Wno-unused-parameter -Wno-missing-field-initializers -Wmissing-prototypes
ifdef WERROR
PG_CPPFLAGS += -Werror
endif
SHLIB_LINK = $(shell $(PKG_CONFIG) --libs $(DEPS))

EXTRA_CLEAN = test/unit/*.bin test/fuzz/*.bin

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track headers: rebuild every object when one changes
$(OBJS): $(HEADERS_juheid)
