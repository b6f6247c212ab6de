#pragma once
// What the model-detection functions look at: tensor names, dtypes, shapes,
// and the values of scalar tensors (LoRA alphas). Detection is pure over
// these lists (engine/checkpoint_kind.hpp, engine/lora_kind.hpp), so that it
// is testable without files.
#include <optional>
#include <string>
#include <vector>

#include "engine/core/dtype.hpp"
#include "engine/core/tensor.hpp"

namespace skingen::engine {

class TensorStore;

struct KeyInfo {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  std::optional<double> value;  // for one-element tensors, when read
};

// Every tensor of a store. With `read_scalars`, the value of each
// one-element tensor is read from the file (a few bytes each: LoRA `.alpha`
// and `.scale`); nothing else of the data is touched.
std::vector<KeyInfo> key_infos(const TensorStore& store, bool read_scalars);

// Elements of the floating-point tensors among `keys` (parameters, as
// opposed to integer buffers such as position ids).
std::uint64_t float_parameters(const std::vector<const KeyInfo*>& keys);

}  // namespace skingen::engine
