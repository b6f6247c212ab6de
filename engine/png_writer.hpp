#pragma once
// Writing PNG files: stb_image_write (Debian libstb) encodes the pixels into
// memory; the text chunks are then inserted right after IHDR, so readers that
// stop at the first IDAT still see them. Output bytes depend only on the
// input (stb's encoder has no time or randomness in it). Files are written
// with AtomicFile: a failed write leaves nothing under the final name.
#include <filesystem>
#include <span>
#include <vector>

#include "engine/image.hpp"
#include "engine/png_chunks.hpp"

namespace skingen::engine {

// 8-bit gray, gray+alpha, RGB or RGBA (image.channels 1-4).
std::vector<std::byte> encode_png(const Image8& image, std::span<const PngText> texts = {});
void write_png(const std::filesystem::path& path, const Image8& image, std::span<const PngText> texts = {});

}  // namespace skingen::engine
