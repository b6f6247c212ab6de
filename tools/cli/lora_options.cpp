#include "tools/cli/lora_options.hpp"

#include <chrono>

#include "engine/bench_timer.hpp"

namespace skingen::cli {

std::vector<LoraSpec> lora_specs(const ModelOptions& o) {
  std::vector<LoraSpec> r;
  for (const auto& text : o.loras) r.push_back(parse_lora_spec(text));
  return r;
}

std::unique_ptr<engine::LoraPatcher> make_lora_patcher(ops::Context& ctx, const engine::TensorStore& store,
                                                       const models::UNetDetection* unet,
                                                       const std::vector<LoraSpec>& specs,
                                                       const models::LoraLoadedParts& parts, bool strict, bool verbose,
                                                       bool record_norms) {
  if (specs.empty()) return nullptr;
  std::vector<engine::LoraRequest> requests;
  for (const auto& s : specs) requests.push_back({s.path, {{"unet", s.unet_weight}, {"text_encoder", s.te_weight}}});
  engine::LoraOptions lo;
  lo.strict = strict;
  lo.verbose = verbose;
  lo.record_norms = record_norms;
  return std::make_unique<engine::LoraPatcher>(ctx, models::lora_model_targets(store, unet, parts), std::move(requests),
                                               lo);
}

void print_lora_report(const engine::LoraPatcher& patcher, std::FILE* to) {
  for (const auto& line : patcher.report()) std::fprintf(to, "%s\n", line.c_str());
}

MergeTime merge_planned_weights(const engine::TensorStore& store, engine::LoraPatcher& patcher, int threads) {
  MergeTime t;
  for (const auto& p : patcher.planned()) {
    const auto& comp = patcher.model().components[static_cast<std::size_t>(p.component)];
    const auto& target = comp.targets[static_cast<std::size_t>(p.target)];
    engine::Tensor w = models::read_lora_target(store, target, p.weight.ends_with(".bias"));
    const double c0 = engine::team_cpu_seconds(threads);
    const auto t0 = std::chrono::steady_clock::now();
    patcher.patch(comp.name, p.weight, w);
    t.wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t.cpu += engine::team_cpu_seconds(threads) - c0;
  }
  return t;
}

}  // namespace skingen::cli
