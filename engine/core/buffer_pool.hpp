#pragma once
// Recycles activation buffers so that a model's forward pass allocates only
// the first time it sees a shape: tensors handed out return their storage to
// the pool when the last copy is dropped. The pool state is shared with the
// buffers it hands out, so buffers may outlive the BufferPool object.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/core/tensor.hpp"

namespace skingen::engine {

class BufferPool {
 public:
  BufferPool();
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // Uninitialised fp32 (or any dtype) tensor; reuses a free buffer of the same byte size.
  Tensor take(DType dtype, Shape shape);
  Tensor take_f32(Shape shape) { return take(DType::F32, std::move(shape)); }

  struct Stats {
    std::uint64_t allocations = 0;  // fresh buffers obtained from the system
    std::uint64_t reuses = 0;       // buffers served from the free list
    std::size_t bytes_held = 0;     // all buffers, in use or free
    std::size_t peak_bytes_in_use = 0;
  };
  Stats stats() const;
  // Frees every buffer currently not in use.
  void trim();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace skingen::engine
