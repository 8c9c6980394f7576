# fuzz.cmake — libFuzzer programs, one per line of fuzz/targets.h (fuzz_<name>).
#
# Built only when configured with clang and -DCONVNET_FUZZ=ON (scripts/fuzz.sh, `make fuzz`,
# does both in its own build directory):
#   CC=clang cmake -S . -B build-fuzz -DCONVNET_FUZZ=ON -DCONVNET_BUILD_TESTS=OFF
#   cmake --build build-fuzz --target fuzz_all
#   build-fuzz/fuzz/fuzz_npy fuzz/corpus/npy -max_total_time=60
# The library is compiled a second time, into cn_fuzz_lib, with coverage instrumentation and
# AddressSanitizer + UndefinedBehaviorSanitizer (any report aborts, so libFuzzer keeps the
# input); the rest of the build is unchanged. The same entry points are replayed over the
# seed corpora and every checked-in crash input by tests/unit/test_fuzz_regressions.c in
# every build (gcc included).
option(CONVNET_FUZZ "Build the libFuzzer targets in fuzz/ (needs clang)" OFF)

if(CONVNET_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(WARNING "CONVNET_FUZZ needs clang (libFuzzer), not ${CMAKE_C_COMPILER_ID}: configure with CC=clang. "
                    "The fuzz targets are not built.")
    return()
  endif()
  include(CheckCSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer")
  check_c_source_compiles("#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }" CN_HAVE_LIBFUZZER)
  unset(CMAKE_REQUIRED_FLAGS)
  if(NOT CN_HAVE_LIBFUZZER)
    message(WARNING "clang cannot link -fsanitize=fuzzer here (libFuzzer missing?); the fuzz targets are not built.")
    return()
  endif()

  set(CN_FUZZ_COMPILE -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
  set(CN_FUZZ_LINK -fsanitize=fuzzer,address,undefined)

  # Deferred to the end of the top-level CMakeLists.txt, so that the library is complete:
  # other cmake/*.cmake features (included after this file) add sources, include folders,
  # definitions and libraries to convnet_objects and convnet_static.
  function(cn_fuzz_add_targets)
    # the library again, instrumented: convnet_objects' sources, includes, definitions and
    # options, and the libraries both it and convnet_static link
    get_target_property(srcs convnet_objects SOURCES)
    add_library(cn_fuzz_lib STATIC ${srcs})
    foreach(prop INCLUDE_DIRECTORIES COMPILE_DEFINITIONS COMPILE_OPTIONS)
      get_target_property(v convnet_objects ${prop})
      if(v)
        set_property(TARGET cn_fuzz_lib PROPERTY ${prop} "${v}")
      endif()
    endforeach()
    target_compile_options(cn_fuzz_lib PRIVATE ${CN_FUZZ_COMPILE})
    target_include_directories(cn_fuzz_lib INTERFACE ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)
    foreach(t convnet_objects convnet_static)
      get_target_property(libs ${t} LINK_LIBRARIES)
      if(libs)
        target_link_libraries(cn_fuzz_lib PUBLIC ${libs})
      endif()
      get_target_property(dirs ${t} LINK_DIRECTORIES)
      if(dirs)
        target_link_directories(cn_fuzz_lib PUBLIC ${dirs})
      endif()
    endforeach()

    file(STRINGS ${CMAKE_SOURCE_DIR}/fuzz/targets.h lines REGEX "^#include \"fuzz_[a-z0-9_]+\\.c\"")
    add_custom_target(fuzz_all)
    set(names "")
    foreach(line ${lines})
      string(REGEX REPLACE "^#include \"fuzz_([a-z0-9_]+)\\.c\".*$" "\\1" name "${line}")
      list(APPEND names ${name})
      add_executable(fuzz_${name} ${CMAKE_SOURCE_DIR}/fuzz/fuzz_${name}.c)
      target_compile_definitions(fuzz_${name} PRIVATE CN_FUZZ_LIBFUZZER)
      target_compile_options(fuzz_${name} PRIVATE ${CN_FUZZ_COMPILE})
      target_link_options(fuzz_${name} PRIVATE ${CN_FUZZ_LINK})
      target_link_libraries(fuzz_${name} PRIVATE cn_fuzz_lib)
      set_target_properties(fuzz_${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
      add_dependencies(fuzz_all fuzz_${name})
      # in this build's ctest (when tests are on): every seed and regression input, once
      set(dirs ${CMAKE_SOURCE_DIR}/fuzz/corpus/${name})
      if(EXISTS ${CMAKE_SOURCE_DIR}/tests/fuzz_regressions/${name})
        list(APPEND dirs ${CMAKE_SOURCE_DIR}/tests/fuzz_regressions/${name})
      endif()
      add_test(NAME fuzz_replay_${name} COMMAND fuzz_${name} -runs=0 ${dirs})
    endforeach()
    message(STATUS "convnet: fuzz targets: ${names}")
  endfunction()
  cmake_language(DEFER CALL cn_fuzz_add_targets)
endif()
