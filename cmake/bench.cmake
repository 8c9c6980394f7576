# bench.cmake — `cmake --build <dir> --target bench` (what `make bench` calls): builds the CLI
# and runs `convnet bench`, which times convnet against PyTorch (bench/pytorch_bench.py, run
# with /usr/bin/python3; skipped with a note without torch) and against Darknet (below). A
# program, never a ctest test.
# CONVNET_BENCH_ARGS passes options through, e.g. -DCONVNET_BENCH_ARGS="--quick;--shapes;b,c".
#
# Darknet: when Debian's darknet is installed (/usr/lib/darknet/libdarknet.so and
# /usr/lib/darknet/include/darknet.h), bench/darknet_bench.c is built as `darknet_bench` beside
# the convnet binary, where `convnet bench` finds it; it times Darknet's own forward of a cfg.
# Without darknet nothing is built and the bench's Darknet rows say so. -DCONVNET_DARKNET_BENCH=OFF
# leaves it out even when darknet is there.
option(CONVNET_DARKNET_BENCH "build bench/darknet_bench when Debian's libdarknet is found" ON)
set(CONVNET_BENCH_ARGS "" CACHE STRING "extra options for `convnet bench` (a CMake list)")

set(CONVNET_BENCH_DARKNET_ARGS "")
if(CONVNET_DARKNET_BENCH)
  find_library(DARKNET_LIBRARY NAMES darknet PATHS /usr/lib/darknet /usr/local/lib/darknet)
  find_path(DARKNET_INCLUDE_DIR darknet.h PATHS /usr/lib/darknet/include /usr/local/lib/darknet/include)
  if(DARKNET_LIBRARY AND DARKNET_INCLUDE_DIR)
    add_executable(darknet_bench ${CMAKE_SOURCE_DIR}/bench/darknet_bench.c)
    # Darknet's header declares functions without prototypes: its warnings are not ours
    target_include_directories(darknet_bench SYSTEM PRIVATE ${DARKNET_INCLUDE_DIR})
    get_filename_component(DARKNET_LIBRARY_DIR ${DARKNET_LIBRARY} DIRECTORY)
    target_link_libraries(darknet_bench PRIVATE ${DARKNET_LIBRARY} m)
    set_target_properties(darknet_bench PROPERTIES
      BUILD_RPATH ${DARKNET_LIBRARY_DIR} RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
    # A timing program over an uninstrumented library: sanitizers would only slow it down and
    # report Darknet's own leaks at exit, so it is built without them in every build type.
    foreach(prop COMPILE_OPTIONS LINK_OPTIONS)
      get_target_property(opts darknet_bench ${prop})
      if(opts)
        list(FILTER opts EXCLUDE REGEX "^-fsanitize|^-fno-sanitize")
        set_target_properties(darknet_bench PROPERTIES ${prop} "${opts}")
      endif()
    endforeach()
    set(CONVNET_BENCH_DARKNET_ARGS --darknet-bench $<TARGET_FILE:darknet_bench>)
    message(STATUS "convnet bench: Darknet comparison with ${DARKNET_LIBRARY} (darknet_bench)")
  else()
    message(STATUS "convnet bench: Darknet not found (Debian: darknet; /usr/lib/darknet/libdarknet.so): "
                   "the bench's Darknet rows run convnet only")
  endif()
endif()

add_custom_target(bench
  COMMAND $<TARGET_FILE:convnet_cli> bench --torch-script ${CMAKE_SOURCE_DIR}/bench/pytorch_bench.py
          ${CONVNET_BENCH_DARKNET_ARGS} ${CONVNET_BENCH_ARGS}
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
  USES_TERMINAL
  COMMENT "convnet bench (docs/PERFORMANCE.md explains the table)")
add_dependencies(bench convnet_cli)
if(TARGET darknet_bench)
  add_dependencies(bench darknet_bench)
endif()
