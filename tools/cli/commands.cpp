#include "tools/cli/commands.hpp"

namespace skingen::cli {

// One declaration per cmd_*.cpp.
void register_inspect(CLI::App& app);
void register_info(CLI::App& app);
void register_compare(CLI::App& app);

void register_commands(CLI::App& app) {
  register_inspect(app);
  register_info(app);
  register_compare(app);
}

}  // namespace skingen::cli
