# SPDX-License-Identifier: MIT
# What `cmake --install` puts where, in components that become the Debian
# packages of scripts/package.sh:
#   runtime  libhsipc.so.0 (package libhsipc0)
#   dev      header, libhsipc.so, libhsipc.a, hsipc.pc, CMake package (libhsipc-dev)
#   tools    the hsipc command (hsipc-tools)
#   python   the ctypes binding (python3-hsipc)
#   bridge   hsipc-bridge, where it is built (hsipc-bridge; bridge/CMakeLists.txt)
include(CMakePackageConfigHelpers)

# The Debian packages' Maintainer and Homepage (also in their copyright
# file). Override when publishing packages; lintian refuses localhost.
set(HSIPC_PACKAGE_MAINTAINER "hsipc maintainers <maintainers@hsipc.dev>" CACHE STRING
  "Maintainer of the Debian packages: Name <address>")
set(HSIPC_PACKAGE_HOMEPAGE "https://hsipc.dev/" CACHE STRING "Homepage of the Debian packages")

install(TARGETS hsipc EXPORT hsipcTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev)
install(TARGETS hsipc_static EXPORT hsipcTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(FILES include/hsipc.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)

# pkg-config: the static library needs the C++ runtime and pthread, which a
# C program's link does not bring by itself.
configure_file(pkgconfig/hsipc.pc.in ${PROJECT_BINARY_DIR}/hsipc.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/hsipc.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# CMake: find_package(hsipc) gives hsipc::hsipc (shared) and hsipc::hsipc_static.
set(HSIPC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/hsipc)
install(EXPORT hsipcTargets NAMESPACE hsipc:: DESTINATION ${HSIPC_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(cmake/hsipcConfig.cmake.in ${PROJECT_BINARY_DIR}/hsipcConfig.cmake
  INSTALL_DESTINATION ${HSIPC_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hsipcConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hsipcConfig.cmake ${PROJECT_BINARY_DIR}/hsipcConfigVersion.cmake
  DESTINATION ${HSIPC_CMAKE_DIR} COMPONENT dev)

# The Python binding is pure Python: installed as files, found by Debian's
# python3 in dist-packages.
if(EXISTS ${PROJECT_SOURCE_DIR}/bindings/python/hsipc/__init__.py)
  install(DIRECTORY bindings/python/hsipc DESTINATION lib/python3/dist-packages COMPONENT python
    PATTERN __pycache__ EXCLUDE)
endif()

# Each package's changelog, in Debian's format (Debian wants it compressed;
# changelog.gz, not changelog.Debian.gz, as the version has no Debian
# revision: a native package); CHANGELOG.md holds the history. And each
# package's machine-readable copyright file (DEP-5), from LICENSE.
string(TIMESTAMP HSIPC_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE ${PROJECT_BINARY_DIR}/changelog.Debian
  "hsipc (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
  "  * Built from the hsipc source tree; see CHANGELOG.md for what changed.\n\n"
  " -- ${HSIPC_PACKAGE_MAINTAINER}  ${HSIPC_CHANGELOG_DATE}\n")
execute_process(COMMAND gzip -9nc ${PROJECT_BINARY_DIR}/changelog.Debian
  OUTPUT_FILE ${PROJECT_BINARY_DIR}/changelog.gz)
configure_file(cmake/debian/copyright.in ${PROJECT_BINARY_DIR}/copyright @ONLY)
set(_hsipc_component_packages runtime:libhsipc0 dev:libhsipc-dev tools:hsipc-tools python:python3-hsipc)
if(TARGET hsipc_bridge)  # built where libzmq is found (bridge/CMakeLists.txt)
  list(APPEND _hsipc_component_packages bridge:hsipc-bridge)
endif()
foreach(component_package ${_hsipc_component_packages})
  string(REPLACE ":" ";" pair ${component_package})
  list(GET pair 0 component)
  list(GET pair 1 package)
  install(FILES ${PROJECT_BINARY_DIR}/changelog.gz ${PROJECT_BINARY_DIR}/copyright DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${package}
    COMPONENT ${component})
endforeach()

# The hsipc command's manual page.
execute_process(COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/tools/hsipc.1 OUTPUT_FILE ${PROJECT_BINARY_DIR}/hsipc.1.gz)
install(FILES ${PROJECT_BINARY_DIR}/hsipc.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT tools)

include(cmake/package.cmake)
