#include "engine/core/tensor.hpp"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>

namespace skingen::engine {

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) r += ", ";
    r += std::to_string(s[i]);
  }
  return r + "]";
}

std::int64_t shape_numel(const Shape& s) {
  std::int64_t n = 1;
  for (auto d : s) {
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + shape_str(s));
    if (d != 0 && n > std::numeric_limits<std::int64_t>::max() / d)
      throw std::overflow_error("shape " + shape_str(s) + " has too many elements");
    n *= d;
  }
  return n;
}

Tensor Tensor::empty(DType dtype, Shape shape) {
  const std::size_t bytes = static_cast<std::size_t>(shape_numel(shape)) * dtype_size(dtype);
  const std::size_t rounded = (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  void* p = std::aligned_alloc(kTensorAlignment, rounded == 0 ? kTensorAlignment : rounded);
  if (!p) throw std::bad_alloc();
  std::shared_ptr<void> owner(p, std::free);
  return wrap(dtype, std::move(shape), p, std::move(owner));
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  Tensor t = empty(dtype, std::move(shape));
  std::memset(t.data_, 0, t.nbytes());
  return t;
}

Tensor Tensor::from_values(Shape shape, const std::vector<float>& values) {
  Tensor t = f32(std::move(shape));
  if (static_cast<std::size_t>(t.numel()) != values.size())
    throw std::invalid_argument("from_values: " + std::to_string(values.size()) +
                                " values for shape " + shape_str(t.shape_));
  std::memcpy(t.data_, values.data(), values.size() * 4);
  return t;
}

Tensor Tensor::view(DType dtype, Shape shape, const void* data, std::shared_ptr<const void> keepalive) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = static_cast<std::byte*>(const_cast<void*>(data));
  t.owner_ = std::move(keepalive);
  t.writable_ = false;
  return t;
}

Tensor Tensor::wrap(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = static_cast<std::byte*>(data);
  t.owner_ = std::move(owner);
  t.writable_ = true;
  return t;
}

std::int64_t Tensor::dim(int i) const {
  const int n = ndim();
  const int j = i < 0 ? i + n : i;
  if (j < 0 || j >= n)
    throw std::out_of_range("dim " + std::to_string(i) + " of a tensor of shape " + shape_str(shape_));
  return shape_[static_cast<std::size_t>(j)];
}

void* Tensor::raw_mut() {
  if (!writable_) throw std::logic_error("write access to a read-only tensor view");
  return data_;
}

float* Tensor::f32_mut() {
  if (dtype_ != DType::F32)
    throw std::logic_error("expected an F32 tensor, got " + std::string(dtype_name(dtype_)));
  return static_cast<float*>(raw_mut());
}

const float* Tensor::f32_data() const {
  if (dtype_ != DType::F32)
    throw std::logic_error("expected an F32 tensor, got " + std::string(dtype_name(dtype_)));
  return reinterpret_cast<const float*>(data_);
}

Tensor Tensor::reshaped(Shape shape) const {
  if (shape_numel(shape) != numel())
    throw std::invalid_argument("cannot reshape " + shape_str(shape_) + " to " + shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(dtype_, shape_);
  std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::to_f32(bool force_copy) const {
  if (dtype_ == DType::F32 && !force_copy) return *this;
  Tensor t = f32(shape_);
  convert_to_f32(dtype_, data_, reinterpret_cast<float*>(t.data_), static_cast<std::size_t>(numel()));
  return t;
}

Tensor Tensor::to_dtype(DType dtype) const {
  if (dtype == DType::F32) return to_f32(true);
  const Tensor src = to_f32();
  Tensor t = empty(dtype, shape_);
  convert_from_f32(dtype, src.f32_data(), t.data_, static_cast<std::size_t>(numel()));
  return t;
}

}  // namespace skingen::engine
