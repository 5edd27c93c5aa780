# The stable C API (appforge.h): a shared library built from c_api.cpp + the static core that
# exports only the af_* functions. Included from libappforge/CMakeLists.txt.
add_library(appforge_c SHARED ${CMAKE_CURRENT_LIST_DIR}/../libappforge/src/c_api.cpp)
add_library(appforge::appforge_c ALIAS appforge_c)
set_target_properties(appforge_c PROPERTIES
  EXPORT_NAME appforge_c
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}
  C_VISIBILITY_PRESET hidden
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON)
target_include_directories(appforge_c PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/libappforge/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_definitions(appforge_c PRIVATE
  AF_BUILDING_C_API
  APPFORGE_VERSION_MAJOR=${PROJECT_VERSION_MAJOR}
  APPFORGE_VERSION_MINOR=${PROJECT_VERSION_MINOR}
  APPFORGE_VERSION_PATCH=${PROJECT_VERSION_PATCH})
target_compile_options(appforge_c PRIVATE $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra>)
target_link_libraries(appforge_c PRIVATE appforge appforge_edge)
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  # The static core was compiled with default visibility; the version script keeps its
  # symbols (and those of the C++ libraries inlined into it) out of the dynamic table.
  target_link_options(appforge_c PRIVATE
    "LINKER:--version-script=${CMAKE_CURRENT_LIST_DIR}/appforge_c.map"
    "LINKER:--exclude-libs,ALL"
    "LINKER:--no-undefined")
  set_property(TARGET appforge_c APPEND PROPERTY LINK_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/appforge_c.map)
endif()
