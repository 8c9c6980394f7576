# onnx.cmake — ONNX import/export (src/io/onnx_*.c) and the ONNX conformance cases.
#
# The protobuf code is generated at build time from the onnx.proto that Debian's libonnx-dev
# installs (/usr/include/onnx/onnx.proto), with protoc-c (protobuf-c-compiler), and linked
# against libprotobuf-c (libprotobuf-c-dev). No hand-written protobuf decoder.
#
# Without one of the three the feature is off: src/io/onnx_*.c compile to stubs that fail with
# CN_STATUS_UNSUPPORTED naming the missing package, cn_onnx_available() returns 0, and
# everything else builds and passes as before. Override the proto with -DCONVNET_ONNX_PROTO=.
#
# Tests added here (besides tests/unit/test_onnx*.c and tests/cli/test_onnx*.sh, which the
# test globs pick up): onnx_conformance runs every case of libonnx-testdata's node/ folder (and
# its pytorch-converted/, pytorch-operator/ and simple/ folders) through `convnet onnx-test`
# against the checked-in list tests/onnx/cases.txt; skipped (exit 77) without the package.
set(CONVNET_ONNX_PROTO "/usr/include/onnx/onnx.proto" CACHE FILEPATH "onnx.proto to generate the ONNX protobuf code from")
find_program(CN_PROTOC_C protoc-c)
pkg_check_modules(PROTOBUF_C IMPORTED_TARGET libprotobuf-c)

set(CN_ONNX_MISSING "")
if(NOT EXISTS "${CONVNET_ONNX_PROTO}")
  list(APPEND CN_ONNX_MISSING "libonnx-dev (${CONVNET_ONNX_PROTO})")
endif()
if(NOT CN_PROTOC_C)
  list(APPEND CN_ONNX_MISSING "protobuf-c-compiler (protoc-c)")
endif()
if(NOT PROTOBUF_C_FOUND)
  list(APPEND CN_ONNX_MISSING "libprotobuf-c-dev (pkg-config libprotobuf-c)")
endif()

if(CN_ONNX_MISSING)
  string(REPLACE ";" ", " CN_ONNX_MISSING_TEXT "${CN_ONNX_MISSING}")
  message(WARNING "convnet onnx: missing ${CN_ONNX_MISSING_TEXT}: ONNX import/export is off")
  target_compile_definitions(convnet_objects PRIVATE "CN_ONNX_MISSING=\"${CN_ONNX_MISSING_TEXT}\"")
  set(CONVNET_HAVE_ONNX OFF)
else()
  set(CN_ONNX_GEN_DIR ${CMAKE_BINARY_DIR}/generated/onnx)
  file(MAKE_DIRECTORY ${CN_ONNX_GEN_DIR})
  get_filename_component(CN_ONNX_PROTO_DIR "${CONVNET_ONNX_PROTO}" DIRECTORY)
  get_filename_component(CN_ONNX_PROTO_NAME "${CONVNET_ONNX_PROTO}" NAME_WE)
  # protoc-c names its output after the .proto file: onnx.proto -> onnx.pb-c.c / onnx.pb-c.h
  add_custom_command(
    OUTPUT ${CN_ONNX_GEN_DIR}/${CN_ONNX_PROTO_NAME}.pb-c.c ${CN_ONNX_GEN_DIR}/${CN_ONNX_PROTO_NAME}.pb-c.h
    COMMAND ${CN_PROTOC_C} --proto_path=${CN_ONNX_PROTO_DIR} --c_out=${CN_ONNX_GEN_DIR} ${CONVNET_ONNX_PROTO}
    DEPENDS ${CONVNET_ONNX_PROTO}
    COMMENT "protoc-c: generating the ONNX protobuf code from ${CONVNET_ONNX_PROTO}"
    VERBATIM)
  set(CN_ONNX_GEN_SRC ${CN_ONNX_GEN_DIR}/${CN_ONNX_PROTO_NAME}.pb-c.c)
  # generated code: not ours to warn about
  set_source_files_properties(${CN_ONNX_GEN_SRC} PROPERTIES COMPILE_OPTIONS "-w")
  target_sources(convnet_objects PRIVATE ${CN_ONNX_GEN_SRC})
  target_include_directories(convnet_objects PRIVATE ${CN_ONNX_GEN_DIR} ${PROTOBUF_C_INCLUDE_DIRS})
  target_compile_definitions(convnet_objects PRIVATE CN_HAVE_ONNX=1
                             "CN_ONNX_PB_H=\"${CN_ONNX_PROTO_NAME}.pb-c.h\"")
  # link by plain name (not the PkgConfig:: target) so the exported static library's
  # interface stays usable by consumers that never heard of that imported target
  foreach(t convnet convnet_static)
    target_link_directories(${t} PRIVATE ${PROTOBUF_C_LIBRARY_DIRS})
    target_link_libraries(${t} PRIVATE ${PROTOBUF_C_LIBRARIES})
  endforeach()
  set(CONVNET_HAVE_ONNX ON)
  set(CONVNET_PC_EXTRA "${CONVNET_PC_EXTRA} libprotobuf-c")
  message(STATUS "convnet onnx: protobuf-c code from ${CONVNET_ONNX_PROTO} (${PROTOBUF_C_LIBRARIES})")
endif()

# ---- conformance: ONNX's own node test cases (Debian's libonnx-testdata) ----
set(CONVNET_ONNX_TESTDATA "/usr/share/libonnx-testdata/data" CACHE PATH "ONNX backend test data (libonnx-testdata)")
if(CONVNET_BUILD_TESTS AND CONVNET_HAVE_ONNX)
  enable_testing()
  add_test(NAME onnx_conformance
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/onnx/run_conformance.sh $<TARGET_FILE:convnet_cli>
                   ${CONVNET_ONNX_TESTDATA} ${CMAKE_SOURCE_DIR}/tests/onnx/cases.txt)
  set_tests_properties(onnx_conformance PROPERTIES TIMEOUT 900 SKIP_RETURN_CODE 77)
endif()
