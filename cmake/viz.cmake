# viz.cmake — "seeing inside" (issue 10): image writing and grids, colour maps, hand-made
# filters through the conv layer, convolution arithmetic, saliency, SVG/PNG plots and the
# HTML run report (src/viz/*.c).
#
# Images use Debian's libstb-dev (stb_image_write here; decoding is data.h's, src/data),
# which cmake/data.cmake links (by plain name, so the exported static library stays usable).
file(GLOB CONVNET_VIZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/viz/*.c)
target_sources(convnet_objects PRIVATE ${CONVNET_VIZ_SOURCES})
