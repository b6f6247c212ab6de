#include "engine/core/buffer_pool.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

namespace skingen::engine {

struct BufferPool::State {
  std::mutex mutex;
  std::multimap<std::size_t, void*> free_list;  // byte size → buffer
  Stats stats;
  std::size_t in_use = 0;

  ~State() {
    for (auto& [size, p] : free_list) std::free(p);
  }
};

BufferPool::BufferPool() : state_(std::make_shared<State>()) {}
BufferPool::~BufferPool() = default;

Tensor BufferPool::take(DType dtype, Shape shape) {
  const std::size_t bytes = static_cast<std::size_t>(shape_numel(shape)) * dtype_size(dtype);
  const std::size_t size = std::max<std::size_t>(
      kTensorAlignment, (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment);
  void* p = nullptr;
  {
    std::lock_guard lock(state_->mutex);
    auto it = state_->free_list.find(size);
    if (it != state_->free_list.end()) {
      p = it->second;
      state_->free_list.erase(it);
      ++state_->stats.reuses;
    }
  }
  if (!p) {
    p = std::aligned_alloc(kTensorAlignment, size);
    if (!p) throw std::bad_alloc();
    std::lock_guard lock(state_->mutex);
    ++state_->stats.allocations;
    state_->stats.bytes_held += size;
  }
  {
    std::lock_guard lock(state_->mutex);
    state_->in_use += size;
    state_->stats.peak_bytes_in_use = std::max(state_->stats.peak_bytes_in_use, state_->in_use);
  }
  std::weak_ptr<State> weak = state_;
  std::shared_ptr<void> owner(p, [weak, size](void* q) {
    if (auto s = weak.lock()) {
      std::lock_guard lock(s->mutex);
      s->in_use -= size;
      s->free_list.emplace(size, q);
    } else {
      std::free(q);
    }
  });
  return Tensor::wrap(dtype, std::move(shape), p, std::move(owner));
}

BufferPool::Stats BufferPool::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

void BufferPool::trim() {
  std::lock_guard lock(state_->mutex);
  for (auto& [size, p] : state_->free_list) {
    std::free(p);
    state_->stats.bytes_held -= size;
  }
  state_->free_list.clear();
}

}  // namespace skingen::engine
