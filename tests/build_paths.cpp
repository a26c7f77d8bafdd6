#include "build_paths.hpp"

// The strings come from tests/CMakeLists.txt as this one file's compile definitions; a program the build did
// not make is an empty path (its tests are compiled out by the #ifdef on the public macro).
#ifndef BEND_BUILD_CLI
#define BEND_BUILD_CLI ""
#endif
#ifndef BEND_BUILD_MNIST_NET
#define BEND_BUILD_MNIST_NET ""
#endif
#ifndef BEND_BUILD_MNIST_MLP
#define BEND_BUILD_MNIST_MLP ""
#endif
#ifndef BEND_BUILD_MNIST_CNN_LOOP
#define BEND_BUILD_MNIST_CNN_LOOP ""
#endif
#ifndef BEND_BUILD_MPI_WORLD_CHECK
#define BEND_BUILD_MPI_WORLD_CHECK ""
#endif

namespace bend::testing::build {
const char* source_dir() { return BEND_BUILD_SOURCE_DIR; }
const char* binary_dir() { return BEND_BUILD_BINARY_DIR; }
const char* cli() { return BEND_BUILD_CLI; }
const char* mnist_net() { return BEND_BUILD_MNIST_NET; }
const char* mnist_mlp() { return BEND_BUILD_MNIST_MLP; }
const char* mnist_cnn_loop() { return BEND_BUILD_MNIST_CNN_LOOP; }
const char* mpi_world_check() { return BEND_BUILD_MPI_WORLD_CHECK; }
}  // namespace bend::testing::build
