#pragma once
// Reading PNG files: the container is validated here (png_chunks: lengths,
// CRCs, IHDR) before any pixel is decoded; pixels are decoded by stb_image
// (Debian libstb) to 8-bit RGB. A malformed file is a FormatError naming the
// file, never a crash. The *_bytes functions take an in-memory image, which
// is also the fuzzing entry point.
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "engine/image.hpp"
#include "engine/png_chunks.hpp"

namespace skingen::engine {

struct PngMetadata {
  PngHeader header;
  std::vector<PngText> texts;  // tEXt, zTXt, iTXt in file order
};

struct DecodedPng {
  PngMetadata metadata;
  Image8 image;  // always 3 channels (RGB); alpha is dropped, gray is expanded
};

// Header and text chunks only; the pixel data is checked for CRCs but not inflated.
PngMetadata read_png_metadata_bytes(std::span<const std::byte> bytes, const std::string& name);
PngMetadata read_png_metadata(const std::filesystem::path& path);

// Validates, then decodes to RGB8. Images larger than kMaxImagePixels or
// kMaxImageSide on a side are refused before decoding.
DecodedPng decode_png_bytes(std::span<const std::byte> bytes, const std::string& name);
DecodedPng read_png(const std::filesystem::path& path);

}  // namespace skingen::engine
