#pragma once
// A dense, contiguous, row-major tensor. Storage is either owned (an aligned
// heap or pool buffer) or borrowed (a view into a mapped file, kept alive by a
// shared owner). Copies share storage; clone() copies the bytes.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/dtype.hpp"

namespace skingen::engine {

using Shape = std::vector<std::int64_t>;

std::string shape_str(const Shape& s);  // "[320, 4, 3, 3]"
std::int64_t shape_numel(const Shape& s);

// Aligned so that vector loads never split cache lines and oneDNN is happy.
constexpr std::size_t kTensorAlignment = 64;

class Tensor {
 public:
  Tensor() = default;

  // Owned, uninitialised storage.
  static Tensor empty(DType dtype, Shape shape);
  static Tensor zeros(DType dtype, Shape shape);
  static Tensor f32(Shape shape) { return empty(DType::F32, std::move(shape)); }
  // Owned fp32 tensor holding `values` (handy in tests).
  static Tensor from_values(Shape shape, const std::vector<float>& values);
  // Read-only view of bytes owned by `keepalive` (e.g. a mapped file). `data`
  // may be unaligned for the dtype.
  static Tensor view(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> keepalive);
  // Writable tensor over storage owned by `owner` (used by buffer pools).
  static Tensor wrap(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner);

  bool defined() const { return data_ != nullptr || numel() == 0; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  std::int64_t dim(int i) const;  // negative counts from the end
  std::int64_t numel() const { return shape_numel(shape_); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  bool writable() const { return writable_; }

  const void* raw() const { return data_; }
  void* raw_mut();  // throws on read-only views

  // Typed access; throws if the dtype is not fp32.
  float* f32_mut();
  const float* f32_data() const;

  // Same storage, new shape with the same element count.
  Tensor reshaped(Shape shape) const;
  Tensor clone() const;
  // fp32 copy of any float dtype (shares storage when already F32 and `force_copy` is false).
  Tensor to_f32(bool force_copy = false) const;
  // Copy converted to `dtype` (F16, BF16, F32, F64).
  Tensor to_dtype(DType dtype) const;

 private:
  DType dtype_ = DType::F32;
  Shape shape_;
  std::byte* data_ = nullptr;
  std::shared_ptr<const void> owner_;
  bool writable_ = false;
};

}  // namespace skingen::engine
