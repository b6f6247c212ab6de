#pragma once
// Validating safetensors reader (huggingface/safetensors safetensors/src/tensor.rs;
// the rules are listed in docs/FORMATS.md, "safetensors").
// Every rule of the reference parser is enforced, plus unique keys; each
// rejection is a FormatError naming the file, the tensor if any, and the rule.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/core/tensor.hpp"
#include "engine/mapped_file.hpp"

namespace skingen::engine {

// The reference parser's limit on the JSON header.
constexpr std::uint64_t kMaxSafetensorsHeader = 100'000'000;

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  std::uint64_t begin = 0;  // byte offsets relative to the start of the data buffer
  std::uint64_t end = 0;
  std::uint64_t nbytes() const { return end - begin; }
};

struct SafetensorsHeader {
  std::uint64_t header_size = 0;  // N, the JSON length
  std::vector<TensorInfo> tensors;  // in data-offset order
  std::map<std::string, std::string> metadata;
  std::uint64_t data_offset() const { return 8 + header_size; }
};

// Parses and validates the header of an in-memory file image. `display_name`
// prefixes every error message. Never reads past `bytes`.
SafetensorsHeader parse_safetensors(std::span<const std::byte> bytes, const std::string& display_name);

class SafetensorsFile {
 public:
  // Maps and validates `path`; reads only the header bytes.
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_->path(); }
  std::uint64_t file_size() const { return file_->bytes().size(); }
  const SafetensorsHeader& header() const { return header_; }
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const TensorInfo* find(const std::string& name) const;

  // Zero-copy, read-only view of a tensor's bytes (any dtype).
  Tensor view(const TensorInfo& info) const;
  // fp32 copy (F16 / BF16 / F32 / F64 / F8 / integers converted).
  Tensor read_f32(const TensorInfo& info) const;
  // Drops the tensor's pages from the resident set after use.
  void release(const TensorInfo& info) const;
  // The bytes after the header (what kohya's `sshs_model_hash` hashes).
  std::span<const std::byte> data_bytes() const;
  const std::shared_ptr<MappedFile>& mapping() const { return file_; }

 private:
  std::shared_ptr<MappedFile> file_;
  SafetensorsHeader header_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace skingen::engine
