# data.cmake — third-party libraries of the data edge (src/data, issue 6):
#   stb (Debian libstb-dev): image decoding (stb_image), resizing (stb_image_resize) and PNG
#       writing (stb_image_write). Debian ships them compiled as libstb.so / libstb.a and asks
#       users to link that rather than define STB_*_IMPLEMENTATION themselves, so we link it
#       and no file of ours defines an implementation macro.
#   libzip (Debian libzip-dev): NumPy .npz archives (zip files of .npy arrays).
# Both are private to the library and linked by plain name (not PkgConfig:: targets), so the
# exported static library's interface stays usable by consumers that do not know those
# imported targets; static pkg-config consumers get them from convnet.pc's Requires.private.
pkg_check_modules(CN_DATA_STB REQUIRED stb)
pkg_check_modules(CN_DATA_ZIP REQUIRED libzip)
target_include_directories(convnet_objects PRIVATE ${CN_DATA_STB_INCLUDE_DIRS} ${CN_DATA_ZIP_INCLUDE_DIRS})
foreach(t convnet convnet_static)
  target_link_directories(${t} PRIVATE ${CN_DATA_STB_LIBRARY_DIRS} ${CN_DATA_ZIP_LIBRARY_DIRS})
  target_link_libraries(${t} PRIVATE ${CN_DATA_STB_LIBRARIES} ${CN_DATA_ZIP_LIBRARIES})
endforeach()
