#include "engine/key_info.hpp"

#include "engine/tensor_store.hpp"

namespace skingen::engine {

std::vector<KeyInfo> key_infos(const TensorStore& store, bool read_scalars) {
  std::vector<KeyInfo> keys;
  keys.reserve(store.size());
  for (const auto& e : store.entries()) {
    KeyInfo k{e.name, e.info->dtype, e.info->shape, std::nullopt};
    if (read_scalars && shape_numel(k.shape) == 1) {
      float v = 0;
      convert_to_f32(k.dtype, e.file->view(*e.info).raw(), &v, 1);
      k.value = v;
    }
    keys.push_back(std::move(k));
  }
  return keys;
}

std::uint64_t float_parameters(const std::vector<const KeyInfo*>& keys) {
  std::uint64_t n = 0;
  for (const auto* k : keys)
    if (is_float_dtype(k->dtype)) n += static_cast<std::uint64_t>(shape_numel(k->shape));
  return n;
}

}  // namespace skingen::engine
