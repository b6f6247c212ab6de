#pragma once
// A hook through which LoRA (and any other weight delta) is merged into a
// weight at load time, after it is converted to fp32 and before the op
// reorders it into its primitive layout. Names are canonical per component
// ("unet", "text_encoder", "vae").
#include <string>

#include "engine/core/tensor.hpp"

namespace skingen::engine {

class WeightPatcher {
 public:
  virtual ~WeightPatcher() = default;
  // Adds the deltas targeting `component`/`canonical_name` to `weight` (fp32, writable).
  virtual void patch(const std::string& component, const std::string& canonical_name, Tensor& weight) = 0;
};

}  // namespace skingen::engine
