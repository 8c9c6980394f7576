# mpi.cmake — data-parallel training across processes and machines (issue 11, src/dist/,
# docs/DISTRIBUTED.md). With MPI found (Debian: libopenmpi-dev; mpirun from openmpi-bin),
# src/dist/*.c joins the library with CN_HAVE_MPI defined and `mpirun -np P convnet train`
# trains one model on P processes. Without MPI (or with -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON)
# src/dist/launch.c and src/dist/none/dist_none.c give the same API, whose cn_dist_create
# says that this build has no MPI; nothing else changes.
find_package(MPI COMPONENTS C)
if(MPI_C_FOUND)
  file(GLOB CONVNET_DIST_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/dist/*.c)
  target_sources(convnet_objects PRIVATE ${CONVNET_DIST_SOURCES})
  target_compile_definitions(convnet_objects PRIVATE CN_HAVE_MPI=1)
  target_link_libraries(convnet_objects PRIVATE MPI::MPI_C)
  # The shared library links MPI privately. The static one (and through it the CLI and the
  # tests) carries MPI's libraries by path, not as the imported target MPI::MPI_C, so the
  # exported package stays usable by consumers that never call find_package(MPI).
  target_link_libraries(convnet PRIVATE MPI::MPI_C)
  target_link_libraries(convnet_static PRIVATE ${MPI_C_LIBRARIES})
  target_compile_definitions(convnet_internal INTERFACE CN_HAVE_MPI=1)
  set(CONVNET_PC_EXTRA "${CONVNET_PC_EXTRA} ompi-c")
  message(STATUS "convnet dist: data-parallel training over MPI ${MPI_C_VERSION} (${MPI_C_LIBRARIES})")
  # a test helper: the largest difference between two weights files (tests/cli/test_mpi.sh)
  if(CONVNET_BUILD_TESTS)
    add_executable(cn_weights_diff ${CMAKE_SOURCE_DIR}/tests/dist/weights_diff.c)
    target_link_libraries(cn_weights_diff PRIVATE convnet_internal)
  endif()
else()
  target_sources(convnet_objects PRIVATE ${CMAKE_SOURCE_DIR}/src/dist/launch.c ${CMAKE_SOURCE_DIR}/src/dist/none/dist_none.c)
  message(STATUS "convnet dist: MPI not found (Debian: libopenmpi-dev openmpi-bin): training runs in one process")
endif()
