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
# bendConfig.cmake sets BEND_MPI to how bend was built; a static libbend built with MPI needs it.
if(BEND_MPI)
  if(NOT CMAKE_C_COMPILER_LOADED)
    enable_language(C)  # FindMPI's C component needs the C compiler enabled
  endif()
  find_dependency(MPI COMPONENTS C)
endif()
