#include "tools/cli/lora_options.hpp"

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

}  // namespace skingen::cli
