#pragma once
// Builds small LoRA files for tests: random tensors by name, any float dtype,
// optional metadata, written with the engine's safetensors writer.
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>

#include "engine/core/tensor.hpp"
#include "engine/safetensors_writer.hpp"

class LoraBuilder {
 public:
  explicit LoraBuilder(std::uint32_t seed = 1) : rng_(seed) {}

  // N(0, std²) values, stored as `dtype`.
  LoraBuilder& randn(const std::string& name, skingen::engine::Shape shape, float std = 0.1f,
                     skingen::engine::DType dtype = skingen::engine::DType::F32) {
    auto t = skingen::engine::Tensor::f32(shape);
    std::normal_distribution<float> n(0.0f, std);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.f32_mut()[i] = n(rng_);
    return put(name, t, dtype);
  }
  LoraBuilder& scalar(const std::string& name, float v,
                      skingen::engine::DType dtype = skingen::engine::DType::F32) {
    return put(name, skingen::engine::Tensor::from_values({}, {v}), dtype);
  }
  LoraBuilder& put(const std::string& name, const skingen::engine::Tensor& f32,
                   skingen::engine::DType dtype = skingen::engine::DType::F32) {
    tensors_.emplace_back(name, f32.dtype() == dtype ? f32 : f32.to_dtype(dtype));
    return *this;
  }
  LoraBuilder& meta(const std::string& k, const std::string& v) {
    metadata_[k] = v;
    return *this;
  }
  std::filesystem::path write(const std::filesystem::path& path) const {
    skingen::engine::write_safetensors(path, tensors_, metadata_);
    return path;
  }
  const skingen::engine::NamedTensors& tensors() const { return tensors_; }

 private:
  std::mt19937 rng_;
  skingen::engine::NamedTensors tensors_;
  std::map<std::string, std::string> metadata_;
};
