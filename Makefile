# fedge — one Makefile for the server, its tests, fuzzers and benchmarks.
#
#   make            build build/fedge (-Wall -Wextra -Werror)
#   make run        bootstrap packages, build, start the edge on var/ config
#   make test       bootstrap, unit tests (normal + ASan/UBSan), short fuzz, e2e
#   make bench      benchmarks under bench/
#   make fuzz       run every fuzzer for FUZZ_SECONDS each
#   make format     clang-format the tree
#
# Variables: BUILD (output folder), SAN=1 (ASan+UBSan), FUZZ_SECONDS.

CC      ?= cc
BUILD   ?= build
SAN     ?= 0
PKGS    := libuv openssl libcares sqlite3 libmicrohttpd jansson inih
FUZZ_SECONDS ?= 60

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
           -Wno-unused-parameter -Isrc $(PKG_CFLAGS) -MMD -MP
LDLIBS  += $(PKG_LIBS) -lm -lpthread
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC  := $(sort $(shell find src -name '*.c' ! -path src/main.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libfedge.a
BIN      := $(BUILD)/fedge

UNIT_SRC := $(sort $(shell find tests/unit -name 'test_*.c' 2>/dev/null))
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/%)
UNIT_HELPERS := $(sort $(shell find tests/unit -name '*.c' ! -name 'test_*.c' 2>/dev/null))
UNIT_HELPER_OBJ := $(UNIT_HELPERS:%.c=$(BUILD)/%.o)

# Fuzzers build only the pure modules (sip, base) with clang + libFuzzer.
FUZZ_SRC  := $(sort $(shell find tests/fuzz -name 'fuzz_*.c' 2>/dev/null))
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_LIBSRC := $(sort $(wildcard src/base/*.c src/sip/*.c))
FUZZ_FLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -Isrc -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=all

BENCH_SRC := $(sort $(shell find bench -name 'bench_*.c' 2>/dev/null))
BENCH_BIN := $(BENCH_SRC:%.c=$(BUILD)/%)

.PHONY: all run demo test unit unit-san fuzz fuzz-build fuzz-short e2e bench clean format bootstrap
all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

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

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIBSRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) $^ -o $@

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

e2e: $(BIN)
	@scripts/run-e2e $(BUILD)

test: bootstrap
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory unit-san
	@$(MAKE) --no-print-directory fuzz-short
	@$(MAKE) --no-print-directory e2e
	@scripts/summary $(BUILD)

run: bootstrap $(BIN)
	@scripts/run $(BUILD)

demo: bootstrap $(BIN)
	@scripts/demo $(BUILD)

bench: bootstrap $(BIN) $(BENCH_BIN)
	@scripts/run-bench $(BUILD)

format:
	clang-format -i $$(find src tests bench -name '*.[ch]')

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(BUILD)/src/main.d $(UNIT_BIN:=.d)
