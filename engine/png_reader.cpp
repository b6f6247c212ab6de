#include "engine/png_reader.hpp"

#include <stb/stb_image.h>

#include <algorithm>
#include <memory>

#include "engine/core/error.hpp"
#include "engine/mapped_file.hpp"

namespace skingen::engine {

namespace {

struct StbFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

}  // namespace

PngMetadata read_png_metadata_bytes(std::span<const std::byte> bytes, const std::string& name) {
  const auto chunks = parse_png_chunks(bytes, name);
  PngMetadata m;
  m.header = parse_png_header(chunks, name);
  m.texts = png_text_chunks(chunks, name);
  return m;
}

PngMetadata read_png_metadata(const std::filesystem::path& path) {
  const auto file = MappedFile::open(path);
  return read_png_metadata_bytes(file->bytes(), path.string());
}

DecodedPng decode_png_bytes(std::span<const std::byte> bytes, const std::string& name) {
  DecodedPng out;
  out.metadata = read_png_metadata_bytes(bytes, name);
  const auto& h = out.metadata.header;
  if (h.width > kMaxImageSide || h.height > kMaxImageSide ||
      std::int64_t{h.width} * std::int64_t{h.height} > kMaxImagePixels)
    throw FormatError(name + ": image " + std::to_string(h.width) + "x" + std::to_string(h.height) +
                      " is larger than skingen reads (65535 per side, 2^26 pixels)");
  if (bytes.size() > 0x7fffffffu) throw FormatError(name + ": file larger than 2 GiB");
  int w = 0, hh = 0, comp = 0;
  std::unique_ptr<stbi_uc, StbFree> pixels(stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()),
                                                                 static_cast<int>(bytes.size()), &w, &hh, &comp, 3));
  if (!pixels) {
    const char* why = stbi_failure_reason();
    throw FormatError(name + ": cannot decode PNG pixel data (" + (why ? why : "unknown error") + ")");
  }
  if (static_cast<std::uint32_t>(w) != h.width || static_cast<std::uint32_t>(hh) != h.height)
    throw FormatError(name + ": decoder size disagrees with IHDR");
  out.image = Image8(w, hh, 3);
  std::copy(pixels.get(), pixels.get() + out.image.pixels.size(), out.image.pixels.begin());
  return out;
}

DecodedPng read_png(const std::filesystem::path& path) {
  const auto file = MappedFile::open(path);
  return decode_png_bytes(file->bytes(), path.string());
}

}  // namespace skingen::engine
