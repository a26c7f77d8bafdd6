# The system libraries bend builds and links against (Debian packages, see scripts/install-deps.sh).
# Shared by the build and by the installed bendConfig.cmake, so consumers find the same ones.
include(CMakeFindDependencyMacro)
find_dependency(fmt)
find_dependency(ZLIB)
find_dependency(nlohmann_json)
find_dependency(PkgConfig)
if(NOT TARGET PkgConfig::OpenBLAS)
  pkg_check_modules(OpenBLAS REQUIRED IMPORTED_TARGET GLOBAL openblas)
endif()
