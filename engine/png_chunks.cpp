#include "engine/png_chunks.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "engine/core/error.hpp"

namespace skingen::engine {

namespace {

std::uint32_t be32(const std::byte* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
         std::uint32_t(p[3]);
}

void put_be32(std::vector<std::byte>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::byte>((v >> s) & 0xff));
}

bool is_letter(std::byte b) {
  const auto c = static_cast<unsigned char>(b);
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

std::string latin1_to_utf8(std::span<const std::byte> s) {
  std::string out;
  out.reserve(s.size());
  for (const std::byte b : s) {
    const auto c = static_cast<unsigned char>(b);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

std::string as_string(std::span<const std::byte> s) {
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

// zlib stream → bytes, refusing to grow past kMaxPngTextBytes.
std::string inflate_text(std::span<const std::byte> in, const std::string& what) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) throw FormatError(what + ": zlib initialisation failed");
  struct Guard {
    z_stream* z;
    ~Guard() { inflateEnd(z); }
  } guard{&zs};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[16384];
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > kMaxPngTextBytes)
      throw FormatError(what + ": compressed text inflates to more than " + std::to_string(kMaxPngTextBytes) + " bytes");
    if (rc == Z_STREAM_END) return out;
    if (rc != Z_OK) throw FormatError(what + ": corrupt compressed text (zlib: " + (zs.msg ? zs.msg : "error") + ")");
    if (zs.avail_in == 0 && zs.avail_out != 0) throw FormatError(what + ": compressed text is truncated");
  }
}

// Splits off a NUL-terminated field; throws when there is no NUL.
std::span<const std::byte> take_until_nul(std::span<const std::byte>& rest, const std::string& what) {
  const auto it = std::find(rest.begin(), rest.end(), std::byte{0});
  if (it == rest.end()) throw FormatError(what + ": missing NUL separator");
  const auto n = static_cast<std::size_t>(it - rest.begin());
  const auto field = rest.first(n);
  rest = rest.subspan(n + 1);
  return field;
}

}  // namespace

std::uint32_t png_chunk_crc(std::string_view type, std::span<const std::byte> data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(type.data()), static_cast<uInt>(type.size()));
  // zlib's crc32 takes uInt lengths (chunks are < 2^31 bytes) and returns the
  // initial value for a null buffer, which an empty span may have: skip it.
  if (!data.empty()) crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  return static_cast<std::uint32_t>(crc);
}

void append_png_chunk(std::vector<std::byte>& out, std::string_view type, std::span<const std::byte> data) {
  put_be32(out, static_cast<std::uint32_t>(data.size()));
  for (const char c : type) out.push_back(static_cast<std::byte>(c));
  out.insert(out.end(), data.begin(), data.end());
  put_be32(out, png_chunk_crc(type, data));
}

std::vector<PngChunk> parse_png_chunks(std::span<const std::byte> bytes, const std::string& name) {
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kPngSignature, 8) != 0)
    throw FormatError(name + ": not a PNG file (bad signature)");
  std::vector<PngChunk> chunks;
  std::size_t pos = 8;
  bool have_idat = false;
  for (;;) {
    if (bytes.size() - pos < 12)
      throw FormatError(name + ": truncated PNG: " + (chunks.empty() ? std::string("no IHDR chunk") :
                        "file ends after chunk '" + chunks.back().type + "' without an IEND chunk"));
    const std::uint32_t len = be32(bytes.data() + pos);
    PngChunk c;
    c.offset = pos;
    c.type = as_string(bytes.subspan(pos + 4, 4));
    if (!std::all_of(bytes.begin() + pos + 4, bytes.begin() + pos + 8, is_letter))
      throw FormatError(name + ": corrupt PNG: invalid chunk type at offset " + std::to_string(pos + 4));
    if (len > 0x7fffffffu)
      throw FormatError(name + ": corrupt PNG: chunk '" + c.type + "' length " + std::to_string(len) + " exceeds 2^31-1");
    if (bytes.size() - pos - 12 < len)
      throw FormatError(name + ": truncated PNG: chunk '" + c.type + "' at offset " + std::to_string(pos) + " needs " +
                        std::to_string(len + 12) + " bytes, " + std::to_string(bytes.size() - pos) + " remain");
    c.data = bytes.subspan(pos + 8, len);
    const std::uint32_t stored = be32(bytes.data() + pos + 8 + len);
    if (stored != png_chunk_crc(c.type, c.data))
      throw FormatError(name + ": corrupt PNG: CRC mismatch in chunk '" + c.type + "' at offset " + std::to_string(pos));
    if (chunks.empty() && c.type != "IHDR") throw FormatError(name + ": corrupt PNG: first chunk is '" + c.type + "', not IHDR");
    if (!chunks.empty() && c.type == "IHDR") throw FormatError(name + ": corrupt PNG: second IHDR chunk");
    have_idat |= c.type == "IDAT";
    pos += 12 + len;
    const bool end = c.type == "IEND";
    chunks.push_back(std::move(c));
    if (end) break;
  }
  if (!have_idat) throw FormatError(name + ": corrupt PNG: no IDAT chunk");
  return chunks;
}

PngHeader parse_png_header(const std::vector<PngChunk>& chunks, const std::string& name) {
  if (chunks.empty() || chunks.front().type != "IHDR") throw FormatError(name + ": corrupt PNG: no IHDR chunk");
  const auto d = chunks.front().data;
  if (d.size() != 13) throw FormatError(name + ": corrupt PNG: IHDR has " + std::to_string(d.size()) + " bytes, expected 13");
  PngHeader h;
  h.width = be32(d.data());
  h.height = be32(d.data() + 4);
  h.bit_depth = static_cast<std::uint8_t>(d[8]);
  h.color_type = static_cast<std::uint8_t>(d[9]);
  h.interlace = static_cast<std::uint8_t>(d[12]);
  const auto compression = static_cast<int>(d[10]), filter = static_cast<int>(d[11]);
  if (h.width == 0 || h.height == 0 || h.width > 0x7fffffffu || h.height > 0x7fffffffu)
    throw FormatError(name + ": corrupt PNG: invalid size " + std::to_string(h.width) + "x" + std::to_string(h.height));
  bool depth_ok = false;
  switch (h.color_type) {
    case 0: depth_ok = h.bit_depth == 1 || h.bit_depth == 2 || h.bit_depth == 4 || h.bit_depth == 8 || h.bit_depth == 16; break;
    case 3: depth_ok = h.bit_depth == 1 || h.bit_depth == 2 || h.bit_depth == 4 || h.bit_depth == 8; break;
    case 2: case 4: case 6: depth_ok = h.bit_depth == 8 || h.bit_depth == 16; break;
    default:
      throw FormatError(name + ": corrupt PNG: invalid colour type " + std::to_string(h.color_type));
  }
  if (!depth_ok)
    throw FormatError(name + ": corrupt PNG: bit depth " + std::to_string(h.bit_depth) + " is invalid for colour type " +
                      std::to_string(h.color_type));
  if (compression != 0 || filter != 0 || h.interlace > 1)
    throw FormatError(name + ": corrupt PNG: invalid compression, filter or interlace method in IHDR");
  return h;
}

std::vector<PngText> png_text_chunks(const std::vector<PngChunk>& chunks, const std::string& name) {
  std::vector<PngText> out;
  for (const auto& c : chunks) {
    if (c.type != "tEXt" && c.type != "zTXt" && c.type != "iTXt") continue;
    const std::string what = name + ": " + c.type + " chunk at offset " + std::to_string(c.offset);
    auto rest = c.data;
    const auto keyword = take_until_nul(rest, what);
    if (keyword.empty() || keyword.size() > 79) throw FormatError(what + ": keyword must have 1 to 79 bytes");
    PngText t;
    t.keyword = latin1_to_utf8(keyword);
    if (c.type == "tEXt") {
      t.text = latin1_to_utf8(rest);
    } else if (c.type == "zTXt") {
      if (rest.empty() || rest[0] != std::byte{0}) throw FormatError(what + ": unknown compression method");
      const std::string raw = inflate_text(rest.subspan(1), what);
      t.text = latin1_to_utf8(std::as_bytes(std::span(raw.data(), raw.size())));
    } else {  // iTXt: keyword, flag, method, language\0, translated keyword\0, text (UTF-8)
      if (rest.size() < 2) throw FormatError(what + ": truncated header");
      const auto flag = static_cast<int>(rest[0]), method = static_cast<int>(rest[1]);
      rest = rest.subspan(2);
      if (flag > 1 || (flag == 1 && method != 0)) throw FormatError(what + ": invalid compression flag or method");
      take_until_nul(rest, what);  // language tag
      take_until_nul(rest, what);  // translated keyword
      t.text = flag == 1 ? inflate_text(rest, what) : as_string(rest);
    }
    out.push_back(std::move(t));
  }
  return out;
}

void append_png_text_chunk(std::vector<std::byte>& out, const PngText& t) {
  const auto& k = t.keyword;
  const bool keyword_ok = !k.empty() && k.size() <= 79 && k.front() != ' ' && k.back() != ' ' &&
                          k.find("  ") == std::string::npos &&
                          std::all_of(k.begin(), k.end(), [](char c) { return c >= 32 && c <= 126; });
  if (!keyword_ok) throw FormatError("PNG text keyword '" + k + "': expected 1-79 printable ASCII characters");
  if (t.text.find('\0') != std::string::npos) throw FormatError("PNG text '" + k + "': text contains a NUL byte");
  const bool ascii = std::all_of(t.text.begin(), t.text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  std::vector<std::byte> data;
  const auto add = [&](std::string_view s) {
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    data.insert(data.end(), p, p + s.size());
  };
  add(k);
  data.push_back(std::byte{0});
  if (!ascii) {  // iTXt: uncompressed, empty language tag and translated keyword
    for (int i = 0; i < 4; ++i) data.push_back(std::byte{0});
  }
  add(t.text);
  if (data.size() > 0x7fffffffu) throw FormatError("PNG text '" + k + "': text too long for one chunk");
  append_png_chunk(out, ascii ? "tEXt" : "iTXt", data);
}

const PngText* find_png_text(const std::vector<PngText>& texts, std::string_view keyword) {
  for (const auto& t : texts)
    if (t.keyword == keyword) return &t;
  return nullptr;
}

}  // namespace skingen::engine
