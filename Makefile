# Weir - build, test, run.  See README.md.
#   make deps        install every Debian package the build, tools and tests need
#   make             bin/weir-broker bin/weir-controller bin/weir
#   make test        unit + integration tests + a short fault run + fuzz smoke run (TESTS=0007 picks scenarios)
#   make SANITIZE=address test
#   make fuzz        longer libFuzzer runs
#   make bench       the PERFORMANCE.md rows
#   make run         a local cluster with a demo topic

CC ?= gcc
SANITIZE ?=
OPT ?= -O2
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -DTHREADED -g $(OPT) -Wall -Wextra -pthread -I. -Icommon -Ibroker -I/usr/include/zookeeper
LIBS := -lzookeeper_mt -levent -levent_pthreads -ljansson -lsnappy -llz4 -lzstd -lz -lpthread -lm

ifeq ($(SANITIZE),)
BUILD := build
SANFLAGS :=
else
BUILD := build-$(SANITIZE)
SANFLAGS := -fsanitize=$(SANITIZE),undefined -fno-omit-frame-pointer
endif
CFLAGS := $(CFLAGS_BASE) $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(SANFLAGS)

COMMON_SRC := $(wildcard common/*.c)
BROKER_SRC := $(filter-out broker/main.c,$(wildcard broker/*.c broker/*/*.c))
CONTROLLER_SRC := $(filter-out controller/main.c,$(wildcard controller/*.c))
TOOLS_SRC := $(wildcard tools/*.c)
UNIT_SRC := $(wildcard test/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
COMMON_OBJ := $(call obj,$(COMMON_SRC))
BROKER_OBJ := $(call obj,$(BROKER_SRC))
CONTROLLER_OBJ := $(call obj,$(CONTROLLER_SRC))
UNIT_BIN := $(patsubst test/unit/%.c,$(BUILD)/test/%,$(UNIT_SRC))

BINDIR := bin
ifneq ($(SANITIZE),)
BINDIR := $(BUILD)/bin
endif

.PHONY: all deps test test-unit test-integration test-fault test-fault-short fuzz fuzz-smoke bench run clean format

all: $(BINDIR)/weir-broker $(BINDIR)/weir-controller $(BINDIR)/weir

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libcommon.a: $(COMMON_OBJ)
	@rm -f $@; ar rcs $@ $^
$(BUILD)/libbroker.a: $(BROKER_OBJ)
	@rm -f $@; ar rcs $@ $^
$(BUILD)/libcontroller.a: $(CONTROLLER_OBJ)
	@rm -f $@; ar rcs $@ $^

$(BINDIR)/weir-broker: $(BUILD)/broker/main.o $(BUILD)/libbroker.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BINDIR)/weir-controller: $(BUILD)/controller/main.o $(BUILD)/libcontroller.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BINDIR)/weir: $(call obj,$(TOOLS_SRC)) $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lrdkafka $(LIBS)

$(BUILD)/test/%: test/unit/%.c $(BUILD)/libbroker.a $(BUILD)/libcontroller.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -lcmocka $(LIBS)

deps:
	@sh scripts/deps.sh

# One stage after another even under make -j: the integration and fault runs
# time failovers on loopback and must not share the cores with a compiler or
# with each other (each stage may still build in parallel).
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-integration
	@$(MAKE) --no-print-directory test-fault-short
	@$(MAKE) --no-print-directory fuzz-smoke

test-unit: $(UNIT_BIN)
	@sh test/run-unit.sh $(UNIT_BIN)

test-integration: all
	@WEIR_BIN=$(abspath $(BINDIR)) /usr/bin/python3 -m pytest -q -x test/integration $(if $(TESTS),-k "$(TESTS)")

# The short fault run: the scenarios whose figures are stable on a 2-core
# machine; test-fault runs all of them, longer.
FAULT_SHORT := selftest or 00_baseline or 01_leader or 02_follower or 04_leader or 06_network or 07_rolling or 08_kip101 or 10_unclean
test-fault-short: all
	@WEIR_BIN=$(abspath $(BINDIR)) /usr/bin/python3 -m pytest -q test/fault -k "$(FAULT_SHORT)"

test-fault: all
	@WEIR_BIN=$(abspath $(BINDIR)) WEIR_FAULT_LONG=1 /usr/bin/python3 -m pytest -q test/fault

FUZZ_SRC := $(wildcard test/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst test/fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))
FUZZ_LIB_SRC := $(COMMON_SRC) $(BROKER_SRC)
build-fuzz/%: test/fuzz/%.c $(FUZZ_LIB_SRC)
	@mkdir -p build-fuzz
	clang -std=c11 -D_GNU_SOURCE -DTHREADED -g -O1 -I. -Icommon -Ibroker -I/usr/include/zookeeper -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_LIB_SRC) $(LIBS)

fuzz-smoke: $(FUZZ_BIN)
	@sh test/fuzz/run.sh smoke $(FUZZ_BIN)
fuzz: $(FUZZ_BIN)
	@sh test/fuzz/run.sh long $(FUZZ_BIN)

bench: deps all
	@sh test/bench/bench.sh

run: deps all
	@sh scripts/run-demo.sh

clean:
	rm -rf build build-* bin

format:
	clang-format -i $(COMMON_SRC) $(wildcard broker/*.c broker/*/*.c controller/*.c tools/*.c common/*.h broker/*.h broker/*/*.h controller/*.h)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
