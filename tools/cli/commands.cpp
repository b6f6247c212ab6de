#include "tools/cli/commands.hpp"

namespace skingen::cli {

// One declaration per cmd_*.cpp.
void register_inspect(CLI::App& app);
void register_info(CLI::App& app);
void register_compare(CLI::App& app);
void register_eval(CLI::App& app);
void register_eval_noise(CLI::App& app);  // joins the `eval` group
void register_tokenize(CLI::App& app);
void register_bench(CLI::App& app);
void register_fixture(CLI::App& app);
void register_generate(CLI::App& app);
void register_lora_check(CLI::App& app);
void register_demo(CLI::App& app);
void register_regress(CLI::App& app);
void register_batch(CLI::App& app);

void register_commands(CLI::App& app) {
  register_generate(app);
  register_inspect(app);
  register_info(app);
  register_compare(app);
  register_eval(app);
  register_eval_noise(app);
  register_tokenize(app);
  register_bench(app);
  register_fixture(app);
  register_lora_check(app);
  register_demo(app);
  register_regress(app);
  register_batch(app);
}

}  // namespace skingen::cli
