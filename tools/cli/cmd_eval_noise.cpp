// skingen eval noise: the initial noise `generate` draws for a seed, so that
// other tools can be fed the same starting point (and our RNG checked
// against theirs).
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "engine/core/error.hpp"
#include "engine/rng.hpp"
#include "engine/safetensors_writer.hpp"
#include "tools/cli/commands.hpp"

namespace skingen::cli {
namespace {

engine::Shape parse_shape(const std::string& text) {
  engine::Shape shape;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = text.find(',', pos);
    const std::string part = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != part.size() || v < 1 || v > (1LL << 24))
      throw UsageError("--shape: expected comma-separated positive sizes like 1,4,64,64, got '" + text + "'");
    shape.push_back(v);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (shape.size() < 2 || shape.size() > 4)
    throw UsageError("--shape: expected 2 to 4 dimensions [B, …], got '" + text + "'");
  if (engine::shape_numel(shape) > (std::int64_t{1} << 28))
    throw UsageError("--shape: " + engine::shape_str(shape) + " is too large");
  return shape;
}

// The `eval` group is shared with other eval subcommands; whoever registers
// first creates it.
CLI::App* eval_group(CLI::App& app) {
  const auto found = app.get_subcommands([](CLI::App* a) { return a->get_name() == "eval"; });
  if (!found.empty()) return found.front();
  auto* eval = app.add_subcommand("eval", "Tensor in, tensor out: run one model part on a safetensors input");
  eval->require_subcommand(1);
  return eval;
}

}  // namespace

void register_eval_noise(CLI::App& app) {
  struct Options {
    std::uint64_t seed = 0;
    std::string shape = "1,4,64,64";
    std::string rng = "cpu";
    std::string batch_seeds = "increment";
    std::string output;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = eval_group(app)->add_subcommand(
      "noise", "Write the initial noise generate draws: tensor 'noise' [B, C, h, w], image i from seed + i "
               "(--batch-seeds stream: the whole tensor as one torch.randn)");
  cmd->add_option("--seed", o->seed, "Seed (torch.manual_seed semantics for --rng cpu: low 32 bits)");
  cmd->add_option("--shape", o->shape, "Latent shape B,C,h,w (h, w = image size / 8)");
  cmd->add_option("--rng", o->rng, "cpu: torch.randn on CPU (ComfyUI, A1111 RNG=CPU); philox: A1111's GPU seeds")
      ->check(CLI::IsMember({"cpu", "philox"}));
  cmd->add_option("--batch-seeds", o->batch_seeds,
                  "increment: image i from seed + i (A1111); stream: torch.randn(shape) after manual_seed(seed) "
                  "(ComfyUI, diffusers; needs --rng cpu)");
  cmd->add_option("--output", o->output, "safetensors file to write (atomically)")->required();
  cmd->callback([o] {
    const auto shape = parse_shape(o->shape);
    const auto kind = engine::parse_rng_kind(o->rng);
    if (!kind) throw UsageError("--rng: expected cpu or philox, got '" + o->rng + "'");
    const auto mode = engine::parse_batch_seeds(o->batch_seeds);
    if (!mode) throw UsageError("--batch-seeds: expected increment or stream, got '" + o->batch_seeds + "'");
    auto sources = engine::batch_noise_sources(*kind, *mode, o->seed, shape[0]);
    std::map<std::string, std::string> meta{{"seed", std::to_string(o->seed)}, {"rng", o->rng}};
    if (*mode == engine::BatchSeeds::Stream) meta["batch_seeds"] = o->batch_seeds;
    engine::write_safetensors(o->output, {{"noise", sources.initial.draw(shape)}}, meta);
  });
}

}  // namespace skingen::cli
