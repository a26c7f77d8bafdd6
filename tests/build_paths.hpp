#pragma once
// Paths of this build tree. Only build_paths.cpp is compiled with them as strings; every other test file sees
// BEND_SOURCE_DIR, BEND_CLI_PATH, ... as calls to these functions. So the test files' command lines are the
// same in every checkout, and ccache shares their objects between worktrees.
namespace bend::testing::build {
const char* source_dir();
const char* binary_dir();
const char* cli();
const char* mnist_net();
const char* mnist_mlp();
const char* mnist_cnn_loop();
const char* mpi_world_check();
}  // namespace bend::testing::build
