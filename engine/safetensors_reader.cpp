#include "engine/safetensors_reader.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"

namespace skingen::engine {
namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  throw FormatError(file + ": " + what);
}

// Names and JSON excerpts come from an untrusted file: keep messages on one
// line and of bounded length (a key may hold a newline or a megabyte of text).
std::string printable(std::string_view s, std::size_t limit = 120) {
  std::string r;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (r.size() >= limit) {
      r += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      r += "\\x";
      r += kHex[c >> 4];
      r += kHex[c & 15];
    } else {
      r += static_cast<char>(c);
    }
  }
  return r;
}

[[noreturn]] void fail_tensor(const std::string& file, const std::string& tensor, const std::string& what) {
  throw FormatError(file + ": tensor '" + printable(tensor) + "': " + what);
}

// A short rendering of a JSON value for a message. Never recursive on
// attacker-controlled nesting: nested containers are named, not dumped.
std::string brief(const nlohmann::json& v) {
  if (v.is_array()) {
    std::string r = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) r += ", ";
      if (r.size() > 80) return r + "...]";
      r += v[i].is_structured() ? (v[i].is_array() ? "[...]" : "{...}") : v[i].dump();
    }
    return printable(r + "]");
  }
  if (v.is_object()) return "an object";
  return printable(v.dump());
}

// The reference parser checks that the whole header is UTF-8 before it parses
// JSON (`core::str::from_utf8` in safetensors/src/tensor.rs). Returns the
// offset of the first byte that is not part of a well-formed sequence.
std::optional<std::size_t> invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte (RFC 3629 table)
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c == 0xe0) len = 3, lo = 0xa0;
    else if (c >= 0xe1 && c <= 0xec) len = 3;
    else if (c == 0xed) len = 3, hi = 0x9f;  // no surrogates
    else if (c >= 0xee && c <= 0xef) len = 3;
    else if (c == 0xf0) len = 4, lo = 0x90;
    else if (c >= 0xf1 && c <= 0xf3) len = 4;
    else if (c == 0xf4) len = 4, hi = 0x8f;
    else return i;
    if (n - i < len) return i;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return i;
    i += len;
  }
  return std::nullopt;
}

// The reference parser deserialises into a map and would keep the last of two
// equal keys; a file with duplicates is ambiguous, so it is rejected here.
json parse_json_rejecting_duplicates(std::string_view text, const std::string& file) {
  std::vector<std::set<std::string>> keys;  // one set per open object
  std::string duplicate;
  json::parser_callback_t cb = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second && duplicate.empty())
          duplicate = parsed.get<std::string>();
        break;
      default:
        break;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), cb);
  } catch (const json::exception& e) {
    fail(file, "header is not valid JSON (" + printable(e.what(), 200) + ")");
  }
  if (!duplicate.empty()) fail(file, "duplicate key '" + printable(duplicate) + "' in the JSON header");
  return j;
}

std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}

// A JSON value that must be a non-negative integer (as Rust's usize).
bool as_unsigned(const json& v, std::uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<std::uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
    out = static_cast<std::uint64_t>(v.get<std::int64_t>());
    return true;
  }
  return false;
}

TensorInfo parse_entry(const std::string& file, const std::string& name, const json& v) {
  if (!v.is_object()) fail_tensor(file, name, "entry is not a JSON object");
  TensorInfo info;
  info.name = name;

  const auto dt = v.find("dtype");
  if (dt == v.end()) fail_tensor(file, name, "missing field 'dtype'");
  if (!dt->is_string()) fail_tensor(file, name, "'dtype' is not a string");
  const std::string dtype = dt->get<std::string>();
  const auto parsed = parse_dtype(dtype);
  if (!parsed) {
    // Newer safetensors versions know these (safetensors/src/tensor.rs `Dtype`); skingen does not compute with them.
    static constexpr std::string_view kNewer[] = {"F4", "F6_E2M3", "F6_E3M2", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "C64"};
    const bool newer = std::find(std::begin(kNewer), std::end(kNewer), dtype) != std::end(kNewer);
    fail_tensor(file, name, newer ? "dtype '" + dtype + "' is not supported by skingen"
                                  : "unknown dtype '" + printable(dtype) + "'");
  }
  info.dtype = *parsed;

  const auto sh = v.find("shape");
  if (sh == v.end()) fail_tensor(file, name, "missing field 'shape'");
  if (!sh->is_array()) fail_tensor(file, name, "'shape' is not an array");
  for (const auto& d : *sh) {
    std::uint64_t u;
    if (!as_unsigned(d, u) || u > static_cast<std::uint64_t>(INT64_MAX))
      fail_tensor(file, name, "shape " + brief(*sh) + " has a dimension that is not a non-negative integer");
    info.shape.push_back(static_cast<std::int64_t>(u));
  }

  const auto off = v.find("data_offsets");
  if (off == v.end()) fail_tensor(file, name, "missing field 'data_offsets'");
  if (!off->is_array() || off->size() != 2 || !as_unsigned((*off)[0], info.begin) ||
      !as_unsigned((*off)[1], info.end))
    fail_tensor(file, name, "'data_offsets' must be two non-negative integers, got " + brief(*off));
  return info;
}

}  // namespace

SafetensorsHeader parse_safetensors(std::span<const std::byte> bytes, const std::string& file) {
  if (bytes.size() < 8)
    fail(file, "file is " + std::to_string(bytes.size()) + " bytes, too small for the 8-byte header length");
  SafetensorsHeader h;
  h.header_size = read_u64_le(bytes.data());
  if (h.header_size > kMaxSafetensorsHeader)
    fail(file, "header length " + std::to_string(h.header_size) + " exceeds the limit of " +
                   std::to_string(kMaxSafetensorsHeader) + " bytes");
  if (h.header_size > bytes.size() - 8)
    fail(file, "header length " + std::to_string(h.header_size) + " runs past the end of the file (" +
                   std::to_string(bytes.size()) + " bytes)");
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + 8, h.header_size);
  if (text.empty() || text.front() != '{') fail(file, "header does not start with '{'");
  if (const auto bad = invalid_utf8_at(text))
    fail(file, "header is not valid UTF-8 (byte " + std::to_string(8 + *bad) + " of the file)");
  // nlohmann's lexer stops at a NUL as if the input had ended, which would
  // let arbitrary bytes hide after it; JSON never contains a raw NUL.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos)
    fail(file, "header is not valid JSON (NUL byte at byte " + std::to_string(8 + nul) + " of the file)");

  const json j = parse_json_rejecting_duplicates(text, file);
  if (!j.is_object()) fail(file, "header is not a JSON object");

  for (const auto& [key, value] : j.items()) {
    if (key == "__metadata__") {
      // The reference reads it as Option<HashMap<String, String>>: null means none.
      if (value.is_null()) continue;
      if (!value.is_object()) fail(file, "'__metadata__' is not a JSON object of strings");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) fail(file, "'__metadata__' value of '" + printable(mk) + "' is not a string");
        h.metadata.emplace(mk, mv.get<std::string>());
      }
      continue;
    }
    h.tensors.push_back(parse_entry(file, key, value));
  }

  // Sorted by offsets, every tensor must start where the previous ended: this
  // rules out overlaps and holes (polyglot files), as the reference does.
  std::sort(h.tensors.begin(), h.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t expected_begin = 0;
  const std::uint64_t buffer = bytes.size() - 8 - h.header_size;
  for (const auto& t : h.tensors) {
    if (t.end < t.begin)
      fail_tensor(file, t.name, "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                                    "] end before begin");
    if (t.begin != expected_begin)
      fail_tensor(file, t.name,
                  t.begin < expected_begin
                      ? "data_offsets begin " + std::to_string(t.begin) + " overlaps the previous tensor (ends at " +
                            std::to_string(expected_begin) + ")"
                      : "data_offsets begin " + std::to_string(t.begin) + " leaves a hole after byte " +
                            std::to_string(expected_begin));
    // The reference multiplies with checked arithmetic; a zero dimension there
    // hides an overflow of the other dimensions ([0, 2^62, 2^62] passes). We
    // also bound the product of the non-zero dimensions, so that any partial
    // product (strides, element counts) computed later fits in int64.
    std::uint64_t nonzero = dtype_size(t.dtype);
    bool has_zero = false;
    for (auto d : t.shape) {
      const auto du = static_cast<std::uint64_t>(d);
      if (du == 0) {
        has_zero = true;
      } else if (nonzero > static_cast<std::uint64_t>(INT64_MAX) / du) {
        fail_tensor(file, t.name, "shape " + shape_str(t.shape) + " overflows the byte count");
      } else {
        nonzero *= du;
      }
    }
    const std::uint64_t n = has_zero ? 0 : nonzero;
    if (t.end - t.begin != n)
      fail_tensor(file, t.name,
                  "shape " + shape_str(t.shape) + " of " + std::string(dtype_name(t.dtype)) + " needs " +
                      std::to_string(n) + " bytes but data_offsets span " + std::to_string(t.end - t.begin));
    if (t.end > buffer)
      fail_tensor(file, t.name, "data_offsets end " + std::to_string(t.end) + " is past the data buffer (" +
                                    std::to_string(buffer) + " bytes)");
    expected_begin = t.end;
  }
  if (expected_begin != buffer)
    fail(file, "the data buffer has " + std::to_string(buffer) + " bytes but the tensors cover " +
                   std::to_string(expected_begin));
  return h;
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  SafetensorsFile f;
  f.file_ = MappedFile::open(path);
  f.header_ = parse_safetensors(f.file_->bytes(), path.string());
  for (std::size_t i = 0; i < f.header_.tensors.size(); ++i) f.index_.emplace(f.header_.tensors[i].name, i);
  return f;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

Tensor SafetensorsFile::view(const TensorInfo& info) const {
  const std::byte* p = file_->bytes().data() + header_.data_offset() + info.begin;
  return Tensor::view(info.dtype, info.shape, p, file_);
}

Tensor SafetensorsFile::read_f32(const TensorInfo& info) const { return view(info).to_f32(true); }

void SafetensorsFile::release(const TensorInfo& info) const {
  file_->release(header_.data_offset() + info.begin, info.nbytes());
}

std::span<const std::byte> SafetensorsFile::data_bytes() const {
  return file_->bytes().subspan(header_.data_offset());
}

}  // namespace skingen::engine
