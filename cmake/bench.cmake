# bench.cmake — `cmake --build <dir> --target bench` (what `make bench` calls): builds the CLI
# and runs `convnet bench`, which times convnet against PyTorch (bench/pytorch_bench.py, run
# with /usr/bin/python3; skipped with a note without torch). A program, never a ctest test.
# CONVNET_BENCH_ARGS passes options through, e.g. -DCONVNET_BENCH_ARGS="--quick;--shapes;b,c".
set(CONVNET_BENCH_ARGS "" CACHE STRING "extra options for `convnet bench` (a CMake list)")
add_custom_target(bench
  COMMAND $<TARGET_FILE:convnet_cli> bench --torch-script ${CMAKE_SOURCE_DIR}/bench/pytorch_bench.py ${CONVNET_BENCH_ARGS}
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
  USES_TERMINAL
  COMMENT "convnet bench (docs/PERFORMANCE.md explains the table)")
add_dependencies(bench convnet_cli)
