#include "engine/clip_tokenizer.hpp"

#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "engine/clip_text.hpp"
#include "engine/core/error.hpp"
#include "engine/utf8.hpp"

namespace skingen::engine {
namespace {

namespace fs = std::filesystem;

// simple_tokenizer keeps merges[1:49152-256-2+1]: the header line is skipped
// and at most 48894 merges are used (HF CLIPTokenizer slices the same way).
constexpr std::size_t kMaxMerges = 49152 - 256 - 2;
constexpr std::size_t kMaxFileBytes = std::size_t{64} << 20;  // real files are 0.5–3 MB
constexpr std::string_view kBos = "<|startoftext|>", kEos = "<|endoftext|>", kWordEnd = "</w>";
constexpr std::size_t kMaxCacheWords = std::size_t{1} << 16;

// bytes_to_unicode(): the byte values in upstream's dict order (printable
// ranges '!'..'~', '¡'..'¬', '®'..'ÿ' first, then the rest) and the code
// point standing for each byte.
struct ByteSymbols {
  std::array<std::uint8_t, 256> order{};
  std::array<char32_t, 256> symbol{};
};

constexpr ByteSymbols byte_symbols() {
  ByteSymbols t{};
  std::array<bool, 256> printable{};
  int k = 0;
  for (int b = 0; b < 256; ++b) {
    printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    if (printable[b]) {
      t.order[k++] = static_cast<std::uint8_t>(b);
      t.symbol[b] = static_cast<char32_t>(b);
    }
  }
  int n = 0;
  for (int b = 0; b < 256; ++b)
    if (!printable[b]) {
      t.order[k++] = static_cast<std::uint8_t>(b);
      t.symbol[b] = static_cast<char32_t>(256 + n++);
    }
  return t;
}

constexpr ByteSymbols kByteSymbols = byte_symbols();

std::string symbol_utf8(std::uint8_t b) {
  std::string s;
  utf8_append(s, kByteSymbols.symbol[b]);
  return s;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(path.string() + ": cannot open");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0));
  if (size > kMaxFileBytes) throw FormatError(path.string() + ": " + std::to_string(size) + " bytes, more than a tokenizer file can be");
  std::string data(size, '\0');
  in.seekg(0);
  in.read(data.data(), static_cast<std::streamsize>(size));
  if (!in) throw FormatError(path.string() + ": read failed");
  return data;
}

// Inflates a gzip file, stopping once `max_lines` lines are complete (the
// openai file holds 262145 lines of which upstream reads the first 48895).
std::string gunzip(const std::string& data, const fs::path& path, std::size_t max_lines) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw FormatError(path.string() + ": zlib init failed");
  struct Guard {
    z_stream* z;
    ~Guard() { inflateEnd(z); }
  } guard{&zs};
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  constexpr std::size_t kStep = std::size_t{1} << 16;
  std::size_t lines = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    const std::size_t old = out.size();
    out.resize(old + kStep);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    zs.avail_out = static_cast<uInt>(kStep);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END)
      throw FormatError(path.string() + ": corrupt gzip data (" + (zs.msg ? zs.msg : "zlib error") + ")");
    out.resize(old + kStep - zs.avail_out);
    lines += static_cast<std::size_t>(std::count(out.begin() + static_cast<std::ptrdiff_t>(old), out.end(), '\n'));
    if (lines >= max_lines) break;
    if (out.size() > kMaxFileBytes) throw FormatError(path.string() + ": decompresses to more than a tokenizer file can be");
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0)
      throw FormatError(path.string() + ": truncated gzip data");
  }
  return out;
}

// Is `s` a string of byte symbols, i.e. of U+0021..U+007E, U+00A1..U+00AC,
// U+00AE..U+0143 in UTF-8? (Checked on the bytes: no decoding needed.)
bool is_byte_symbol_string(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 >= 0x21 && b0 <= 0x7E) {
      ++i;
      continue;
    }
    if (i + 1 >= s.size()) return false;
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if ((b1 & 0xC0) != 0x80) return false;
    const char32_t c = (char32_t{b0 & 0x1Fu} << 6) | (b1 & 0x3Fu);
    if ((b0 & 0xE0) != 0xC0 || !((c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0x143))) return false;
    i += 2;
  }
  return true;
}

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

// Merge lines 1..48894 of a merges file as symbol pairs. `hf_strip`: HF reads
// `f.read().strip().split("\n")`; openai splits the raw text.
std::vector<std::pair<std::string, std::string>> parse_merges(std::string_view text, bool hf_strip, const fs::path& path) {
  if (hf_strip) {
    while (!text.empty() && is_ascii_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_ascii_space(text.back())) text.remove_suffix(1);
  }
  // Upstream skips line 1 unread; it is "#version: 0.2" in merges.txt and
  // "\"bpe_simple_vocab_16e6.txt#version: 0.2" in openai's file. Requiring
  // the marker catches a headerless file, whose first merge would be lost.
  if (text.substr(0, text.find('\n')).find("#version") == std::string_view::npos)
    throw FormatError(path.string() + ": line 1 must be the \"#version\" header of a BPE merges file");
  std::vector<std::pair<std::string, std::string>> merges;
  std::size_t pos = text.find('\n');
  std::size_t line_no = 1;
  while (pos != std::string_view::npos && merges.size() < kMaxMerges) {
    const std::size_t start = pos + 1;
    pos = text.find('\n', start);
    const std::string_view line = text.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start);
    ++line_no;
    std::vector<std::string_view> fields;
    for (std::size_t i = 0; i < line.size();) {
      while (i < line.size() && is_ascii_space(line[i])) ++i;
      std::size_t j = i;
      while (j < line.size() && !is_ascii_space(line[j])) ++j;
      if (j > i) fields.push_back(line.substr(i, j - i));
      i = j;
    }
    if (fields.empty() && pos == std::string_view::npos) break;  // the file's final newline
    if (fields.size() != 2)
      throw FormatError(path.string() + ": line " + std::to_string(line_no) + ": expected two symbols, found " +
                        std::to_string(fields.size()));
    for (std::string_view f : fields)
      if (!is_byte_symbol_string(f))
        throw FormatError(path.string() + ": line " + std::to_string(line_no) + ": \"" + std::string(f) +
                          "\" has characters outside CLIP's byte alphabet");
    merges.emplace_back(std::string(fields[0]), std::string(fields[1]));
  }
  if (merges.empty()) throw FormatError(path.string() + ": no merges after the header line");
  return merges;
}

// vocab.json: one flat object of token -> id, ids 0..n-1 each used once.
// Read with nlohmann's SAX interface straight into the map (a DOM of 49408
// entries costs several times more).
std::unordered_map<std::string, std::int32_t> read_vocab_json(const fs::path& path) {
  struct Handler : nlohmann::json_sax<nlohmann::json> {
    std::unordered_map<std::string, std::int32_t> vocab;
    std::string current, error;
    int depth = 0;
    bool fail(const std::string& what) {
      if (error.empty()) error = what;
      return false;
    }
    bool bad_value(const char* kind) {
      return fail(depth == 0 ? std::string("expected an object mapping tokens to ids")
                             : "token \"" + current + "\" has " + kind + " as id");
    }
    bool null() override { return bad_value("null"); }
    bool boolean(bool) override { return bad_value("a boolean"); }
    bool number_integer(number_integer_t v) override { return id(v); }
    bool number_unsigned(number_unsigned_t v) override {
      return id(v > 1u << 30 ? -1 : static_cast<std::int64_t>(v));
    }
    bool number_float(number_float_t, const string_t&) override { return bad_value("a fraction"); }
    bool string(string_t&) override { return bad_value("a string"); }
    bool binary(binary_t&) override { return bad_value("binary data"); }
    bool start_object(std::size_t n) override {
      if (depth++ != 0) return bad_value("an object");
      if (n != static_cast<std::size_t>(-1)) vocab.reserve(n);
      else vocab.reserve(1 << 16);
      return true;
    }
    bool end_object() override { return --depth == 0; }
    bool start_array(std::size_t) override { return bad_value("an array"); }
    bool end_array() override { return false; }
    bool key(string_t& k) override {
      current = std::move(k);
      return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
      return fail(std::string("invalid JSON (") + e.what() + ")");
    }
    bool id(std::int64_t v) {
      if (depth != 1) return fail("expected an object mapping tokens to ids");
      if (v < 0 || v >= (std::int64_t{1} << 30)) return fail("token \"" + current + "\" has id " + std::to_string(v));
      if (!vocab.emplace(current, static_cast<std::int32_t>(v)).second) return fail("token \"" + current + "\" appears twice");
      return true;
    }
  } h;
  const std::string text = read_file(path);
  const bool ok = nlohmann::json::sax_parse(text, &h);
  if (!ok || !h.error.empty())
    throw FormatError(path.string() + ": " + (h.error.empty() ? std::string("expected an object mapping tokens to ids") : h.error));
  // Dense ids: 0..n-1, each once (the byte-level BPE needs an unambiguous id per token).
  std::vector<bool> seen(h.vocab.size(), false);
  for (const auto& [token, v] : h.vocab) {
    if (static_cast<std::size_t>(v) >= seen.size())
      throw FormatError(path.string() + ": token \"" + token + "\" has id " + std::to_string(v) + ", expected 0.." +
                        std::to_string(seen.size() - 1));
    if (seen[v]) throw FormatError(path.string() + ": id " + std::to_string(v) + " is given to two tokens");
    seen[v] = true;
  }
  return std::move(h.vocab);
}

std::optional<std::string> pad_token_from(const fs::path& json_path) {
  std::error_code ec;
  if (!fs::is_regular_file(json_path, ec)) return std::nullopt;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(json_path));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(json_path.string() + ": invalid JSON (" + e.what() + ")");
  }
  if (!j.is_object() || !j.contains("pad_token")) return std::nullopt;
  const auto& p = j["pad_token"];
  if (p.is_string()) return p.get<std::string>();
  if (p.is_object() && p.contains("content") && p["content"].is_string()) return p["content"].get<std::string>();
  if (p.is_null()) return std::nullopt;
  throw FormatError(json_path.string() + ": \"pad_token\" must be a string or an object with \"content\"");
}

}  // namespace

ClipTokenizer ClipTokenizer::from_merges_file(const fs::path& file) {
  std::string data = read_file(file);
  if (data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1F && static_cast<unsigned char>(data[1]) == 0x8B)
    data = gunzip(data, file, kMaxMerges + 2);
  const auto merges = parse_merges(data, /*hf_strip=*/false, file);
  ClipTokenizer t;
  t.source_ = file;
  // vocab = byte symbols + byte symbols with "</w>" + one token per merge +
  // the two special tokens; a repeated string keeps its last id, as
  // dict(zip(vocab, range(len(vocab)))) does.
  std::int32_t id = 0;
  t.vocab_.reserve(2 * 256 + merges.size() + 2);
  for (std::uint8_t b : kByteSymbols.order) t.vocab_[symbol_utf8(b)] = id++;
  for (std::uint8_t b : kByteSymbols.order) t.vocab_[symbol_utf8(b) + std::string(kWordEnd)] = id++;
  for (const auto& [a, b] : merges) t.vocab_[a + b] = id++;
  t.vocab_[std::string(kBos)] = id++;
  t.vocab_[std::string(kEos)] = id++;
  t.build(merges, file.string());
  t.pad_id_ = t.eos_id_;
  return t;
}

ClipTokenizer ClipTokenizer::from_folder(const fs::path& dir) {
  const fs::path vocab_path = dir / "vocab.json", merges_path = dir / "merges.txt";
  ClipTokenizer t;
  t.source_ = dir;
  t.vocab_ = read_vocab_json(vocab_path);
  const auto merges = parse_merges(read_file(merges_path), /*hf_strip=*/true, merges_path);
  t.build(merges, dir.string());
  t.pad_id_ = t.eos_id_;
  // HF: special_tokens_map.json, else tokenizer_config.json, else "<|endoftext|>".
  std::optional<std::string> pad = pad_token_from(dir / "special_tokens_map.json");
  if (!pad) pad = pad_token_from(dir / "tokenizer_config.json");
  if (pad) {
    const auto it = t.vocab_.find(*pad);
    if (it == t.vocab_.end()) throw FormatError(dir.string() + ": pad_token \"" + *pad + "\" is not in vocab.json");
    t.pad_id_ = it->second;
  }
  return t;
}

void ClipTokenizer::build(const std::vector<std::pair<std::string, std::string>>& merges, const std::string& where) {
  const auto id_of = [&](const std::string& token, const char* role) {
    const auto it = vocab_.find(token);
    if (it == vocab_.end()) throw FormatError(where + ": " + role + " \"" + token + "\" is not in the vocabulary");
    return it->second;
  };
  for (int b = 0; b < 256; ++b) {
    const std::string sym = symbol_utf8(static_cast<std::uint8_t>(b));
    byte_id_[b] = id_of(sym, "byte symbol");
    byte_end_id_[b] = id_of(sym + std::string(kWordEnd), "byte symbol");
  }
  merges_.clear();
  merges_.reserve(merges.size());
  for (std::size_t r = 0; r < merges.size(); ++r) {
    const auto& [a, b] = merges[r];
    const auto ia = static_cast<std::uint32_t>(id_of(a, "merge symbol"));
    const auto ib = static_cast<std::uint32_t>(id_of(b, "merge symbol"));
    // A repeated pair keeps its last rank, as dict(zip(merges, range(...))).
    merges_[(std::uint64_t{ia} << 32) | ib] = Merge{static_cast<std::int32_t>(r), id_of(a + b, "merge result")};
  }
  bos_id_ = id_of(std::string(kBos), "special token");
  eos_id_ = id_of(std::string(kEos), "special token");
}

void ClipTokenizer::set_pad_id(std::int32_t id) {
  if (id < 0 || static_cast<std::size_t>(id) >= vocab_.size())
    throw UsageError("pad id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(vocab_.size()));
  pad_id_ = id;
}

std::optional<std::int32_t> ClipTokenizer::token_id(std::string_view token) const {
  const auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::int32_t> ClipTokenizer::bpe(const std::string& word) const {
  const std::size_t n = word.size();
  std::vector<std::int32_t> sym(n);
  for (std::size_t i = 0; i + 1 < n; ++i) sym[i] = byte_id_[static_cast<std::uint8_t>(word[i])];
  sym[n - 1] = byte_end_id_[static_cast<std::uint8_t>(word[n - 1])];
  std::vector<std::int32_t> next;
  next.reserve(n);
  while (sym.size() > 1) {
    // The adjacent pair with the lowest rank.
    std::int32_t best_rank = std::numeric_limits<std::int32_t>::max(), best_merged = -1;
    std::int32_t first = -1, second = -1;
    for (std::size_t i = 0; i + 1 < sym.size(); ++i) {
      const auto key = (std::uint64_t{static_cast<std::uint32_t>(sym[i])} << 32) | static_cast<std::uint32_t>(sym[i + 1]);
      const auto it = merges_.find(key);
      if (it != merges_.end() && it->second.rank < best_rank) {
        best_rank = it->second.rank;
        best_merged = it->second.merged;
        first = sym[i];
        second = sym[i + 1];
      }
    }
    if (best_merged < 0) break;
    // Merge every occurrence, left to right.
    next.clear();
    for (std::size_t i = 0; i < sym.size();) {
      if (i + 1 < sym.size() && sym[i] == first && sym[i + 1] == second) {
        next.push_back(best_merged);
        i += 2;
      } else {
        next.push_back(sym[i++]);
      }
    }
    sym.swap(next);
  }
  return sym;
}

void ClipTokenizer::append_word(const std::string& word, std::vector<std::int32_t>& out) {
  // Upstream seeds its cache with the two special tokens, so they map to their ids.
  if (word == kBos) {
    out.push_back(bos_id_);
    return;
  }
  if (word == kEos) {
    out.push_back(eos_id_);
    return;
  }
  auto it = cache_.find(word);
  if (it == cache_.end()) {
    if (cache_.size() >= kMaxCacheWords) cache_.clear();
    it = cache_.emplace(word, bpe(word)).first;
  }
  out.insert(out.end(), it->second.begin(), it->second.end());
}

std::vector<std::int32_t> ClipTokenizer::encode(std::string_view text) {
  const std::u32string cleaned = text::clip_clean_text(utf8_decode(text, "prompt"));
  std::vector<std::int32_t> ids;
  std::string word;
  for (std::u32string_view piece : text::clip_pretokenize(cleaned)) {
    word.clear();
    for (char32_t c : piece) utf8_append(word, c);
    append_word(word, ids);
  }
  return ids;
}

std::vector<std::int32_t> ClipTokenizer::encode_with_specials(std::string_view text) {
  std::vector<std::int32_t> ids{bos_id_};
  const auto body = encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.push_back(eos_id_);
  return ids;
}

std::vector<std::int32_t> ClipTokenizer::encode_padded(std::string_view text) {
  const auto body = encode(text);
  std::vector<std::int32_t> ids{bos_id_};
  ids.insert(ids.end(), body.begin(), body.begin() + std::min<std::size_t>(body.size(), kContextLength - 2));
  ids.push_back(eos_id_);
  ids.resize(kContextLength, pad_id_);
  return ids;
}

}  // namespace skingen::engine
