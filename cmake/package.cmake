# SPDX-License-Identifier: MIT
# Debian packages from this build (CPack DEB), one per install component;
# scripts/package.sh runs it (with Debian's hardening flags) and
# tests/install/run.sh checks them, lintian included.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hsipc)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${HSIPC_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${HSIPC_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${HSIPC_PACKAGE_HOMEPAGE}")
set(CPACK_STRIP_FILES ON)
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPack would put it first in every
# package's description, giving them all the same synopsis. Each
# CPACK_DEBIAN_<COMPONENT>_DESCRIPTION below is "synopsis\nlong text", the
# long text's lines without leading spaces (CPack adds one; a second would
# make a verbatim line).
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_COMPONENTS_ALL runtime dev tools python)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libhsipc0)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)  # a shlibs file, so dependents' dpkg-shlibdeps work
# ldconfig through a trigger, and a symbols file (each symbol with the
# version that added it, checked by tests/install/check-symbols.sh).
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/cmake/debian/triggers ${PROJECT_SOURCE_DIR}/cmake/debian/symbols)
# CPack also writes postinst and postrm scripts that call ldconfig, which the
# trigger makes redundant (lintian: maintscript-calls-ldconfig), and has no
# switch to stop it: this drops them from the built libhsipc0 package.
set(CPACK_POST_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/debian/drop-ldconfig-scripts.cmake)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "shared-memory IPC library for processes on one Linux machine
hsipc passes messages between processes through buffers in shared memory,
with no copy through the kernel and no system call while the receiver polls.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libhsipc-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libhsipc0 (= ${PROJECT_VERSION})")
set(CPACK_DEBIAN_DEV_DESCRIPTION "development files for the hsipc shared-memory IPC library
Header, static library, pkg-config file and CMake package for hsipc, which
passes messages between processes through buffers in shared memory.")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME hsipc-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION utils)
# dpkg-shlibdeps cannot see libhsipc0 while it is being built beside it.
set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS "libhsipc0 (= ${PROJECT_VERSION}), libc6, libstdc++6")
set(CPACK_DEBIAN_TOOLS_DESCRIPTION "command-line tool and benchmark for hsipc shared-memory regions
The hsipc command creates, lists, inspects, removes and reaps the regions
of the hsipc IPC library, and runs its benchmark (hsipc bench), which
compares hsipc with pipes, Unix sockets and message queues.")

set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-hsipc)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
set(CPACK_DEBIAN_PYTHON_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS "libhsipc0 (>= ${PROJECT_VERSION}), python3")
set(CPACK_DEBIAN_PYTHON_DESCRIPTION "Python binding to the hsipc shared-memory IPC library
A pure-Python ctypes binding to libhsipc: regions, endpoints and messages,
with message data as zero-copy memoryviews over the shared memory.")

# hsipc-bridge, where it is built (libzmq found): the library's packages
# never depend on libzmq, this one does.
if(TARGET hsipc_bridge)
  list(APPEND CPACK_COMPONENTS_ALL bridge)
  set(CPACK_DEBIAN_BRIDGE_PACKAGE_NAME hsipc-bridge)
  set(CPACK_DEBIAN_BRIDGE_PACKAGE_SECTION net)
  # Stated, as for hsipc-tools: dpkg-shlibdeps cannot see libhsipc0 while it
  # is being built beside it. libzmq5 at least as new as the one built against.
  set(CPACK_DEBIAN_BRIDGE_PACKAGE_DEPENDS
    "libhsipc0 (= ${PROJECT_VERSION}), libzmq5 (>= ${HSIPC_ZMQ_VERSION}), libc6, libstdc++6")
  set(CPACK_DEBIAN_BRIDGE_DESCRIPTION "carries hsipc endpoints between hosts over ZeroMQ
One hsipc-bridge per host, attached to that host's region of the hsipc
shared-memory IPC library, lets a process on one host send to an endpoint
on another with the ordinary hsipc calls: the bridges carry messages and
replies between hosts over ZeroMQ (TCP), with bounded memory and counted
drops. See hsipc-bridge(1).")
endif()

include(CPack)
