# convnet — everyday commands. The build itself is CMake; this file only drives it.
#   make           build (Release) into build/
#   make test      build and run the whole test suite (ctest)
#   make sanitize  build with ASan+UBSan into build-asan/ and run the tests there
#   make demo      build and run the main job
#   make deps      install missing Debian packages (no-op when all are present)
#   make bench     build and run the benchmark (prints a table; not a test)
#   make fuzz      run every fuzz target for FUZZ_SECONDS seconds (clang/libFuzzer);
#                  FUZZ_JOBS targets at once, FUZZ_TARGETS="onnx image" for some
#   make install PREFIX=/usr/local

BUILD    ?= build
ASAN     ?= build-asan
PREFIX   ?= /usr/local
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE    ?= cmake

# Debian packages the build and tests need: compilers and libraries at the edges (JSON, gzip,
# images, zip, protobuf for ONNX, MPI), data (Fashion-MNIST, ONNX's operator tests, Darknet's
# model zoo) and test tools (chromium for the HTML report, clang for fuzzing, valgrind for
# memcheck, python3-onnx to check exported models)
DEB_PACKAGES = cmake make gcc libc6-dev pkgconf libcjson-dev zlib1g-dev libstb-dev libzip-dev \
	protobuf-c-compiler libprotobuf-c-dev libonnx-dev libonnx-testdata python3-onnx \
	libopenmpi-dev openmpi-bin dataset-fashion-mnist darknet chromium clang valgrind
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1

.PHONY: all build deps test sanitize demo bench fuzz install clean

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

bench: build
	$(BUILD)/convnet bench

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) bash scripts/fuzz.sh $(FUZZ_TARGETS)

install: build
	$(CMAKE) --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN)
