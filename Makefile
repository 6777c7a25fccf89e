# fedge — one Makefile for the server, its tests, fuzzers and benchmarks.
#
#   make            build build/fedge (-Wall -Wextra -Werror)
#   make run        bootstrap packages, build, start the edge on var/ config
#   make test       bootstrap, unit tests (normal + ASan/UBSan), short fuzz, e2e
#   make bench      benchmarks under bench/
#   make fuzz       run every fuzzer for FUZZ_SECONDS each
#   make format     clang-format the tree
#   make format-check  fail when a file under src tests bench is not formatted
#   make check-rooms   fail when a room includes one it may not use (docs/architecture.md)
#
# Variables: BUILD (output folder), SAN=1 (ASan+UBSan), FUZZ_SECONDS.

CC      ?= cc
BUILD   ?= build
SAN     ?= 0
PKGS    := libuv openssl libcares sqlite3 libpq libmicrohttpd jansson inih expat
FUZZ_SECONDS ?= 60

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# Generated code lives in $(GEN), never in git: scripts/ turn one source of
# truth under src/ into C. Every object waits for the generated headers
# (order-only on the first build; -MMD tracks them from then on).
GEN      := $(BUILD)/gen
GEN_HDR  := $(GEN)/sip/sip_hdrs.h $(GEN)/sip/sip_hdrs_table.h
GEN_SRC  := $(GEN)/admin/www_assets.c
WWW_IN   := $(sort $(shell find src/admin/www 2>/dev/null))

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
           -Wno-unused-parameter -Isrc -I$(GEN) $(PKG_CFLAGS) -MMD -MP
LDLIBS  += $(PKG_LIBS) -lm -lpthread
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC  := $(sort $(shell find src -name '*.c' ! -path src/main.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(GEN_SRC:%.c=%.o)
LIB      := $(BUILD)/libfedge.a
BIN      := $(BUILD)/fedge

UNIT_SRC := $(sort $(shell find tests/unit -name 'test_*.c' 2>/dev/null))
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/%)
UNIT_HELPERS := $(sort $(shell find tests/unit -name '*.c' ! -name 'test_*.c' 2>/dev/null))
UNIT_HELPER_OBJ := $(UNIT_HELPERS:%.c=$(BUILD)/%.o)

# Fuzzers (clang + libFuzzer). Every harness links $(FUZZ_CORE), the pure
# rooms (base, sip) compiled with coverage instrumentation and sanitizers.
# A harness that needs more rooms names them in its own file, on a line
#     fuzz-rooms: dns config
# and gets one instrumented archive per room (src/<room>/*.c plus that room's
# generated sources); only the objects it references are linked, so a room's
# I/O half costs nothing to a harness that uses its pure half.
FUZZ_SRC  := $(sort $(shell find tests/fuzz -name 'fuzz_*.c' 2>/dev/null))
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OBJ  := $(BUILD)/fuzz/obj
FUZZ_CORE := $(BUILD)/fuzz/libfedge-core.a
FUZZ_CORE_ROOMS := base sip
FUZZ_FLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -Isrc -I$(GEN) $(PKG_CFLAGS) \
              -fsanitize=address,undefined -fno-sanitize-recover=all -MMD -MP
fuzz_rooms  = $(shell sed -n 's/.*fuzz-rooms:\([a-z_ ]*\).*/\1/p' tests/fuzz/$(1).c)
room_gen    = $(filter $(GEN)/$(1)/%,$(GEN_SRC))
room_objs   = $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(wildcard src/$(1)/*.c)) \
              $(patsubst $(GEN)/%.c,$(FUZZ_OBJ)/gen/%.o,$(call room_gen,$(1)))
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/%.c=%)
$(foreach h,$(FUZZ_NAMES),$(eval FUZZ_ROOMS_$(h) := $(call fuzz_rooms,$(h))))
FUZZ_ROOMS := $(filter-out $(FUZZ_CORE_ROOMS),$(sort $(foreach h,$(FUZZ_NAMES),$(FUZZ_ROOMS_$(h)))))

BENCH_SRC := $(sort $(shell find bench -name 'bench_*.c' 2>/dev/null))
BENCH_BIN := $(BENCH_SRC:%.c=$(BUILD)/%)
# Load tools the benchmark scripts run (not benchmarks themselves).
BENCH_TOOLS := $(BUILD)/bench/rtpload $(BUILD)/bench/tlsrelay

.PHONY: all run demo test unit unit-san fuzz fuzz-build fuzz-short e2e bench clean format format-check check-rooms bootstrap
all: $(BIN)

$(BUILD)/%.o: %.c | $(GEN_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(GEN)/%.o: $(GEN)/%.c | $(GEN_HDR)
	$(CC) $(CFLAGS) -c $< -o $@

# SIP header ids, names, compact forms and the name lookup from one list.
$(GEN)/sip/sip_hdrs.h: src/sip/headers.txt scripts/gen-sip-headers
	@mkdir -p $(dir $@)
	scripts/gen-sip-headers enum $< $@

$(GEN)/sip/sip_hdrs_table.h: src/sip/headers.txt scripts/gen-sip-headers
	@mkdir -p $(dir $@)
	scripts/gen-sip-headers table $< $@

# The admin panel's files as C arrays; the folders are prerequisites too, so
# that adding or removing a file regenerates it.
$(GEN)/admin/www_assets.c: scripts/embed-www $(WWW_IN)
	@mkdir -p $(dir $@)
	scripts/embed-www src/admin/www $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/src/main.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB) $(UNIT_HELPER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $< $(UNIT_HELPER_OBJ) $(LIB) $(LDFLAGS) $(LDLIBS) -lcmocka -o $@

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ibench $< $(LIB) $(LDFLAGS) $(LDLIBS) $(shell pkg-config --libs libosip2 2>/dev/null || echo -losipparser2 -losip2) -o $@

# Helpers of the end-to-end tests (not part of fedge): srtp_tool checks
# SRTP with libsrtp (libsrtp2-dev, installed by scripts/bootstrap).
E2E_TOOLS := $(BUILD)/tests/tools/srtp_tool
$(BUILD)/tests/tools/srtp_tool: tests/tools/srtp_tool.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(LDFLAGS) -lsrtp2 -lcrypto -o $@

$(FUZZ_OBJ)/%.o: %.c | $(GEN_HDR)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OBJ)/gen/%.o: $(GEN)/%.c | $(GEN_HDR)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_CORE): $(foreach r,$(FUZZ_CORE_ROOMS),$(call room_objs,$(r)))
	@rm -f $@
	ar rcs $@ $^

define fuzz_room_rule
$(BUILD)/fuzz/libroom-$(1).a: $(call room_objs,$(1))
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach r,$(FUZZ_ROOMS),$(eval $(call fuzz_room_rule,$(r))))

# The group lets rooms reference each other in any order.
define fuzz_harness_rule
$(BUILD)/fuzz/$(1): tests/fuzz/$(1).c $(foreach r,$(filter-out $(FUZZ_CORE_ROOMS),$(FUZZ_ROOMS_$(1))),$(BUILD)/fuzz/libroom-$(r).a) $(FUZZ_CORE) | $(GEN_HDR)
	@mkdir -p $$(dir $$@)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer $$< -Wl,--start-group $$(filter %.a,$$^) -Wl,--end-group $(PKG_LIBS) -lm -lpthread -o $$@
endef
$(foreach h,$(FUZZ_NAMES),$(eval $(call fuzz_harness_rule,$(h))))

bootstrap:
	@scripts/bootstrap

unit: $(BIN) $(UNIT_BIN)
	@scripts/run-unit $(BUILD)

unit-san:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/san SAN=1 unit

fuzz-build: $(FUZZ_BIN)

fuzz: bootstrap fuzz-build
	@scripts/run-fuzz $(BUILD) $(FUZZ_SECONDS) each

# About 60 s of fuzzing in all, shared between the harnesses.
fuzz-short: fuzz-build
	@scripts/run-fuzz $(BUILD) 60 total

e2e: $(BIN) $(E2E_TOOLS)
	@scripts/run-e2e $(BUILD)

test: bootstrap
	@scripts/check-rooms
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory unit-san
	@$(MAKE) --no-print-directory fuzz-short
	@$(MAKE) --no-print-directory e2e
	@scripts/summary $(BUILD)

run: bootstrap $(BIN)
	@scripts/run $(BUILD)

demo: bootstrap $(BIN)
	@scripts/demo $(BUILD)

bench: bootstrap $(BIN) $(BENCH_BIN) $(BENCH_TOOLS)
	@scripts/run-bench $(BUILD)

# Generated C lives under $(BUILD), so the tree holds only hand-written files.
FORMAT_FILES = $(shell find src tests bench -name '*.[ch]' | sort)

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run -Werror $(FORMAT_FILES) && echo "format-check: $(words $(FORMAT_FILES)) files clean"

check-rooms:
	@scripts/check-rooms

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(BUILD)/src/main.d $(UNIT_BIN:=.d) $(UNIT_HELPER_OBJ:.o=.d) \
         $(BENCH_BIN:=.d) $(BENCH_TOOLS:=.d) $(FUZZ_BIN:=.d) $(wildcard $(FUZZ_OBJ)/*/*/*.d)

# ---- install and Debian package ------------------------------------------
#   make install   binary, man pages fedge(8) and fedge.ini(5), the example
#                  configuration and the systemd unit under DESTDIR+PREFIX
#                  (PREFIX=/usr/local, SYSCONFDIR=PREFIX/etc,
#                  SYSTEMDUNITDIR=PREFIX/lib/systemd/system)
#   make man       the man pages in BUILD/man, from docs/cli.md and
#                  docs/configuration.md (scripts/md2man): one source
#   make deb       fedge_VERSION_ARCH.deb here, built by dpkg-buildpackage
#                  (debian/) from a copy of the sources in BUILD/deb
VERSION        := $(shell sed -n 's/^\#define FEDGE_VERSION "\(.*\)"/\1/p' src/version.h)
PREFIX         ?= /usr/local
BINDIR         ?= $(PREFIX)/bin
MANDIR         ?= $(PREFIX)/share/man
SYSCONFDIR     ?= $(PREFIX)/etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
MAN_PAGES      := $(BUILD)/man/fedge.8 $(BUILD)/man/fedge.ini.5

.PHONY: man install deb
man: $(MAN_PAGES)

$(BUILD)/man/fedge.8: docs/cli.md scripts/md2man src/version.h
	@mkdir -p $(dir $@)
	scripts/md2man --name fedge --section 8 --version $(VERSION) \
	    --summary "federation edge server for SIP" $< > $@.tmp && mv $@.tmp $@

$(BUILD)/man/fedge.ini.5: docs/configuration.md scripts/md2man src/version.h
	@mkdir -p $(dir $@)
	scripts/md2man --name fedge.ini --section 5 --version $(VERSION) \
	    --summary "configuration file of the fedge SIP federation edge" $< > $@.tmp && mv $@.tmp $@

$(BUILD)/fedge.service: dist/fedge.service.in
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< > $@

# The unit depends on the install paths: rebuilt on every install.
install: $(BIN) $(MAN_PAGES)
	@rm -f $(BUILD)/fedge.service && $(MAKE) --no-print-directory $(BUILD)/fedge.service
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(SYSCONFDIR)/fedge $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/fedge
	install -m 0644 $(BUILD)/man/fedge.8 $(DESTDIR)$(MANDIR)/man8/fedge.8
	install -m 0644 $(BUILD)/man/fedge.ini.5 $(DESTDIR)$(MANDIR)/man5/fedge.ini.5
	install -m 0644 $(BUILD)/fedge.service $(DESTDIR)$(SYSTEMDUNITDIR)/fedge.service
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/fedge/fedge.ini ]; then \
	    echo "keeping $(DESTDIR)$(SYSCONFDIR)/fedge/fedge.ini"; \
	else \
	    echo "install -m 0640 docs/fedge.example.ini $(DESTDIR)$(SYSCONFDIR)/fedge/fedge.ini"; \
	    install -m 0640 docs/fedge.example.ini $(DESTDIR)$(SYSCONFDIR)/fedge/fedge.ini; \
	fi

# dpkg-buildpackage works in a copy of the tracked (and new, not ignored)
# files, so that the work tree and its build/ stay as they are; without
# this make's variables (BUILD=... would send its `make clean` here).
DEB_ARCH = $(shell dpkg --print-architecture 2>/dev/null)
DEB_FILE = fedge_$(VERSION)_$(DEB_ARCH).deb
deb:
	@v=$$(dpkg-parsechangelog -l debian/changelog -S Version) && \
	    case $$v in $(VERSION)) ;; *) echo "debian/changelog is at $$v but src/version.h says $(VERSION)" >&2; exit 1 ;; esac
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/fedge-$(VERSION)
	git ls-files -z --cached --others --exclude-standard | \
	    grep -z -v '^fedge_.*\.deb$$' | \
	    tar --null -T - -cf - | tar -xf - -C $(BUILD)/deb/fedge-$(VERSION)
	cd $(BUILD)/deb/fedge-$(VERSION) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD \
	    -u SAN -u PREFIX -u DESTDIR -u BINDIR -u MANDIR -u SYSCONFDIR -u SYSTEMDUNITDIR \
	    dpkg-buildpackage -b -us -uc
	cp $(BUILD)/deb/$(DEB_FILE) .
	@echo "built $(DEB_FILE) (log and other files in $(BUILD)/deb)"
