# Thin wrapper: every target installs missing Debian packages first, then
# drives CMake. The real build description is CMakeLists.txt.
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?=
MAKEFLAGS += --no-print-directory

.PHONY: all deps configure build test demo fuzz clean

all: build

deps:
	@tools/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) --log-level=WARNING

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Only the binary: the demo needs neither the tests nor the fixtures' targets.
demo: configure
	@cmake --build $(BUILD) -j $(JOBS) --target skingen
	@$(BUILD)/skingen demo --out-dir out

fuzz: deps
	@tools/install-deps.sh clang libclang-rt-14-dev
	@tools/fuzz.sh

clean:
	@rm -rf $(BUILD)
