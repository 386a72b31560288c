# SPDX-License-Identifier: GPL-2.0-or-later
# moat - Exim dlfunc modules against backscatter, harvesting, catch-alls
# and SMTP-AUTH guessing. See README.md.
#
#   make            build/modules/<name>.so, their runtime build/modules/libmoat.so.0,
#                   and build/moatctl
#   make deps       install the Debian packages the build, tests and run need
#   make run        a real Exim on 127.0.0.1:$(PORT) with every module on
#   make check      unit tests, integration tests against a real Exim, the
#                   export test, the unit tests again under ASan+UBSan
#   make check-trixie, make check-bookworm
#                   make deps && make check on that Debian release, in a
#                   chroot kept under /var/cache/moat-ci (.ci/debian-chroot)
#   make bench      benchmarks (ratios against plain Exim in the same run)
#   make fuzz       every libFuzzer harness for FUZZ_SECONDS each
#   make coverage   line coverage of unit + integration tests: docs/coverage.md
#   make install    into $(DESTDIR)$(PREFIX)

MODULES    := rcpt authlock catchall autoreply batv
BUILD      ?= build
PREFIX     ?= /usr
SYSCONFDIR ?= /etc
LIBDIR     ?= $(PREFIX)/lib/exim4/moat
SBINDIR    ?= $(PREFIX)/sbin
STATEDIR   ?= /var/lib/moat
PORT       ?= 2525
FUZZ_SECONDS ?= 60
PYTHON     ?= /usr/bin/python3

CC         ?= cc
CFLAGS     ?= -O2 -g
PKGS       := libconfuse lmdb hiredis ldap lber libmaxminddb libcdb libcrypto
# TLS to Redis where the release's hiredis has it (trixie; not bookworm).
HIREDIS_SSL := $(shell pkg-config --exists hiredis_ssl 2>/dev/null && echo hiredis_ssl)
PKGS       += $(HIREDIS_SSL)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(if $(HIREDIS_SSL),-DMOAT_HIREDIS_SSL)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lresolv
# What libmoat.so.0 itself links: not the backends' libraries (below).
CORE_LIBS  := $(shell pkg-config --libs libconfuse lmdb ldap lber libcrypto 2>/dev/null) -lresolv

# What moat needs whatever the caller's CFLAGS say.
# gcc's -Wformat-truncation flags every deliberate bounded snprintf.
CC_IS_GCC  := $(shell $(CC) --version 2>/dev/null | grep -qi clang || echo yes)
NO_TRUNC_WARN := $(if $(CC_IS_GCC),-Wno-format-truncation)
# WERROR= for a distribution build with a newer compiler than moat was tried with.
WERROR     ?= -Werror
MOAT_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra $(WERROR) $(NO_TRUNC_WARN) -fPIC \
               -fvisibility=hidden -Icommon -Imodules $(PKG_CFLAGS)
EXIM_CFLAGS := -I/usr/include/exim4
SO_LDFLAGS  := -shared -Wl,-z,now -Wl,-z,relro -Wl,--as-needed
BIN_LDFLAGS := -Wl,-z,now -Wl,-z,relro -Wl,--as-needed

COMMON_SRC := $(filter-out common/exim_glue.c,$(wildcard common/*.c))
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
GLUE_OBJ   := $(BUILD)/obj/common/exim_glue.o
REGISTRY_OBJ := $(BUILD)/obj/modules/registry.o

# Per module: logic objects (everything but exim.c, the module's Exim glue).
logic_src = $(filter-out modules/$(1)/exim.c,$(wildcard modules/$(1)/*.c))
logic_obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(call logic_src,$(1)))
SO_FILES   := $(MODULES:%=$(BUILD)/modules/%.so)

# libmoat: common/, the registry and every module's logic. As a shared
# library (libmoat.so.0, beside the modules, which find it by RUNPATH
# $ORIGIN) it is the one runtime of an Exim process: the loader maps it once
# however many modules Exim dlopens. As a static archive it is what moatctl,
# the unit tests, the benchmarks and the fuzz harnesses link.
LIBMOAT_SONAME := libmoat.so.0
LIBMOAT_OBJ := $(COMMON_OBJ) $(REGISTRY_OBJ) $(foreach m,$(MODULES),$(call logic_obj,$(m)))
LIBMOAT_SO  := $(BUILD)/modules/$(LIBMOAT_SONAME)
LIBMOAT_A   := $(BUILD)/lib/libmoat.a

# Backends (common/backend.h): what only some sites use, each a shared
# object of its own beside libmoat.so.0 (backends/<name>.so), loaded when a
# configuration first asks for it, so that every other Exim process maps
# neither it nor its library. The static libmoat.a links them in.
BACKENDS := redis geoip cdb
backend_obj_redis  := $(BUILD)/obj/common/store_redis.o
backend_obj_geoip  := $(BUILD)/obj/common/geo_mmdb.o
backend_obj_cdb    := $(BUILD)/obj/modules/rcpt/directory_cdb.o
backend_libs_redis := $(shell pkg-config --libs hiredis $(HIREDIS_SSL) libcrypto 2>/dev/null)
backend_libs_geoip := $(shell pkg-config --libs libmaxminddb 2>/dev/null)
backend_libs_cdb   := $(shell pkg-config --libs libcdb 2>/dev/null)
BACKEND_OBJ := $(foreach b,$(BACKENDS),$(backend_obj_$(b)))
BACKEND_SO  := $(BACKENDS:%=$(BUILD)/modules/backends/%.so)
LIBMOAT_SO_OBJ := $(filter-out $(BACKEND_OBJ) $(BUILD)/obj/common/backend_static.o,$(LIBMOAT_OBJ))
LIBMOAT_A_OBJ  := $(filter-out $(BUILD)/obj/common/backend_dl.o,$(LIBMOAT_OBJ))

MOATCTL_SRC := $(wildcard tools/moatctl/*.c)
MOATCTL_OBJ := $(MOATCTL_SRC:%.c=$(BUILD)/obj/%.o)

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_HELPER_SRC := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
UNIT_HELPER_OBJ := $(UNIT_HELPER_SRC:%.c=$(BUILD)/obj/%.o)

BENCH_SRC  := $(wildcard tests/bench/bench_*.c)
BENCH_BIN  := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

ALL_LIBS = $(LIBMOAT_A)

.PHONY: all deps run check check-trixie check-bookworm unit integration export-test asan-unit bench fuzz fuzzlib \
        fuzz-smoke scenarios install clean deb distclean lint asan-integration coverage
.DEFAULT_GOAL := all

all: $(LIBMOAT_SO) $(SO_FILES) $(BACKEND_SO) $(BUILD)/moatctl

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(MOAT_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/common/exim_glue.o $(BUILD)/obj/modules/%/exim.o: MOAT_CFLAGS += $(EXIM_CFLAGS)

$(LIBMOAT_A): $(LIBMOAT_A_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

# -z defs: libmoat needs nothing from Exim (only the modules' glue does);
# -Bsymbolic: its own calls never bind to a same-named symbol of Exim's.
$(LIBMOAT_SO): $(LIBMOAT_SO_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $(SO_LDFLAGS) -Wl,-soname,$(LIBMOAT_SONAME) -Wl,-z,defs \
	    -Wl,-Bsymbolic -o $@ $(LIBMOAT_SO_OBJ) $(CORE_LIBS) -lm -lc

# A backend object: its part of moat and its library; what else it calls
# is libmoat's (already loaded in the process that dlopens it; RUNPATH
# $ORIGIN/.. for tools that look from outside).
define backend_rule
$(BUILD)/modules/backends/$(1).so: $(backend_obj_$(1)) $(LIBMOAT_SO)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) $$(SO_LDFLAGS) -Wl,-z,defs -Wl,--enable-new-dtags \
	    -Wl,-rpath,'$$$$ORIGIN/..' -o $$@ $(backend_obj_$(1)) $$(LIBMOAT_SO) $(backend_libs_$(1)) -lc
endef
$(foreach b,$(BACKENDS),$(eval $(call backend_rule,$(b))))

# A module object: its dlfunc entry points and the Exim glue, nothing else;
# its logic is libmoat's, found beside it.
.SECONDARY: $(MODULES:%=$(BUILD)/obj/modules/%/exim.o)
$(BUILD)/modules/%.so: $(BUILD)/obj/modules/%/exim.o $(GLUE_OBJ) $(LIBMOAT_SO)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $(SO_LDFLAGS) -Wl,--enable-new-dtags -Wl,-rpath,'$$ORIGIN' \
	    -o $@ $< $(GLUE_OBJ) $(LIBMOAT_SO) -lc

$(BUILD)/moatctl: $(MOATCTL_OBJ) $(ALL_LIBS)
	$(CC) $(CFLAGS) $(LDFLAGS) $(BIN_LDFLAGS) -o $@ $(MOATCTL_OBJ) \
	    $(ALL_LIBS) $(PKG_LIBS) -lm

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_HELPER_OBJ) $(ALL_LIBS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(MOAT_CFLAGS) -Itests/unit $(CFLAGS) $(LDFLAGS) -o $@ $< \
	    $(UNIT_HELPER_OBJ) $(ALL_LIBS) \
	    $(PKG_LIBS) $$(pkg-config --libs cmocka) -lm

$(BUILD)/bench/%: tests/bench/%.c tests/bench/measure.h $(ALL_LIBS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(MOAT_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< \
	    $(ALL_LIBS) $(PKG_LIBS) -lm

# ---------------------------------------------------------------- set-up

DEB_PACKAGES := build-essential pkg-config libconfuse-dev liblmdb-dev lmdb-utils \
    libhiredis-dev libldap-dev libmaxminddb-dev mmdb-bin libcdb-dev libcmocka-dev libssl-dev \
    exim4-daemon-heavy exim4-dev redis-server slapd ldap-utils swaks python3 \
    python3-aiosmtpd dnsmasq-base libmaxmind-db-writer-perl clang \
    libclang-rt-dev valgrind debhelper lintian dpkg-dev fakeroot gnuplot-nox fail2ban openssl \
    dovecot-core debootstrap gcovr prometheus $(DEB_PACKAGES_$(DEB_CODENAME))

# Names that exist on every supported release (bookworm, trixie): the
# unversioned clang/libclang-rt-dev follow each release's default LLVM (14, 19).
# A name only one release has goes in DEB_PACKAGES_<codename>.
DEB_CODENAME := $(shell . /etc/os-release 2>/dev/null && echo $$VERSION_CODENAME)
DEB_PACKAGES_bookworm :=
DEB_PACKAGES_trixie :=

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done); \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	echo "deps: missing:" $$missing; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "run as root: apt-get update && apt-get install -y" $$missing; exit 1; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing

# ---------------------------------------------------------------- run

run: deps all
	$(PYTHON) tests/integration/run_demo.py --port $(PORT) --build $(BUILD)

# ---------------------------------------------------------------- tests

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) export-test
	$(MAKE) integration
	$(MAKE) asan-unit
	$(MAKE) asan-integration
	$(MAKE) fuzz-smoke

# The whole check on another supported release: Exim 4.98 on trixie, 4.96 on
# bookworm. As root; the first run debootstraps (a few minutes), later ones
# reuse the chroot (rebuilt after MOAT_CI_MAX_AGE_DAYS, default 7, or when broken).
check-trixie check-bookworm: check-%:
	@command -v debootstrap >/dev/null || $(MAKE) deps
	.ci/debian-chroot $* 'make deps && make check'

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

export-test: $(LIBMOAT_SO) $(SO_FILES) $(BACKEND_SO)
	$(PYTHON) tests/integration/check_exports.py --libmoat $(LIBMOAT_SO) \
	    $(BACKEND_SO:%=--backend %) $(SO_FILES)

integration: all
	$(PYTHON) tests/integration/runner.py --build $(BUILD) $(TESTS)

ASAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

asan-unit:
	$(MAKE) BUILD=build/asan CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="-fsanitize=address,undefined" unit

# The integration tests once more with ASan+UBSan builds of the modules,
# the sanitizer runtimes preloaded into Exim, which runs from a copy without
# the set-user-id bit so that its re-executed delivery and submission
# processes keep LD_PRELOAD too (tests/integration/harness.py). Not
# test_package.py: it tests the .deb, whose modules are the plain build.
ASAN_TESTS ?= test_foundation.py test_rcpt.py test_authlock.py test_authlock_events.py test_catchall.py \
              test_autoreply.py test_hostile.py test_attacks.py test_batv.py \
              test_faults.py test_load.py test_runtime.py test_operators.py test_sentinel.py

asan-integration:
	$(MAKE) BUILD=build/asan CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="-fsanitize=address,undefined" all
	MOAT_ASAN=1 $(PYTHON) tests/integration/runner.py --build build/asan $(ASAN_TESTS)

# ---------------------------------------------------------------- coverage

# Line coverage of the unit and integration tests (not part of check): a
# gcov build in build/coverage, the unit tests, then the integration tests
# with tests/coverage/exit_shim.c preloaded into Exim (its processes end
# with _exit(), which would lose their gcov data) and the data of every
# process, root's and the Exim user's, under COV_GCDA; report.py merges
# both with gcovr into docs/coverage.md.
COV_BUILD  := build/coverage
COV_CFLAGS := -O0 -g --coverage -DMOAT_COVERAGE
# Each object keeps its libgcov to itself: were libmoat.so.0 to export
# __gcov_dump, a module's moat_coverage_dump would bind to it and write
# libmoat's counters, never the module's own (lost at _exit).
COV_LDFLAGS := --coverage -Wl,--exclude-libs,libgcov.a
COV_GCDA   ?= /var/tmp/moat-coverage-gcda
COVERAGE_TESTS ?= $(ASAN_TESTS) test_readme.py

coverage: deps
	$(MAKE) BUILD=$(COV_BUILD) CFLAGS="$(COV_CFLAGS)" LDFLAGS="$(COV_LDFLAGS)" all \
	    $(UNIT_BIN:$(BUILD)/%=$(COV_BUILD)/%)
	$(CC) -O2 -g -Wall -Wextra -Werror -shared -fPIC -o $(COV_BUILD)/exit_shim.so \
	    tests/coverage/exit_shim.c -ldl
	find $(COV_BUILD) -name '*.gcda' -delete
	rm -rf $(COV_GCDA) && install -d -m 1777 $(COV_GCDA)
	$(MAKE) BUILD=$(COV_BUILD) CFLAGS="$(COV_CFLAGS)" LDFLAGS="$(COV_LDFLAGS)" unit
	@# the report is written even when a test fails; make fails after it
	umask 0 && MOAT_COVERAGE=$(abspath $(COV_BUILD))/exit_shim.so GCOV_PREFIX=$(COV_GCDA) \
	    $(PYTHON) tests/integration/runner.py --build $(COV_BUILD) $(COVERAGE_TESTS); \
	  tests=$$?; $(PYTHON) tests/coverage/report.py --build $(COV_BUILD) --gcda $(COV_GCDA) \
	    --out docs/coverage.md; report=$$?; \
	  [ $$tests = 0 ] || { echo "coverage: integration tests failed"; exit 1; }; exit $$report

# ---------------------------------------------------------------- fuzzing

FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer

# The libraries every harness links, built once per make run (with -j, by
# one recursive make, not one per harness racing on the same files); the
# harnesses are linked again each time, so they never lag behind the code.
fuzzlib:
	$(MAKE) BUILD=$(BUILD)/fuzzlib CC=clang CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
	    $(BUILD)/fuzzlib/lib/libmoat.a

$(BUILD)/fuzz/%: tests/fuzz/%.c fuzzlib
	@mkdir -p $(@D)
	clang $(filter-out -Wno-format-truncation,$(MOAT_CFLAGS)) $(FUZZ_CFLAGS) -o $@ $< \
	    $(BUILD)/fuzzlib/lib/libmoat.a $(PKG_LIBS)

fuzz: deps $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus/$$n; \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) $(BUILD)/fuzz/corpus/$$n tests/fuzz/corpus/$$n 2>&1 | tail -3; done

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=10

# ---------------------------------------------------------------- bench

# The floors under the connection rate (tests/bench/e2e.py's kinds): one
# empty ${dlfunc} object; two sharing a runtime object that weighs nothing
# (the design floor); two linking libmoat.so.0, the way a module's glue does.
BENCH_EMPTY := $(BUILD)/bench/empty_dlfunc.so \
    $(BUILD)/bench/floor_a.so $(BUILD)/bench/floor_b.so \
    $(BUILD)/bench/loaded_a.so $(BUILD)/bench/loaded_b.so
BENCH_SO_LINK = $(CC) $(CPPFLAGS) $(MOAT_CFLAGS) $(CFLAGS) $(LDFLAGS) $(SO_LDFLAGS) \
    -fvisibility=default

bench: deps all $(BENCH_BIN) $(BENCH_EMPTY)
	$(PYTHON) tests/bench/run.py --build $(BUILD)

$(BUILD)/bench/empty_dlfunc.so: tests/bench/empty_dlfunc.c
	@mkdir -p $(@D)
	$(BENCH_SO_LINK) -o $@ $<

$(BUILD)/bench/libempty_runtime.so: tests/bench/empty_runtime.c
	@mkdir -p $(@D)
	$(BENCH_SO_LINK) -Wl,-soname,libempty_runtime.so -o $@ $<

$(BUILD)/bench/floor_%.so: tests/bench/empty_dlfunc.c $(BUILD)/bench/libempty_runtime.so
	$(BENCH_SO_LINK) -Wl,--no-as-needed -o $@ $< -L$(BUILD)/bench -l:libempty_runtime.so \
	    -Wl,-rpath,'$$ORIGIN'

$(BUILD)/bench/loaded_%.so: tests/bench/empty_dlfunc.c $(LIBMOAT_SO)
	$(BENCH_SO_LINK) -Wl,--no-as-needed -o $@ $< -L$(BUILD)/modules -l:$(LIBMOAT_SONAME) \
	    -Wl,-rpath,'$$ORIGIN/../modules'

scenarios: deps all
	$(PYTHON) tests/bench/scenarios.py --build $(BUILD)

# ---------------------------------------------------------------- install

# Exim snippets are not configuration: they go to $(SNIPPETDIR) (MOAT_SNIPPETS'
# default), with one subdirectory per module and debian/ for exim4-config.
SNIPPETDIR ?= $(PREFIX)/share/moat/exim
SNIPPET_SUBDIRS := $(patsubst conf/exim/%/,%,$(sort $(dir $(wildcard conf/exim/*/*.conf))))

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SNIPPETDIR)
	if [ -z "$(DESTDIR)" ]; then install -d $(SYSCONFDIR)/moat; fi
	install -m 0644 $(LIBMOAT_SO) $(SO_FILES) $(DESTDIR)$(LIBDIR)/
	install -d $(DESTDIR)$(LIBDIR)/backends
	install -m 0644 $(BACKEND_SO) $(DESTDIR)$(LIBDIR)/backends/
	install -m 0755 $(BUILD)/moatctl $(DESTDIR)$(SBINDIR)/moatctl
	install -m 0644 conf/exim/*.conf $(DESTDIR)$(SNIPPETDIR)/
	set -e; for d in $(SNIPPET_SUBDIRS); do \
	  install -d $(DESTDIR)$(SNIPPETDIR)/$$d; \
	  install -m 0644 conf/exim/$$d/*.conf $(DESTDIR)$(SNIPPETDIR)/$$d/; done
	install -m 0644 conf/moat.conf $(DESTDIR)$(PREFIX)/share/moat/moat.conf
	@# moat.conf is the admin's: never overwritten. A package (DESTDIR set)
	@# leaves it to its postinst, which copies the example when it is missing.
	if [ -z "$(DESTDIR)" ] && [ ! -e $(SYSCONFDIR)/moat/moat.conf ]; then \
	  install -m 0640 conf/moat.conf $(SYSCONFDIR)/moat/moat.conf; fi
	install -d $(DESTDIR)$(SYSCONFDIR)/fail2ban/filter.d $(DESTDIR)$(PREFIX)/share/moat/fail2ban
	install -m 0644 conf/fail2ban/filter.d/moat.conf $(DESTDIR)$(SYSCONFDIR)/fail2ban/filter.d/moat.conf
	install -m 0644 conf/fail2ban/jail.d/moat.conf $(DESTDIR)$(PREFIX)/share/moat/fail2ban/jail.conf

deb:
	packaging/deb/build.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------- lint

LINT_SRC ?= $(wildcard common/*.c modules/*.c modules/*/*.c tools/moatctl/*.c)

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --std=c11 --inline-suppr --suppress=missingIncludeSystem -Icommon -Imodules \
	    -I/usr/include/exim4 $(LINT_SRC)
	clang-tidy --quiet $(LINT_SRC) -- -std=c11 -D_GNU_SOURCE -Icommon -Imodules \
	    -I/usr/include/exim4 $(PKG_CFLAGS)
