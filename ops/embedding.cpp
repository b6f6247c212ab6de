#include "ops/embedding.hpp"

#include <cstring>
#include <string>

#include "engine/core/error.hpp"

namespace skingen::ops {

Tensor embedding(Context&, BufferPool& pool, const Tensor& table, const Tensor& ids) {
  using engine::DType;
  if (ids.dtype() != DType::I32 && ids.dtype() != DType::I64)
    throw FormatError("token ids must be I32 or I64, got " + std::string(engine::dtype_name(ids.dtype())));
  const auto V = table.dim(0), D = table.dim(1);
  Shape s = ids.shape();
  s.push_back(D);
  Tensor out = pool.take_f32(s);
  const auto n = ids.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t id;
    if (ids.dtype() == DType::I64) std::memcpy(&id, static_cast<const char*>(ids.raw()) + 8 * i, 8);
    else {
      std::int32_t v;
      std::memcpy(&v, static_cast<const char*>(ids.raw()) + 4 * i, 4);
      id = v;
    }
    if (id < 0 || id >= V)
      throw FormatError("token id " + std::to_string(id) + " at position " + std::to_string(i) +
                        " is outside the vocabulary of " + std::to_string(V));
    std::memcpy(out.f32_mut() + i * D, table.f32_data() + id * D, static_cast<std::size_t>(D) * sizeof(float));
  }
  return out;
}

}  // namespace skingen::ops
