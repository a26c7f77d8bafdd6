// bend lab (placeholder until the activation lab lands).
#include "cli.hpp"

namespace bend::cli {
int run_lab(int, char**) { throw UsageError("'lab' is not available in this build yet"); }
}  // namespace bend::cli
