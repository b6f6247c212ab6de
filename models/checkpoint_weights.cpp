#include "models/checkpoint_weights.hpp"

#include "engine/core/error.hpp"

namespace skingen::models {

CheckpointWeights::CheckpointWeights(const engine::TensorStore& store, std::string component,
                                     std::string stored_prefix, NameMap to_stored, engine::WeightPatcher* patcher)
    : store_(&store),
      component_(std::move(component)),
      prefix_(std::move(stored_prefix)),
      to_stored_(std::move(to_stored)),
      patcher_(patcher) {}

std::optional<std::string> CheckpointWeights::stored_name(const std::string& canonical) const {
  auto s = to_stored_ ? to_stored_(canonical) : std::optional<std::string>(canonical);
  if (!s) return std::nullopt;
  return prefix_ + *s;
}

bool CheckpointWeights::has(const std::string& canonical_name) const {
  auto s = stored_name(canonical_name);
  return s && store_->contains(*s);
}

std::optional<engine::Shape> CheckpointWeights::shape_of(const std::string& canonical_name) const {
  auto s = stored_name(canonical_name);
  if (!s) return std::nullopt;
  const auto* e = store_->find(*s);
  if (!e) return std::nullopt;
  return e->info->shape;
}

engine::Tensor CheckpointWeights::take(const std::string& canonical_name, const engine::Shape& expected) {
  auto s = stored_name(canonical_name);
  const auto* e = s ? store_->find(*s) : nullptr;
  if (!e)
    throw FormatError(store_->path().string() + ": missing tensor '" + (s ? *s : canonical_name) + "' (" +
                      component_ + " " + canonical_name + ", expected shape " + engine::shape_str(expected) + ")");
  // A 1×1 conv stored as [out, in] (or a linear stored as [out, in, 1, 1]) is the same weight.
  const auto& got = e->info->shape;
  if (got != expected && engine::shape_numel(got) != engine::shape_numel(expected))
    throw FormatError(e->file->path().string() + ": tensor '" + *s + "' has shape " + engine::shape_str(got) +
                      ", expected " + engine::shape_str(expected) + " (" + component_ + " " + canonical_name + ")");
  if (got != expected) {
    auto squeeze = [](engine::Shape sh) {
      while (sh.size() > 2 && sh.back() == 1) sh.pop_back();
      return sh;
    };
    if (squeeze(got) != squeeze(expected))
      throw FormatError(e->file->path().string() + ": tensor '" + *s + "' has shape " + engine::shape_str(got) +
                        ", expected " + engine::shape_str(expected) + " (" + component_ + " " + canonical_name + ")");
  }
  engine::Tensor w = store_->read_f32(*s).reshaped(expected);
  if (patcher_) patcher_->patch(component_, canonical_name, w);
  return w;
}

std::vector<std::string> CheckpointWeights::unused() const { return store_->unused(prefix_); }

void CheckpointWeights::require_all_used() const {
  const auto left = unused();
  if (left.empty()) return;
  std::string list;
  for (std::size_t i = 0; i < left.size() && i < 5; ++i) list += (i ? ", " : "") + left[i];
  if (left.size() > 5) list += ", … (" + std::to_string(left.size()) + " in all)";
  throw FormatError(store_->path().string() + ": " + std::to_string(left.size()) + " " + component_ +
                    " tensor(s) not used by the model: " + list);
}

}  // namespace skingen::models
