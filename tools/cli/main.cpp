// The skingen command line: argument parsing and wiring only. This is the one
// place that catches exceptions and turns them into messages and exit codes:
// 0 success, 1 runtime error, 2 usage error (docs/ARCHITECTURE.md, "Rules the
// code follows").
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "engine/core/error.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/omp_wait_policy.hpp"

namespace {

void print_error(const std::string& msg) { std::fprintf(stderr, "skingen: error: %s\n", msg.c_str()); }

}  // namespace

int main(int argc, char** argv) {
  skingen::cli::ensure_short_omp_spin(argv);
  CLI::App app{"skingen " SKINGEN_VERSION
               " — Stable Diffusion checkpoints plus kohya LoRAs to PNG textures, on the CPU"};
  app.name("skingen");
  app.option_defaults()->always_capture_default();
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(SKINGEN_VERSION));
  skingen::cli::register_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    print_error(e.what());
    std::fprintf(stderr, "Run 'skingen --help' or 'skingen COMMAND --help' for the options.\n");
    return 2;
  } catch (const skingen::UsageError& e) {
    print_error(e.what());
    return 2;
  } catch (const skingen::Cancelled&) {
    print_error("interrupted; no partial output was left");
    return 130;
  } catch (const std::exception& e) {
    print_error(e.what());
    return 1;
  }
  return 0;
}
