# cleanroom: build, test, check, lint, bench, fuzz and demo.
#
# Each source folder becomes one static archive; a folder's unit tests link
# only that folder's archive and the archives it depends on, following the
# dependency direction of docs/architecture.md:
#     common <- crypto <- {audit, consent} <- cleanroom
#
# Variables worth knowing:
#   BUILD=dir   where objects and binaries go (default build/release)
#   SAN=1       AddressSanitizer + UndefinedBehaviorSanitizer build
#   SAN=thread  ThreadSanitizer build (make check-threads)
#   V=1         echo full compiler command lines

BUILD ?= build/release
CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif
# crypto/phonenumber.cc (the C interface to libphonenumber) is C++.
CXX := g++

DEB_PKGS := build-essential pkg-config libsodium-dev libssl-dev libsqlite3-dev \
            libmicrohttpd-dev libjansson-dev libcsv-dev libcurl4-openssl-dev \
            libcmocka-dev sqlite3 time clang libclang-rt-14-dev \
            curl openssl python3 libphonenumber-dev help2man valgrind

WARN := -Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2 \
        -Wstrict-prototypes -Wmissing-prototypes
HARDEN := -fstack-protector-strong -fPIE
ifeq ($(SAN),1)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
       -fno-sanitize-recover=undefined
SANLD := -fsanitize=address,undefined
else ifeq ($(SAN),thread)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
SANLD := -fsanitize=thread
else
OPT := -O2 -g -D_FORTIFY_SOURCE=2
SANLD :=
endif
CPPFLAGS += -I. -D_GNU_SOURCE
CFLAGS += -std=c11 $(WARN) $(HARDEN) $(OPT) -pthread
CXXFLAGS += -std=c++17 -Wall -Wextra -Werror -Wshadow $(HARDEN) $(OPT) -pthread
LDFLAGS += -pie -Wl,-z,relro,-z,now -pthread $(SANLD)
# libphonenumber is C++ and its PhoneNumber is a protobuf message: the
# program links both and the C++ runtime (crypto/phonenumber.cc).
PHONE_LIBS := -lphonenumber -lprotobuf -lstdc++
LDLIBS := -lmicrohttpd -lcurl -ljansson -lcsv -lsqlite3 -lsodium -lssl -lcrypto $(PHONE_LIBS) -lm

MODULES := common crypto audit consent cleanroom
DEPS_common    := common
DEPS_crypto    := crypto common
DEPS_audit     := audit crypto common
DEPS_consent   := consent crypto common
DEPS_cleanroom := cleanroom audit consent crypto common

# Sources of each module (cleanroom/main.c is the program's entry, not in the
# archive); C++ sources (*.cc, only crypto/phonenumber.cc) go in the archive too.
src_of = $(filter-out cleanroom/main.c,$(wildcard $(1)/*.c))
cxx_src_of = $(wildcard $(1)/*.cc)
obj_of = $(patsubst %.c,$(BUILD)/obj/%.o,$(call src_of,$(1))) \
         $(patsubst %.cc,$(BUILD)/obj/%.o,$(call cxx_src_of,$(1)))
lib_of = $(BUILD)/lib/libcr_$(1).a
libs_for = $(foreach m,$(DEPS_$(1)),$(call lib_of,$(m)))

PROGRAM := $(BUILD)/cleanroom

UNIT_SRCS := $(wildcard tests/unit/*/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/tests/bench/%,$(BENCH_SRCS))

Q := @
ifeq ($(V),1)
Q :=
endif

.PHONY: all deps test unit e2e check check-threads lint bench bench-ingest fuzz fuzz-smoke soak load demo clean mutate ct
.PHONY: dist install uninstall service-check

all: deps $(PROGRAM) dist

# Installs the Debian packages the build needs; skips what is present.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BUILD)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.cc | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $<")
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) -MMD -MP -c $< -o $@

define module_lib
$(call lib_of,$(1)): $(call obj_of,$(1))
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	$(Q)ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_lib,$(m))))

$(PROGRAM): $(BUILD)/obj/cleanroom/main.o $(call libs_for,cleanroom)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A unit test in tests/unit/<module>/ links that module's archives; it is
# rebuilt when a fixture header of its folder (match_fixture.h, ...) changes.
define unit_rule
$(BUILD)/tests/unit/$(1)/%: tests/unit/$(1)/%.c tests/unit/test_util.h $(wildcard tests/unit/$(1)/*.h) $(call libs_for,$(1))
	@mkdir -p $$(dir $$@)
	@$(if $(Q),echo "  TEST-LD $$@")
	$(Q)$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $$@ $$< $(call libs_for,$(1)) -lcmocka $(LDLIBS)
endef
$(foreach m,$(MODULES),$(eval $(call unit_rule,$(m))))

# A folder's benchmark links only that folder's archives (bench_<folder>.c).
$(BUILD)/tests/bench/bench_crypto: tests/bench/bench_crypto.c $(call libs_for,crypto)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< $(call libs_for,crypto) $(LDLIBS)
$(BUILD)/tests/bench/bench_audit: tests/bench/bench_audit.c $(call libs_for,audit)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< $(call libs_for,audit) $(LDLIBS)
$(BUILD)/tests/bench/bench_consent: tests/bench/bench_consent.c $(call libs_for,consent)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< $(call libs_for,consent) $(LDLIBS)
$(BUILD)/tests/bench/%: tests/bench/%.c $(call libs_for,cleanroom)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< $(call libs_for,cleanroom) $(LDLIBS)

unit: deps $(UNIT_BINS)
	@VECTORS_DIR=$(CURDIR)/tests/vectors BUILD=$(BUILD) tests/run-unit.sh $(UNIT_BINS)

# E2E=test_match.sh runs one script (or several, space-separated) only.
e2e: deps $(PROGRAM)
	@VECTORS_DIR=$(CURDIR)/tests/vectors CLEANROOM=$(CURDIR)/$(PROGRAM) tests/run-e2e.sh $(E2E)

# One folder's unit tests only: make unit-crypto, make unit-audit, ...
unit-%: deps
	@$(MAKE) --no-print-directory $(filter $(BUILD)/tests/unit/$*/%,$(UNIT_BINS))
	@VECTORS_DIR=$(CURDIR)/tests/vectors BUILD=$(BUILD) tests/run-unit.sh $(filter $(BUILD)/tests/unit/$*/%,$(UNIT_BINS))

# The whole suite: unit tests, then end-to-end tests against the real binary,
# then the systemd unit's checks (with its security score) where systemd-analyze exists.
test: lint unit e2e fuzz-smoke service-check

# The constant-time check of suite x25519-ell2-sha512's checked
# multiplication (tests/ct/ct_x25519.c, the ctgrind technique): the secret
# scalar is undefined for valgrind's memcheck, and a branch or an address
# that depends on it fails the run. Built without sanitizers and with
# -DCR_CT_VALGRIND (the identity flag is declared public). Only the portable
# code: valgrind does not emulate AVX-512 (its CPUID hides it, and the IFMA
# instructions stop it), hence CLEANROOM_CRYPTO=portable.
CT_SRCS := crypto/x25519.c crypto/x25519_ifma.c crypto/x25519_batch.c crypto/x25519_h2c.c \
           crypto/x25519_h2c_ifma.c
# The archives after the sources supply only what those leave undefined
# (the hash's type names and cr_die), never a second copy of the x25519 code.
$(BUILD)/tests/ct/ct_x25519: tests/ct/ct_x25519.c $(CT_SRCS) crypto/crypto_internal.h crypto/x25519_fe8.h \
                             $(call libs_for,crypto) | deps
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) -DCR_CT_VALGRIND -std=c11 $(WARN) -Wno-missing-prototypes -O2 -g -pthread \
	  -o $@ $< $(CT_SRCS) $(call libs_for,crypto) $(LDLIBS)
ct: deps $(BUILD)/tests/ct/ct_x25519
	@CLEANROOM_CRYPTO=portable valgrind -q --error-exitcode=1 --track-origins=yes \
	  $(BUILD)/tests/ct/ct_x25519

# The whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer,
# after the constant-time check.
check: deps ct
	$(MAKE) BUILD=build/san SAN=1 unit e2e

# The service's threaded code (server, commit groups, match pool) under
# ThreadSanitizer: the cleanroom/ unit tests, which run real servers.
check-threads: deps
	$(MAKE) BUILD=build/tsan SAN=thread unit-cleanroom

# Refuses the functions docs/style.md bans and references outside the repository.
lint:
	@tests/lint.sh

# Every tests/bench/bench_<name>.c is `make bench-<name>`; `make bench` runs them all.
BENCH_NAMES := $(patsubst tests/bench/bench_%.c,%,$(BENCH_SRCS))
bench: $(addprefix bench-,$(BENCH_NAMES))

# The ingest's figures come from the onboarding run (its consent import is the ingest's setup).
bench-ingest: bench-onboard

bench-%: deps $(BUILD)/tests/bench/bench_% $(PROGRAM)
	@echo "== bench-$* on $$(nproc) cores =="
	@CLEANROOM=$(CURDIR)/$(PROGRAM) /usr/bin/time -f "bench-$*: whole process %e s wall, peak RSS %M KiB" \
	  $(BUILD)/tests/bench/bench_$*

# libFuzzer targets, one per parser: tests/fuzz/fuzz_<name>.c with its corpus
# in tests/fuzz/corpus/<name>/. `make fuzz` runs each for FUZZ_SECONDS;
# `make test` only replays the corpus (fuzz-smoke) so every target still builds.
FUZZ_SECONDS ?= 60
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_BINS := $(addprefix build/fuzz/fuzz_,$(FUZZ_NAMES))
FUZZ_LIB_SRCS = $(foreach m,$(MODULES),$(call src_of,$(m)))

# The C++ sources (crypto/phonenumber.cc) are compiled apart with clang++:
# instrumented for ASan and UBSan, but not UBSan's vptr check, whose runtime
# part a C link does not bring in.
FUZZ_CXX_OBJS := $(patsubst %.cc,build/fuzz/obj/%.o,$(foreach m,$(MODULES),$(call cxx_src_of,$(m))))
.SECONDARY: $(FUZZ_CXX_OBJS)
build/fuzz/obj/%.o: %.cc $(wildcard */*.h) | deps
	@mkdir -p $(dir $@)
	$(Q)clang++ -std=c++17 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
	  -fno-sanitize=vptr -c $< -o $@

# The C sources are compiled once, instrumented, and every target links
# them: eighteen targets recompiling every module would take minutes each.
FUZZ_C_OBJS = $(patsubst %.c,build/fuzz/obj/%.o,$(FUZZ_LIB_SRCS))
.SECONDARY: $(FUZZ_C_OBJS)
build/fuzz/obj/%.o: %.c $(wildcard */*.h common/errors/*.def) | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ-CC $<")
	$(Q)clang -std=c11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
	  -c $< -o $@

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_C_OBJS) $(FUZZ_CXX_OBJS) $(wildcard */*.h tests/fuzz/*.h common/errors/*.def)
	@mkdir -p $(dir $@)
	@echo "  FUZZ-LD $@"
	$(Q)clang -std=c11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined \
	  -o $@ $< $(FUZZ_C_OBJS) $(FUZZ_CXX_OBJS) $(LDLIBS) -pthread

# A target whose input is structured has a dictionary, tests/fuzz/<name>.dict.
fuzz_dict = $(if $(wildcard tests/fuzz/$(1).dict),-dict=tests/fuzz/$(1).dict)

fuzz: deps $(FUZZ_BINS)
	@set -e; $(foreach n,$(FUZZ_NAMES), \
	  mkdir -p tests/fuzz/corpus/$(n); \
	  echo "== fuzz $(n) for $(FUZZ_SECONDS) s"; \
	  build/fuzz/fuzz_$(n) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    $(call fuzz_dict,$(n)) tests/fuzz/corpus/$(n);)

fuzz-smoke: deps $(FUZZ_BINS)
	@$(foreach n,$(FUZZ_NAMES), \
	  mkdir -p tests/fuzz/corpus/$(n); \
	  build/fuzz/fuzz_$(n) -runs=0 $(call fuzz_dict,$(n)) tests/fuzz/corpus/$(n) >/dev/null 2>&1 \
	    || { echo "fuzz-smoke: $(n) failed on its corpus"; exit 1; };) \
	echo "fuzz-smoke: $(words $(FUZZ_NAMES)) targets replayed their corpus"

# Long runs that do not belong in `make test`: the audit log's SIGKILL crash
# test with SOAK_KILLS kills (default 1000; `make test` does 50), and the
# consent rules against their model on SOAK_HISTORIES random histories
# (default 1,000,000; `make test` does 100,000), and the x25519 IFMA code
# against the portable code on SOAK_X25519 random pairs (default 10^7, about
# 13 minutes on one core; `make test` does 10^5).
SOAK_KILLS ?= 1000
SOAK_X25519 ?= 10000000
SOAK_HISTORIES ?= 1000000
soak: deps $(BUILD)/tests/unit/audit/test_log $(BUILD)/tests/unit/consent/test_model \
      $(BUILD)/tests/unit/crypto/test_x25519_ifma
	@echo "== soak: audit crash test, $(SOAK_KILLS) kills"
	@CMOCKA_TEST_ABORT=1 AUDIT_CRASH_ITERS=$(SOAK_KILLS) VECTORS_DIR=$(CURDIR)/tests/vectors \
	  $(BUILD)/tests/unit/audit/test_log
	@echo "== soak: consent rules against their model, $(SOAK_HISTORIES) random histories"
	@MODEL_HISTORIES=$(SOAK_HISTORIES) $(BUILD)/tests/unit/consent/test_model
	@echo "== soak: x25519 IFMA against the portable code, $(SOAK_X25519) random pairs"
	@X25519_CROSS_CHECKS=$(SOAK_X25519) VECTORS_DIR=$(CURDIR)/tests/vectors \
	  $(BUILD)/tests/unit/crypto/test_x25519_ifma

# Mutation testing (tests/mutate.py): every mutant of tests/mutants.ini,
# applied one at a time to a scratch copy of the tree (build/mutate/tree),
# must make `make unit e2e` (or the browser tests it names) fail.
# MUTANTS=id,id runs only those. The report goes to build/mutate/report.txt.
mutate: deps
	@python3 tests/mutate.py $(if $(MUTANTS),--only $(MUTANTS))

# HTTP load (tests/load/run.sh): wrk against a fresh server on loopback,
# LOAD_SECONDS per phase (default 20). Installs wrk if it is missing.
LOAD_SECONDS ?= 20
load: all
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
	@CLEANROOM=$(CURDIR)/$(PROGRAM) LOAD_SECONDS=$(LOAD_SECONDS) tests/load/run.sh

# The main job end to end on the embedded store, in ./demo-data.
demo: all
	@CLEANROOM=$(CURDIR)/$(PROGRAM) scripts/demo.sh

clean:
	rm -rf build

# Install (docs/operations.md): the program, its man pages, the systemd unit
# with its sysusers.d user, and the bash completion, under
# $(DESTDIR)$(PREFIX). The man pages (scripts/manpages.sh, help2man) and the
# completion (scripts/completion.sh) are generated from the built program's
# own --help, so they never drift from it; the unit names $(BINDIR).
VERSION := $(shell sed -n 's/^\#define CLEANROOM_VERSION "\(.*\)"/\1/p' cleanroom/main.c)
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
DIST := $(BUILD)/dist
MAN_STAMP := $(DIST)/man/.stamp

dist: $(MAN_STAMP) $(DIST)/cleanroom.bash $(DIST)/cleanroom.service $(DIST)/cleanroom-witness.service

$(MAN_STAMP): $(PROGRAM) scripts/manpages.sh | deps
	@$(if $(Q),echo "  MAN     $(DIST)/man")
	$(Q)rm -rf $(DIST)/man && scripts/manpages.sh $(abspath $(PROGRAM)) $(DIST)/man $(VERSION) && touch $@
$(DIST)/cleanroom.bash: $(PROGRAM) scripts/completion.sh
	@mkdir -p $(dir $@)
	$(Q)scripts/completion.sh $(PROGRAM) > $@.tmp && mv $@.tmp $@
# Rebuilt every time: BINDIR may differ from the last run.
$(DIST)/%.service: dist/systemd/%.service.in FORCE
	@mkdir -p $(dir $@)
	$(Q)sed 's|@BINDIR@|$(BINDIR)|g' $< > $@.tmp && mv $@.tmp $@
FORCE:

install: $(PROGRAM) dist
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(COMPLETIONDIR)
	install -m 0755 $(PROGRAM) $(DESTDIR)$(BINDIR)/cleanroom
	install -m 0644 $(DIST)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(DIST)/cleanroom.service $(DESTDIR)$(UNITDIR)/cleanroom.service
	install -m 0644 $(DIST)/cleanroom-witness.service $(DESTDIR)$(UNITDIR)/cleanroom-witness.service
	install -m 0644 dist/systemd/cleanroom.sysusers $(DESTDIR)$(SYSUSERSDIR)/cleanroom.conf
	install -m 0644 $(DIST)/cleanroom.bash $(DESTDIR)$(COMPLETIONDIR)/cleanroom

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cleanroom $(DESTDIR)$(MANDIR)/man1/cleanroom.1 \
	  $(DESTDIR)$(MANDIR)/man1/cleanroom-*.1 $(DESTDIR)$(UNITDIR)/cleanroom.service \
	  $(DESTDIR)$(UNITDIR)/cleanroom-witness.service \
	  $(DESTDIR)$(SYSUSERSDIR)/cleanroom.conf $(DESTDIR)$(COMPLETIONDIR)/cleanroom

# The unit's checks: `systemd-analyze verify` and the security exposure
# score (at most 2.0), printed; skipped, saying so, without systemd-analyze.
service-check: $(PROGRAM) dist
	@tests/service-check.sh dist/systemd/cleanroom.service.in $(abspath $(PROGRAM)) $(abspath $(DIST)/man)
	@tests/service-check.sh dist/systemd/cleanroom-witness.service.in $(abspath $(PROGRAM)) $(abspath $(DIST)/man)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# The browser copy of phone normalization (web/ident.js) reads the metadata
# of the libphonenumber the program links: scripts/phonemeta.cc prints it
# from the installed library into $(BUILD)/gen/phonemeta.js, embedded and
# served as /static/phonemeta.js, and rebuilt when the library changes. It
# also prints the library's example numbers, the seed of the cross-check
# corpus (tests/browser/phone-xcheck.test.js).
PHONE_LIB_FILES := $(wildcard /usr/lib/*/libphonenumber.so.8.* /usr/lib/libphonenumber.so.8.*)
PHONEMETA := $(BUILD)/tools/phonemeta
PHONE_JS := $(BUILD)/gen/phonemeta.js
PHONE_EXAMPLES := $(BUILD)/gen/phone-examples.tsv
$(PHONEMETA): scripts/phonemeta.cc $(PHONE_LIB_FILES) | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX-LD  $@")
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(LDFLAGS) -o $@ $< -lphonenumber -lprotobuf
$(PHONE_JS): $(PHONEMETA)
	@mkdir -p $(dir $@)
	$(Q)$(PHONEMETA) js "$$(dpkg-query -W -f='$${Version}' libphonenumber8)" > $@.tmp && mv $@.tmp $@
$(PHONE_EXAMPLES): $(PHONEMETA)
	@mkdir -p $(dir $@)
	$(Q)$(PHONEMETA) examples > $@.tmp && mv $@.tmp $@

# The C Merkle verifier's verdicts on fuzz_merkle's corpus, for the cross-check
# with web/tlog.js (tests/browser/merkle-xcheck.test.js).
$(BUILD)/tests/tools/merkle_case: tests/tools/merkle_case.c tests/fuzz/merkle_case.h $(call libs_for,audit)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(call libs_for,audit) $(LDLIBS)

# The service's normalization as a filter, for the cross-check.
$(BUILD)/tests/tools/%: tests/tools/%.c $(call libs_for,crypto)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(call libs_for,crypto) $(LDLIBS)

# Web pages: web/ is embedded into the binary at build time (one generated C
# file in the cleanroom archive), so the single binary serves its pages
# wherever it runs. The fuzz targets compile every module source directly,
# so they get the generated file too.
WEB_FILES := $(sort $(wildcard web/*))
WEB_GEN := $(BUILD)/gen/web_assets.c
$(WEB_GEN): $(WEB_FILES) $(PHONE_JS) scripts/embed-web.sh
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  EMBED   $@")
	$(Q)scripts/embed-web.sh $(WEB_FILES) $(PHONE_JS) > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/gen/web_assets.o: $(WEB_GEN) cleanroom/web_assets.h | deps
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@
$(call lib_of,cleanroom): $(BUILD)/obj/gen/web_assets.o
FUZZ_LIB_SRCS += $(WEB_GEN)
$(FUZZ_BINS): build/fuzz/obj/$(WEB_GEN:.c=.o)

# Real-browser tests of the web pages (tests/browser/): headless Debian
# chromium driven by playwright-core under node's test runner; and, under
# node alone, the page's phone normalization against the service's
# (phone-xcheck.test.js, with the example numbers and the filter above). setup.sh
# installs chromium, nodejs, npm and the pinned playwright-core if missing.
# Screenshots and the downloaded receipt go to build/browser-artifacts/.
.PHONY: test-browser
.PHONY: browser-deps
browser-deps: $(PROGRAM) $(PHONE_EXAMPLES) $(BUILD)/tests/tools/ident_normalize $(BUILD)/tests/tools/merkle_case
test-browser: deps browser-deps
	@tests/browser/setup.sh
	@rm -rf build/browser-artifacts
	@cd tests/browser && CLEANROOM=$(CURDIR)/$(PROGRAM) VECTORS_DIR=$(CURDIR)/tests/vectors \
	  PHONE_META=$(CURDIR)/$(PHONE_JS) PHONE_EXAMPLES=$(CURDIR)/$(PHONE_EXAMPLES) \
	  IDENT_NORMALIZE=$(CURDIR)/$(BUILD)/tests/tools/ident_normalize \
	  MERKLE_CASE=$(CURDIR)/$(BUILD)/tests/tools/merkle_case \
	  BROWSER_ARTIFACTS=$(CURDIR)/build/browser-artifacts \
	  node --test --test-concurrency=1 --test-reporter=spec .
