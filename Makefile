# convnet — everyday commands. The build itself is CMake; this file only drives it.
#   make           build (Release) into build/
#   make test      build and run the whole test suite (ctest)
#   make sanitize  build with ASan+UBSan into build-asan/ and run the tests there
#   make demo      build and run the main job
#   make deps      install missing Debian packages (no-op when all are present)
#   make install PREFIX=/usr/local

BUILD    ?= build
ASAN     ?= build-asan
PREFIX   ?= /usr/local
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE    ?= cmake

# Debian packages the build and tests need
DEB_PACKAGES = cmake make gcc libc6-dev pkgconf libcjson-dev zlib1g-dev

.PHONY: all build deps test sanitize demo install clean

all: build

deps:
	@bash scripts/deps.sh $(DEB_PACKAGES)

$(BUILD)/CMakeCache.txt:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	$(CMAKE) --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

sanitize: deps
	$(CMAKE) -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DCONVNET_SANITIZE=ON
	$(CMAKE) --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)

demo: build
	bash scripts/demo.sh $(BUILD)/convnet

install: build
	$(CMAKE) --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN)
