// skingen bench …: performance measurements. Each benchmark is its own
// subcommand registered here (bench ops, bench unet, bench lora, bench generate).
#include "tools/cli/commands.hpp"

namespace skingen::cli {

void register_bench_ops(CLI::App& bench);
void register_bench_unet(CLI::App& bench);
void register_bench_lora(CLI::App& bench);
void register_bench_generate(CLI::App& bench);

void register_bench(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Measure speed against the machine's peak, measured in the same run");
  bench->require_subcommand(1);
  register_bench_ops(*bench);
  register_bench_unet(*bench);
  register_bench_lora(*bench);
  register_bench_generate(*bench);
}

}  // namespace skingen::cli
