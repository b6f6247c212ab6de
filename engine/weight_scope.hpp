#pragma once
// Binding weights by declaring modules (docs/ARCHITECTURE.md, "Rules the code
// follows"), so that forward() never looks a weight up by name: a module's
// constructor receives a WeightScope for its own prefix and takes its tensors
// by relative name with the shape it expects; sub-modules get sub-scopes.
// Names are canonical (one naming per model, diffusers-style); the
// WeightSource behind the scope translates them to whatever layout the file
// uses and merges LoRA deltas before handing out fp32.
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/tensor.hpp"

namespace skingen::engine {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // fp32 weight for a canonical name; throws FormatError naming the stored
  // tensor when it is missing or its shape differs from `expected`.
  virtual Tensor take(const std::string& canonical_name, const Shape& expected) = 0;
  virtual bool has(const std::string& canonical_name) const = 0;
  // The stored shape of a canonical name, if present (for config detection).
  virtual std::optional<Shape> shape_of(const std::string& canonical_name) const = 0;
};

class WeightScope {
 public:
  WeightScope(WeightSource& source, std::string prefix = "") : source_(&source), prefix_(std::move(prefix)) {}

  WeightScope sub(std::string_view name) const { return WeightScope(*source_, prefix_ + std::string(name) + "."); }
  WeightScope sub(int index) const { return sub(std::to_string(index)); }

  Tensor take(std::string_view name, const Shape& shape) const { return source_->take(path(name), shape); }
  // For weights a module may or may not have (e.g. a conv bias); shape-checked when present.
  std::optional<Tensor> take_optional(std::string_view name, const Shape& shape) const {
    if (!has(name)) return std::nullopt;
    return take(name, shape);
  }
  bool has(std::string_view name) const { return source_->has(path(name)); }
  std::optional<Shape> shape_of(std::string_view name) const { return source_->shape_of(path(name)); }
  std::string path(std::string_view name) const { return prefix_ + std::string(name); }
  const std::string& prefix() const { return prefix_; }

 private:
  WeightSource* source_;
  std::string prefix_;
};

}  // namespace skingen::engine
