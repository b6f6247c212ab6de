#pragma once
// Writes tensors of any dtype plus string metadata as a safetensors file,
// atomically (AtomicFile). The header is padded with spaces to a multiple of
// 8 bytes, as upstream does, so that tensor data is aligned.
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/tensor.hpp"

namespace skingen::engine {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Tensors are laid out in the given order. Names must be unique and must not be "__metadata__".
void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// The complete file image (used by tests and the fuzz corpus generator).
std::vector<std::byte> serialize_safetensors(const NamedTensors& tensors,
                                             const std::map<std::string, std::string>& metadata = {});

}  // namespace skingen::engine
