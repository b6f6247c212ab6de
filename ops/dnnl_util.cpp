#include "ops/dnnl_util.hpp"

namespace skingen::ops {

PackedWeights::PackedWeights(const dnnl::memory::desc& plain_md, const float* plain,
                             const dnnl::memory::desc& packed_md, const dnnl::engine& eng, dnnl::stream& stream) {
  dnnl::memory src = wrap_memory(plain_md, eng, plain);
  dnnl::memory dst(packed_md, eng);
  dnnl::reorder(src, dst).execute(stream, src, dst);
  stream.wait();
  copies_.push_back(std::move(dst));
}

const dnnl::memory& PackedWeights::get(const dnnl::memory::desc& md, const dnnl::engine& eng, dnnl::stream& stream) {
  for (const auto& m : copies_)
    if (m.get_desc() == md) return m;
  dnnl::memory dst(md, eng);
  dnnl::reorder(copies_.front(), dst).execute(stream, const_cast<dnnl::memory&>(copies_.front()), dst);
  stream.wait();
  copies_.push_back(std::move(dst));
  return copies_.back();
}

std::size_t PackedWeights::bytes() const {
  std::size_t b = 0;
  for (const auto& m : copies_) b += m.get_desc().get_size();
  return b;
}

}  // namespace skingen::ops
