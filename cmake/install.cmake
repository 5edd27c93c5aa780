# Install rules: headers, the static core, the C API, a CMake package (find_package(appforge
# CONFIG) -> appforge::appforge, appforge::appforge_edge, appforge::appforge_c) and a pkg-config file for the C API.
include(CMakePackageConfigHelpers)

set(APPFORGE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/appforge)
set(_appforge_targets appforge appforge_edge)
if(TARGET appforge_c)
  list(APPEND _appforge_targets appforge_c)
endif()
install(TARGETS ${_appforge_targets} EXPORT appforge-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/libappforge/include/appforge
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT appforge-targets NAMESPACE appforge:: DESTINATION ${APPFORGE_CMAKE_DIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/appforge-config.cmake.in
  ${PROJECT_BINARY_DIR}/appforge-config.cmake
  INSTALL_DESTINATION ${APPFORGE_CMAKE_DIR})
# 0.x: minor versions may break the API, so only the same minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/appforge-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/appforge-config.cmake ${PROJECT_BINARY_DIR}/appforge-config-version.cmake
  DESTINATION ${APPFORGE_CMAKE_DIR})

if(TARGET appforge_c)
  # Relocatable: the prefix is found from the .pc file's own folder, so
  # `cmake --install build --prefix ANY` gives a working file.
  set(_pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
  file(RELATIVE_PATH APPFORGE_PC_UP /_root/${_pc_dir} /_root)
  string(REGEX REPLACE "/$" "" APPFORGE_PC_UP "${APPFORGE_PC_UP}")
  configure_file(${CMAKE_CURRENT_LIST_DIR}/appforge.pc.in ${PROJECT_BINARY_DIR}/appforge.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/appforge.pc DESTINATION ${_pc_dir})
endif()
