#pragma once
// The WeightSource of one model component (UNet, VAE, text encoder) inside a
// TensorStore: translates canonical names to the stored names of the file's
// layout, checks shapes, converts to fp32 and applies LoRA patches. Strict:
// whatever is left unused afterwards is reported by the loader.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/tensor_store.hpp"
#include "engine/weight_patcher.hpp"
#include "engine/weight_scope.hpp"

namespace skingen::models {

using CheckpointWeightsNameMap = std::function<std::optional<std::string>(const std::string&)>;

class CheckpointWeights : public engine::WeightSource {
 public:
  // canonical (relative) name → stored name relative to `stored_prefix`; nullopt when the layout has no such tensor.
  using NameMap = CheckpointWeightsNameMap;

  CheckpointWeights(const engine::TensorStore& store, std::string component, std::string stored_prefix,
                    NameMap to_stored, engine::WeightPatcher* patcher = nullptr);

  engine::Tensor take(const std::string& canonical_name, const engine::Shape& expected) override;
  bool has(const std::string& canonical_name) const override;
  std::optional<engine::Shape> shape_of(const std::string& canonical_name) const override;

  // Stored names under the prefix that no module took (full store names).
  std::vector<std::string> unused() const;
  // Throws FormatError listing (the first few) unused tensors.
  void require_all_used() const;

  const std::string& component() const { return component_; }
  const engine::TensorStore& store() const { return *store_; }

 private:
  const engine::TensorStore* store_;
  std::string component_;
  std::string prefix_;
  NameMap to_stored_;
  engine::WeightPatcher* patcher_;

  std::optional<std::string> stored_name(const std::string& canonical) const;
};

}  // namespace skingen::models
