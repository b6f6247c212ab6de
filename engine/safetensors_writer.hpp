#pragma once
// Writes tensors of any dtype plus string metadata as a safetensors file,
// atomically (AtomicFile). The header is padded with spaces to a multiple of
// 8 bytes, as upstream does, so that tensor data is aligned.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/tensor.hpp"

namespace skingen::engine {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Tensors are laid out in the given order. Names must be unique and must not be "__metadata__".
void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// The complete file image (used by tests).
std::vector<std::byte> serialize_safetensors(const NamedTensors& tensors,
                                             const std::map<std::string, std::string>& metadata = {});

}  // namespace skingen::engine

namespace skingen::engine {

// What a header says about one tensor, before its bytes exist.
struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
};

// The padded JSON header for tensors laid out in the given order (what
// write_safetensors writes after the 8-byte length).
std::string safetensors_header(const std::vector<TensorSpec>& specs,
                               const std::map<std::string, std::string>& metadata = {});

class AtomicFile;

// Writes a safetensors file whose tensors are produced one after another
// (e.g. generated weights), so that a 2 GB file never sits in memory: the
// header goes out first, then each tensor's bytes in spec order, possibly in
// several pieces. commit() checks that every byte was written and renames the
// file into place; an uncommitted writer leaves nothing behind.
class SafetensorsStreamWriter {
 public:
  // `durable`: fsync before the rename (see AtomicFile::Sync).
  SafetensorsStreamWriter(const std::filesystem::path& path, std::vector<TensorSpec> specs,
                          const std::map<std::string, std::string>& metadata = {}, bool durable = true);
  ~SafetensorsStreamWriter();
  SafetensorsStreamWriter(const SafetensorsStreamWriter&) = delete;
  SafetensorsStreamWriter& operator=(const SafetensorsStreamWriter&) = delete;

  // The tensor whose bytes are expected next (nullptr when all are written).
  const TensorSpec* next() const { return current_ < specs_.size() ? &specs_[current_] : nullptr; }
  // Appends bytes of the current tensor; throws std::logic_error on more bytes than it holds.
  void write(const void* data, std::size_t n);
  void commit();

 private:
  std::vector<TensorSpec> specs_;
  std::unique_ptr<AtomicFile> file_;
  std::size_t current_ = 0;
  std::uint64_t written_in_current_ = 0;
  void skip_empty();
};

}  // namespace skingen::engine
