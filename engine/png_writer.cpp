#include "engine/png_writer.hpp"

#include <stb/stb_image_write.h>

#include <cstring>

#include "engine/atomic_file.hpp"
#include "engine/core/error.hpp"

namespace skingen::engine {

namespace {

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<std::byte>*>(context);
  const auto* p = static_cast<const std::byte*>(data);
  out->insert(out->end(), p, p + size);
}

// Signature (8) + IHDR chunk (4 length + 4 type + 13 data + 4 CRC).
constexpr std::size_t kIhdrEnd = 8 + 25;

}  // namespace

std::vector<std::byte> encode_png(const Image8& image, std::span<const PngText> texts) {
  const std::int64_t w = image.width, h = image.height;
  if (w < 1 || h < 1 || w > kMaxImageSide || h > kMaxImageSide || w * h > kMaxImagePixels)
    throw FormatError("PNG encode: size " + std::to_string(w) + "x" + std::to_string(h) +
                      " is outside 1..65535 per side and 2^26 pixels");
  if (image.channels < 1 || image.channels > 4) throw FormatError("PNG encode: expected 1 to 4 channels");
  if (image.pixels.size() != image.pixel_count() * static_cast<std::size_t>(image.channels))
    throw FormatError("PNG encode: pixel buffer size does not match width x height x channels");

  std::vector<std::byte> stb;
  // The library's defaults are used (compression level 8, adaptive filter);
  // its two global knobs are never touched.
  if (!stbi_write_png_to_func(append_bytes, &stb, image.width, image.height, image.channels, image.pixels.data(),
                              image.width * image.channels))
    throw FormatError("PNG encode: stb_image_write failed (out of memory?)");
  if (stb.size() < kIhdrEnd || std::memcmp(stb.data(), kPngSignature, 8) != 0 ||
      std::memcmp(stb.data() + 12, "IHDR", 4) != 0)
    throw FormatError("PNG encode: unexpected stb_image_write output");

  std::vector<std::byte> out(stb.begin(), stb.begin() + kIhdrEnd);
  for (const auto& t : texts) append_png_text_chunk(out, t);
  out.insert(out.end(), stb.begin() + kIhdrEnd, stb.end());
  return out;
}

void write_png(const std::filesystem::path& path, const Image8& image, std::span<const PngText> texts) {
  const auto bytes = encode_png(image, texts);
  write_file_atomically(path, bytes);
}

}  // namespace skingen::engine
