#pragma once
// Row gather: out[b, t] = table[ids[b, t]] (token embeddings).
#include "ops/layout.hpp"

namespace skingen::ops {

// table: fp32 [V, D]; ids: I32 or I64 [B, T] → [B, T, D]. Throws FormatError for an id outside [0, V).
Tensor embedding(Context& ctx, BufferPool& pool, const Tensor& table, const Tensor& ids);

}  // namespace skingen::ops
