// bend plot (placeholder until the activation lab lands).
#include "cli.hpp"

namespace bend::cli {
int run_plot(int, char**) { throw UsageError("'plot' is not available in this build yet"); }
}  // namespace bend::cli
