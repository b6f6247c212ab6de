#include "tools/cli/lora_options.hpp"

#include <cmath>
#include <filesystem>

#include "engine/core/error.hpp"

namespace skingen::cli {
namespace {

bool parse_number(const std::string& s, double& v) {
  if (s.empty()) return false;
  std::size_t used = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == s.size();
}

}  // namespace

engine::LoraRequest parse_lora_spec(const std::string& spec) {
  engine::LoraRequest r;
  std::string path = spec;
  std::vector<double> scales;
  // Trailing ":number" fields, unless the whole text names an existing file.
  std::error_code ec;
  while (scales.size() < 2 && !std::filesystem::exists(path, ec)) {
    const auto colon = path.rfind(':');
    if (colon == std::string::npos) break;
    double v = 0;
    if (!parse_number(path.substr(colon + 1), v))
      throw UsageError("--lora '" + spec + "': '" + path.substr(colon + 1) +
                       "' is not a number; expected FILE[:UNET_SCALE[:TE_SCALE]]");
    if (!std::isfinite(v)) throw UsageError("--lora '" + spec + "': the multiplier must be finite");
    scales.insert(scales.begin(), v);
    path.resize(colon);
  }
  if (path.empty()) throw UsageError("--lora '" + spec + "': no file name; expected FILE[:UNET_SCALE[:TE_SCALE]]");
  r.path = path;
  const double unet = scales.empty() ? 1.0 : scales[0];
  r.multipliers["unet"] = unet;
  r.multipliers["text_encoder"] = scales.size() > 1 ? scales[1] : unet;
  return r;
}

std::unique_ptr<engine::LoraPatcher> make_lora_patcher(ops::Context& ctx, const engine::TensorStore& store,
                                                       const models::UNetDetection& unet, const ModelOptions& o,
                                                       const models::LoraLoadedParts& parts, bool record_norms) {
  if (o.loras.empty()) return nullptr;
  std::vector<engine::LoraRequest> requests;
  for (const auto& spec : o.loras) requests.push_back(parse_lora_spec(spec));
  engine::LoraOptions lo;
  lo.strict = o.lora_strict;
  lo.verbose = o.verbose;
  lo.record_norms = record_norms;
  return std::make_unique<engine::LoraPatcher>(ctx, models::lora_model_targets(store, &unet, parts),
                                               std::move(requests), lo);
}

void print_lora_report(const engine::LoraPatcher& patcher, std::FILE* to) {
  for (const auto& line : patcher.report()) std::fprintf(to, "%s\n", line.c_str());
}

}  // namespace skingen::cli
