#include "engine/safetensors_writer.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "engine/atomic_file.hpp"

namespace skingen::engine {
namespace {

std::vector<TensorSpec> specs_of(const NamedTensors& tensors) {
  std::vector<TensorSpec> specs;
  specs.reserve(tensors.size());
  for (const auto& [name, t] : tensors) specs.push_back({name, t.dtype(), t.shape()});
  return specs;
}

std::array<std::byte, 8> le64(std::uint64_t v) {
  std::array<std::byte, 8> b{};
  for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
  return b;
}

}  // namespace

std::string safetensors_header(const std::vector<TensorSpec>& specs,
                               const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  std::set<std::string> seen;
  std::uint64_t offset = 0;
  for (const auto& s : specs) {
    if (s.name == "__metadata__" || !seen.insert(s.name).second)
      throw std::invalid_argument("write_safetensors: duplicate or reserved tensor name '" + s.name + "'");
    const std::uint64_t n = static_cast<std::uint64_t>(shape_numel(s.shape)) * dtype_size(s.dtype);
    h[s.name] = {{"dtype", std::string(dtype_name(s.dtype))}, {"shape", s.shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = h.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string h = safetensors_header(specs_of(tensors), metadata);
  AtomicFile f(path);
  f.write(le64(h.size()));
  f.write(h);
  for (const auto& [name, t] : tensors) f.write(t.raw(), t.nbytes());
  f.commit();
}

std::vector<std::byte> serialize_safetensors(const NamedTensors& tensors,
                                             const std::map<std::string, std::string>& metadata) {
  const std::string h = safetensors_header(specs_of(tensors), metadata);
  std::size_t total = 8 + h.size();
  for (const auto& [name, t] : tensors) total += t.nbytes();
  std::vector<std::byte> out(total);
  const auto len = le64(h.size());
  std::memcpy(out.data(), len.data(), 8);
  std::memcpy(out.data() + 8, h.data(), h.size());
  std::size_t at = 8 + h.size();
  for (const auto& [name, t] : tensors) {
    if (t.nbytes()) std::memcpy(out.data() + at, t.raw(), t.nbytes());
    at += t.nbytes();
  }
  return out;
}

SafetensorsStreamWriter::SafetensorsStreamWriter(const std::filesystem::path& path, std::vector<TensorSpec> specs,
                                                 const std::map<std::string, std::string>& metadata, bool durable)
    : specs_(std::move(specs)) {
  const std::string h = safetensors_header(specs_, metadata);
  file_ = std::make_unique<AtomicFile>(path, durable ? AtomicFile::Sync::Yes : AtomicFile::Sync::No);
  file_->write(le64(h.size()));
  file_->write(h);
  skip_empty();
}

SafetensorsStreamWriter::~SafetensorsStreamWriter() = default;

void SafetensorsStreamWriter::skip_empty() {
  while (current_ < specs_.size() && shape_numel(specs_[current_].shape) == 0) ++current_;
}

void SafetensorsStreamWriter::write(const void* data, std::size_t n) {
  const auto* p = static_cast<const std::byte*>(data);
  while (n > 0) {
    if (current_ >= specs_.size()) throw std::logic_error("SafetensorsStreamWriter: more bytes than the tensors hold");
    const auto& s = specs_[current_];
    const std::uint64_t total = static_cast<std::uint64_t>(shape_numel(s.shape)) * dtype_size(s.dtype);
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, total - written_in_current_));
    file_->write(p, take);
    p += take;
    n -= take;
    written_in_current_ += take;
    if (written_in_current_ == total) {
      ++current_;
      written_in_current_ = 0;
      skip_empty();
    }
  }
}

void SafetensorsStreamWriter::commit() {
  if (current_ != specs_.size())
    throw std::logic_error("SafetensorsStreamWriter: tensor '" + specs_[current_].name + "' was not fully written");
  file_->commit();
}

}  // namespace skingen::engine
