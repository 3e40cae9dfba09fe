# Taube — build, run and test.  `make run` and `make check` are the two
# commands in README.md; everything else is a helper for them.

BUILD   ?= build
CC      ?= gcc
SAN     ?=
PKGS    := libuv openssl expat sqlite3 libidn libidn2 libfyaml libwebsockets libqrencode
DEPS_OK := $(BUILD)/.deps-ok

OPT     ?= -O2 -g
CFLAGS  := $(OPT) -std=c17 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla \
           -Wmissing-prototypes -Wstrict-prototypes -Wwrite-strings \
           -fno-strict-aliasing -D_GNU_SOURCE -Isrc -MMD -MP
LDLIBS  := -lm

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
# gcov instrumentation (`make coverage` builds into its own directory).
ifeq ($(COV),1)
CFLAGS  += --coverage -fprofile-update=atomic
LDFLAGS += --coverage
endif

# pkg-config is asked only once the dependencies are installed.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Build-time feature detection (STACK-NOTES: not from version numbers).
FEATURES   = $(shell grep -q XML_SetReparseDeferralEnabled /usr/include/expat.h 2>/dev/null && echo -DHAVE_XML_REPARSE_DEFERRAL) \
             $(shell grep -q XML_SetAllocTrackerMaximumAmplification /usr/include/expat.h 2>/dev/null && echo -DHAVE_XML_ALLOC_TRACKER)

LIB_SRC  := $(filter-out src/main.c src/ctl/%,$(wildcard src/*/*.c src/*/*/*.c))
CTL_SRC  := $(wildcard src/ctl/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CTL_OBJ  := $(CTL_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all run check layering unit e2e asan fuzz fuzz-run bench deps clean format format-check \
        docs docs-check analyze coverage coverage-report
all: $(BUILD)/taube $(BUILD)/taubectl

deps: $(DEPS_OK)
$(DEPS_OK):
	@./scripts/deps.sh
	@mkdir -p $(BUILD) && touch $@

$(BUILD)/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FEATURES) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/libtaube.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/taube: $(BUILD)/src/main.o $(BUILD)/libtaube.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(BUILD)/taubectl: $(CTL_OBJ) $(BUILD)/libtaube.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libtaube.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FEATURES) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libtaube.a \
	    $(PKG_LIBS) -lcmocka $(LDLIBS)

# `make run`: install what is missing, build, create ./var once, start.
run: all
	@./scripts/dev-setup.sh $(BUILD)

unit: $(UNIT_BIN)
	@./scripts/run-unit.sh $(UNIT_BIN)

# E2E picks the files or tests (pytest arguments): make e2e E2E=tests/e2e/test_bind.py
E2E ?= tests/e2e
e2e: all
	TAUBE_BUILD=$(abspath $(BUILD)) /usr/bin/python3 -m pytest -q $(E2E)

# The whole suite again under AddressSanitizer and UBSan.
asan:
	$(MAKE) BUILD=build-asan SAN=1 OPT="-O1 -g" all unit e2e

check:
	@./scripts/check.sh

# The include layering (docs/architecture.md, "Layers").
layering:
	@./scripts/layering.sh

# libFuzzer targets, built with clang.
FUZZ_BUILD := build-fuzz
FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined
fuzz: | $(DEPS_OK)
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang OPT="$(FUZZ_CFLAGS)" $(FUZZ_BUILD)/libtaube.a
	@mkdir -p $(FUZZ_BUILD)/fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  echo "clang $$n"; \
	  clang -O1 -g -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE -Isrc \
	    $(FEATURES) $(PKG_CFLAGS) $$f $(FUZZ_BUILD)/libtaube.a $(PKG_LIBS) $(LDLIBS) \
	    -o $(FUZZ_BUILD)/fuzz/$$n || exit 1; done

# Runs each target briefly over its seed corpus (FUZZ_SECONDS each).
FUZZ_SECONDS ?= 15
fuzz-run: fuzz
	@./scripts/fuzz-run.sh $(FUZZ_BUILD)/fuzz $(FUZZ_SECONDS)

bench: all
	$(MAKE) -C bench BUILD=$(abspath $(BUILD))
	./bench/run.sh $(abspath $(BUILD))

# One clang-format version for everyone: its output differs between versions.
CLANG_FORMAT ?= clang-format-19
FORMAT_FILES = $(filter-out $(shell grep -v '^\#' .clang-format-ignore), \
                 $(shell git ls-files 'src/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]'))
format:
	$(CLANG_FORMAT) -i $(FORMAT_FILES)

# CI gate: lists the files `make format` would change.
format-check:
	@bad=0; for f in $(FORMAT_FILES); do \
	  $(CLANG_FORMAT) "$$f" | cmp -s - "$$f" || { echo "not clang-format clean: $$f"; bad=1; }; \
	done; [ $$bad -eq 0 ] || { echo "format-check: run make format"; exit 1; }
	@echo "format-check: clean"

# CI gate: `make docs` would change nothing (compares, writes nothing in the tree).
docs-check: $(BUILD)/taubectl
	@$(BUILD)/taubectl config-doc | cmp -s - docs/configuration.md || \
	  { echo "docs-check: docs/configuration.md is stale: run make docs"; exit 1; }
	@rm -rf $(BUILD)/example-check
	@$(BUILD)/taubectl init --dir $(BUILD)/example-check --domain example.org > /dev/null
	@cmp -s $(BUILD)/example-check/taube.yaml taube.example.yaml || \
	  { echo "docs-check: taube.example.yaml is stale: run make docs"; exit 1; }
	@echo "docs-check: docs/configuration.md and taube.example.yaml are up to date"

# CI gate: the clang static analyzer (scan-build) over every source file;
# a report fails, and the HTML report is left in $(ANALYZE_BUILD)/reports.
# (gcc 12's -fanalyzer reports a leak wherever a malloc'ed pointer is
# stored into a realloc'ed array reached through a struct pointer: seven
# false positives, and no true one, on this code base.)
ANALYZE_BUILD := build-analyze
analyze: | $(DEPS_OK)
	rm -rf $(ANALYZE_BUILD)
	scan-build --status-bugs --use-cc=clang -o $(ANALYZE_BUILD)/reports \
	    $(MAKE) BUILD=$(ANALYZE_BUILD) OPT="-O1 -g" all

# Line coverage of the unit and end-to-end tests (gcov, read by gcovr);
# prints one summary line. E2E= narrows the end-to-end part. CI gets the
# same from `COVERAGE=1 make check` without running the tests twice.
COV_BUILD := build-cov
coverage: | $(DEPS_OK)
	@find $(COV_BUILD) -name '*.gcda' -delete 2>/dev/null || true
	$(MAKE) BUILD=$(COV_BUILD) COV=1 OPT="-O1 -g" all unit e2e
	@$(MAKE) --no-print-directory coverage-report

coverage-report:
	@gcovr --root . --filter 'src/' --object-directory $(COV_BUILD) \
	    --txt $(COV_BUILD)/coverage.txt --print-summary $(COV_BUILD) | \
	    sed -n 's/^lines: /coverage: lines of src\/: /p'

# The option reference and the example config come from the option table.
docs: $(BUILD)/taubectl
	$(BUILD)/taubectl config-doc > docs/configuration.md
	rm -rf $(BUILD)/example
	$(BUILD)/taubectl init --dir $(BUILD)/example --domain example.org > /dev/null
	cp $(BUILD)/example/taube.yaml taube.example.yaml

clean:
	rm -rf build build-asan build-fuzz $(ANALYZE_BUILD) $(COV_BUILD)

-include $(LIB_OBJ:.o=.d) $(CTL_OBJ:.o=.d) $(BUILD)/src/main.d
