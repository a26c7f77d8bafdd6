// Catch2 v2 supplies main() for the whole test binary.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
