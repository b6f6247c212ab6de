#pragma once
// Small helpers around the oneDNN C++ API shared by the primitive-backed ops.
#include <dnnl.hpp>
#include <string>
#include <vector>

#include "engine/core/tensor.hpp"

namespace skingen::ops {

using dnnl_tag = dnnl::memory::format_tag;
using dnnl_dt = dnnl::memory::data_type;

// A oneDNN memory over existing storage (oneDNN takes a non-const pointer
// even for inputs it only reads).
inline dnnl::memory wrap_memory(const dnnl::memory::desc& md, const dnnl::engine& eng, const void* data) {
  return dnnl::memory(md, eng, const_cast<void*>(data));
}

inline dnnl::memory::dims to_dims(const engine::Shape& s) { return dnnl::memory::dims(s.begin(), s.end()); }

// oneDNN's reference kernels (plain C++ loops, 10–100× slower) are named
// "ref:any", "ref_fused_…", "gemm:ref" etc.: a hot primitive must never land there.
inline bool is_reference_impl(const std::string& impl) {
  return impl.rfind("ref", 0) == 0 || impl.find(":ref") != std::string::npos;
}

// Weights reordered into the blocked layouts primitives ask for, one copy per
// distinct layout (a 1×1 convolution's preferred layout can change with the
// input size; 3×3 ones and matmuls keep one).
class PackedWeights {
 public:
  PackedWeights() = default;
  PackedWeights(const dnnl::memory::desc& plain_md, const float* plain, const dnnl::memory::desc& packed_md,
                const dnnl::engine& eng, dnnl::stream& stream);

  // The packed copy in layout `md`, reordered from the first copy on first request.
  const dnnl::memory& get(const dnnl::memory::desc& md, const dnnl::engine& eng, dnnl::stream& stream);
  std::size_t copies() const { return copies_.size(); }
  std::size_t bytes() const;

 private:
  std::vector<dnnl::memory> copies_;
};

}  // namespace skingen::ops
