# SPDX-License-Identifier: MIT
# Run by cpack after it builds the packages (CPACK_POST_BUILD_SCRIPTS):
# repacks libhsipc0 without the postinst and postrm that CPack writes to
# call ldconfig. The package's triggers file (activate-noawait ldconfig)
# does that job, as Debian policy wants (lintian: maintscript-calls-ldconfig).
foreach(deb IN LISTS CPACK_PACKAGE_FILES)
  get_filename_component(name "${deb}" NAME)
  if(NOT name MATCHES "^libhsipc0_.*\\.deb$")
    continue()
  endif()
  set(tree "${deb}.tree")
  file(REMOVE_RECURSE "${tree}")
  execute_process(COMMAND dpkg-deb -R "${deb}" "${tree}" COMMAND_ERROR_IS_FATAL ANY)
  file(REMOVE "${tree}/DEBIAN/postinst" "${tree}/DEBIAN/postrm")
  execute_process(COMMAND dpkg-deb --root-owner-group -Zxz -b "${tree}" "${deb}"
    OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
  file(REMOVE_RECURSE "${tree}")
endforeach()
