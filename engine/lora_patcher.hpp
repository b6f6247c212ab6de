#pragma once
// LoRA at load time: the WeightPatcher that merges any number of LoRA files
// into the weights as the loader hands them out (fp32, before the ops reorder
// them): W ← W + Σ ΔW, each LoRA with its own multiplier per component.
// Everything that can go wrong is found in the constructor, before the model
// is loaded: unreadable or broken files, LoRAs for another model family,
// shape mismatches, zero modules that apply, and (strict) unmatched keys.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/lora_delta.hpp"
#include "engine/lora_file.hpp"
#include "engine/lora_gemm.hpp"
#include "engine/lora_index.hpp"
#include "engine/weight_patcher.hpp"

namespace skingen::engine {

struct LoraRequest {
  std::filesystem::path path;
  std::map<std::string, double> multipliers;  // component → multiplier (missing: 1)
  double multiplier(const std::string& component) const {
    const auto it = multipliers.find(component);
    return it == multipliers.end() ? 1.0 : it->second;
  }
};

struct LoraOptions {
  bool strict = false;        // any key that matches nothing is an error
  bool verbose = false;       // list every unmatched key (else the first few)
  bool record_norms = false;  // keep ‖ΔW‖ per module (lora-check)
};

// How many unmatched keys are listed without --verbose.
constexpr std::size_t kLoraUnmatchedListed = 5;

class LoraPatcher : public WeightPatcher {
 public:
  struct Module {
    LoraResolution resolution;
    std::string hint;        // closest real key, for unmatched modules that are listed
    int parts = 0;           // weight and/or bias patches expected
    int parts_done = 0;
    double seconds = 0;
    double flops = 0;
    std::optional<double> delta_norm;   // ‖W' − W‖ over its parts (record_norms)
    std::optional<double> weight_norm;  // ‖W‖ of its weight before any LoRA (record_norms)
    std::string dora_axis;             // "output" / "input" for DoRA modules
    bool applied() const { return parts > 0 && parts_done == parts; }
  };
  struct Lora {
    LoraRequest request;
    LoraFile file;
    std::vector<Module> modules;  // parallel to file.modules
    std::vector<std::pair<std::string, std::string>> unrecognized;  // tensor, hint-free reason
  };
  struct Planned {
    int component = -1, target = -1;
    std::string weight;  // canonical weight name ("….weight" / "….bias")
  };

  // Reads and resolves every LoRA against `model`; throws FormatError naming
  // the file for anything that makes a LoRA inapplicable.
  LoraPatcher(ops::Context& ctx, LoraModelTargets model, std::vector<LoraRequest> requests,
              const LoraOptions& options = {});
  LoraPatcher(const LoraPatcher&) = delete;  // the index points into model_
  LoraPatcher& operator=(const LoraPatcher&) = delete;

  void patch(const std::string& component, const std::string& canonical_name, Tensor& weight) override;

  const std::vector<Lora>& loras() const { return loras_; }
  const LoraModelTargets& model() const { return model_; }
  // The weights some LoRA patches, in a stable order (lora-check reads them itself).
  std::vector<Planned> planned() const;
  // One line per LoRA with the count of modules applied, so that a LoRA that
  // matched nothing cannot go unnoticed (README, "LoRA"), then the unmatched keys.
  std::vector<std::string> report() const;

 private:
  struct Entry {
    int lora, module;
    bool bias;
  };
  LoraModelTargets model_;
  LoraIndex index_;
  LoraOptions options_;
  LoraGemm gemm_;
  std::vector<Lora> loras_;
  std::map<std::string, std::vector<Entry>> plan_;  // component + '/' + canonical weight name

  void resolve(Lora& lora);
  void apply(const Entry& e, const std::string& component, const Tensor& w0, double w0_norm, Tensor& weight);
};

}  // namespace skingen::engine
