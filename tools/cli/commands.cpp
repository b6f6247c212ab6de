#include "tools/cli/commands.hpp"

namespace skingen::cli {

// One declaration per cmd_*.cpp.
void register_inspect(CLI::App& app);
void register_fixture(CLI::App& app);

void register_commands(CLI::App& app) {
  register_inspect(app);
  register_fixture(app);
}

}  // namespace skingen::cli
