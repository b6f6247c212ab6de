#include "engine/safetensors_writer.hpp"

#include <array>
#include <cstring>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "engine/atomic_file.hpp"

namespace skingen::engine {
namespace {

std::string header_json(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  std::set<std::string> seen;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__" || !seen.insert(name).second)
      throw std::invalid_argument("write_safetensors: duplicate or reserved tensor name '" + name + "'");
    const std::uint64_t n = t.nbytes();
    h[name] = {{"dtype", std::string(dtype_name(t.dtype()))},
               {"shape", t.shape()},
               {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string s = h.dump();
  s.append((8 - s.size() % 8) % 8, ' ');
  return s;
}

std::array<std::byte, 8> le64(std::uint64_t v) {
  std::array<std::byte, 8> b{};
  for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
  return b;
}

}  // namespace

void write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string h = header_json(tensors, metadata);
  AtomicFile f(path);
  f.write(le64(h.size()));
  f.write(h);
  for (const auto& [name, t] : tensors) f.write(t.raw(), t.nbytes());
  f.commit();
}

std::vector<std::byte> serialize_safetensors(const NamedTensors& tensors,
                                             const std::map<std::string, std::string>& metadata) {
  const std::string h = header_json(tensors, metadata);
  std::size_t total = 8 + h.size();
  for (const auto& [name, t] : tensors) total += t.nbytes();
  std::vector<std::byte> out(total);
  std::size_t at = 0;
  auto put = [&](const void* p, std::size_t n) {
    if (n) std::memcpy(out.data() + at, p, n);
    at += n;
  };
  const auto len = le64(h.size());
  put(len.data(), len.size());
  put(h.data(), h.size());
  for (const auto& [name, t] : tensors) put(t.raw(), t.nbytes());
  return out;
}

}  // namespace skingen::engine
