#pragma once
// PNG container level (W3C PNG spec, 2nd ed., §5 and §11.3.4): splitting a
// file into validated chunks, CRCs, and the three text chunk kinds. Pixels
// are stb's business (png_reader / png_writer); everything here works on
// bytes in memory, so it can be fuzzed directly.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace skingen::engine {

inline constexpr std::uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

struct PngChunk {
  std::string type;                // four ASCII letters, e.g. "IHDR"
  std::span<const std::byte> data;  // a view into the parsed bytes
  std::size_t offset = 0;          // file offset of the chunk's length field
};

struct PngHeader {  // IHDR
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uint8_t bit_depth = 0;
  std::uint8_t color_type = 0;  // 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
  std::uint8_t interlace = 0;   // 0 none, 1 Adam7
};

// Splits `bytes` into chunks. Checks: the signature; every chunk's length
// (at most 2^31 - 1, inside the file), type (four ASCII letters) and CRC;
// IHDR first, at least one IDAT, IEND present. Bytes after IEND are ignored,
// as libpng does. Every failure is a FormatError starting with `name`.
std::vector<PngChunk> parse_png_chunks(std::span<const std::byte> bytes, const std::string& name);

// Decodes and validates IHDR (§11.2.2: sizes 1 .. 2^31-1, the allowed bit
// depth for the colour type, compression 0, filter 0, interlace 0 or 1).
PngHeader parse_png_header(const std::vector<PngChunk>& chunks, const std::string& name);

// CRC-32 of type + data, as stored after each chunk (zlib's crc32).
std::uint32_t png_chunk_crc(std::string_view type, std::span<const std::byte> data);
// Appends length, type, data and CRC.
void append_png_chunk(std::vector<std::byte>& out, std::string_view type, std::span<const std::byte> data);

struct PngText {
  std::string keyword;  // UTF-8
  std::string text;     // UTF-8
};

// Every tEXt, zTXt and iTXt chunk in file order, converted to UTF-8 (tEXt and
// zTXt are Latin-1). Compressed text may inflate to at most kMaxPngTextBytes.
std::vector<PngText> png_text_chunks(const std::vector<PngChunk>& chunks, const std::string& name);
constexpr std::size_t kMaxPngTextBytes = std::size_t{8} << 20;

// Appends one text chunk: tEXt when keyword and text are plain ASCII (what
// PIL's PngInfo.add_text writes for A1111's `parameters`), otherwise an
// uncompressed iTXt with UTF-8 text (PIL does the same for text that is not
// Latin-1). The keyword must be 1-79 printable ASCII characters without
// leading, trailing or double spaces; the text must not contain NUL.
void append_png_text_chunk(std::vector<std::byte>& out, const PngText& text);

// The first text with this keyword, or nullptr.
const PngText* find_png_text(const std::vector<PngText>& texts, std::string_view keyword);

}  // namespace skingen::engine
