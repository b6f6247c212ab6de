#pragma once
// Each subcommand lives in its own cmd_*.cpp and registers itself on the app
// here; its callback does the work. Exceptions leave through main().
#include <CLI/CLI.hpp>

namespace skingen::cli {

void register_commands(CLI::App& app);

}  // namespace skingen::cli
