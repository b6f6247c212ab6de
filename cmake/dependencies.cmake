# Every dependency is a Debian package (tools/debian-packages.txt); a missing
# one stops configuration with the name of the package to install. Each
# package is looked for before anything that needs it, so that the message
# names the package that is really missing, not the one whose CMake config
# happened to trip over it.
function(skingen_require found package)
  if(${found})
    return()
  endif()
  execute_process(COMMAND dpkg-query -W -f=\${Status} ${package}
                  OUTPUT_VARIABLE status ERROR_QUIET)
  if(status MATCHES "install ok installed")
    message(FATAL_ERROR "skingen: the Debian package '${package}' is installed, but CMake could not "
                        "use it (${found} is false); reinstall it or check what its CMake files need.")
  endif()
  message(FATAL_ERROR "skingen: missing dependency — install the Debian package '${package}' "
                      "(sudo apt-get install -y --no-install-recommends ${package}), or run "
                      "'make test', which installs it.")
endfunction()

find_package(PkgConfig QUIET)
skingen_require(PKG_CONFIG_FOUND pkg-config)
find_package(OpenMP QUIET)
skingen_require(OpenMP_CXX_FOUND libgomp1)
# Debian's oneDNN is built with its OpenCL GPU runtime: its package config
# requires OpenCL (headers and libOpenCL.so), which libdnnl-dev only
# recommends. Found here first, so a missing one is named as such.
find_package(OpenCL QUIET)
skingen_require(OpenCL_FOUND ocl-icd-opencl-dev)
find_package(dnnl CONFIG QUIET)
skingen_require(dnnl_FOUND libdnnl-dev)
find_package(nlohmann_json 3 CONFIG QUIET)
skingen_require(nlohmann_json_FOUND nlohmann-json3-dev)
find_package(CLI11 CONFIG QUIET)
skingen_require(CLI11_FOUND libcli11-dev)
find_package(ZLIB QUIET)
skingen_require(ZLIB_FOUND zlib1g-dev)
pkg_check_modules(STB QUIET IMPORTED_TARGET stb)
skingen_require(STB_FOUND libstb-dev)
if(SKINGEN_TESTS)
  find_package(Catch2 2 CONFIG QUIET)
  skingen_require(Catch2_FOUND catch2)
endif()
