# Debian packages from this build (CPack DEB), one per install component;
# scripts/package.sh runs it.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hsipc)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${HSIPC_MAINTAINER}")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "shared-memory IPC for processes on one Linux machine")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://localhost/hsipc")
set(CPACK_COMPONENTS_ALL runtime dev tools python)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libhsipc0)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)  # a shlibs file, so dependents' dpkg-shlibdeps work
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/debian/triggers)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "shared-memory IPC library\n hsipc passes messages between processes through buffers in shared memory,\n with no copy through the kernel and no system call while the receiver polls.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libhsipc-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libhsipc0 (= ${PROJECT_VERSION})")
set(CPACK_COMPONENT_DEV_DESCRIPTION "shared-memory IPC library - development files\n Header, static library, pkg-config file and CMake package for hsipc.")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME hsipc-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION utils)
# dpkg-shlibdeps cannot see libhsipc0 while it is being built beside it.
set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS "libhsipc0 (= ${PROJECT_VERSION}), libc6, libstdc++6")
set(CPACK_COMPONENT_TOOLS_DESCRIPTION "shared-memory IPC library - command-line tool\n The hsipc command lists, inspects, removes and reaps hsipc regions.")

set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-hsipc)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
set(CPACK_DEBIAN_PYTHON_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS "libhsipc0 (>= ${PROJECT_VERSION}), python3")
set(CPACK_COMPONENT_PYTHON_DESCRIPTION "shared-memory IPC library - Python binding\n A pure-Python ctypes binding to libhsipc with zero-copy memoryviews.")

include(CPack)
