#include "engine/infotext.hpp"

#include <charconv>
#include <cmath>
#include <optional>

#include <nlohmann/json.hpp>

namespace skingen::engine {

namespace {

// Python's str.isspace() for ASCII (what `\s` and strip() match there).
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Python's `\w` on str: letters, digits, '_'; any non-ASCII byte is taken as
// part of a word (UTF-8 sequences of letters, as in "Modèle").
bool is_word(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= '0' && u <= '9') || (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || u == '_' || u >= 0x80;
}

std::string_view strip(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

struct ParamMatch {
  std::string key;
  std::string value;  // raw, possibly quoted
  std::size_t end;
};

// One match of A1111's re_param at position i:
//   \s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)
std::optional<ParamMatch> match_param(std::string_view s, std::size_t i) {
  const std::size_t n = s.size();
  while (i < n && is_space(s[i])) ++i;
  if (i >= n || !is_word(s[i])) return std::nullopt;
  std::size_t k = i + 1;
  while (k < n && (is_word(s[k]) || s[k] == ' ' || s[k] == '-' || s[k] == '/')) ++k;
  // ':' is outside the key's class, so only the longest run can be followed by it.
  if (k - i < 2 || k >= n || s[k] != ':') return std::nullopt;
  ParamMatch m;
  m.key = std::string(s.substr(i, k - i));
  ++k;
  while (k < n && is_space(s[k])) ++k;
  // `$` without MULTILINE also matches just before a final newline.
  const auto at_end = [&](std::size_t p) { return p == n || (p == n - 1 && s[p] == '\n'); };
  if (k < n && s[k] == '"') {  // first alternative: a quoted string
    std::size_t p = k + 1, count = 0;
    bool closed = false;
    while (p < n) {
      if (s[p] == '\\') {
        if (p + 1 >= n || s[p + 1] == '\n') break;  // `.` does not match a newline
        p += 2;
      } else if (s[p] == '"') {
        closed = true;
        break;
      } else {
        ++p;
      }
      ++count;
    }
    if (closed && count > 0 && (at_end(p + 1) || s[p + 1] == ',')) {
      m.value = std::string(s.substr(k, p + 1 - k));
      m.end = p + 1 < n && s[p + 1] == ',' ? p + 2 : p + 1;
      return m;
    }
  }
  std::size_t e = s.find(',', k);  // second alternative: [^,]*
  if (e == std::string_view::npos) e = n;
  m.value = std::string(s.substr(k, e - k));
  m.end = e < n ? e + 1 : n;
  return m;
}

// re_param.findall(s)
std::vector<ParamMatch> find_params(std::string_view s) {
  std::vector<ParamMatch> out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (auto m = match_param(s, i)) {
      i = m->end;
      out.push_back(std::move(*m));
    } else {
      ++i;
    }
  }
  return out;
}

}  // namespace

const std::string* Infotext::find(std::string_view key) const {
  for (const auto& [k, v] : params)
    if (k == key) return &v;
  return nullptr;
}

std::string a1111_quote(std::string_view v) {
  if (v.find_first_of(",\n:") == std::string_view::npos) return std::string(v);
  // json.dumps(v, ensure_ascii=False): escape '"', '\\' and control characters only.
  std::string out = "\"";
  for (const char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string a1111_unquote(std::string_view v) {
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return std::string(v);
  const auto j = nlohmann::json::parse(v, nullptr, /*allow_exceptions=*/false);
  if (j.is_string()) return j.get<std::string>();
  return std::string(v);
}

std::string format_number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string format_infotext(const Infotext& info) {
  std::string params;
  for (const auto& [k, v] : info.params) {
    if (!params.empty()) params += ", ";
    params += k == v ? k : k + ": " + a1111_quote(v);
  }
  std::string text = info.prompt;
  if (!info.negative.empty()) text += "\nNegative prompt: " + info.negative;
  text += "\n" + params;
  return std::string(strip(text));
}

Infotext parse_infotext(std::string_view text) {
  // *lines, lastline = x.strip().split("\n")
  const std::string_view all = strip(text);
  std::vector<std::string_view> lines;
  for (std::size_t start = 0;;) {
    const std::size_t nl = all.find('\n', start);
    lines.push_back(all.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  std::string_view last = lines.back();
  lines.pop_back();
  auto params = find_params(last);
  if (params.size() < 3) {  // not a parameter line: it belongs to the prompt
    lines.push_back(last);
    params.clear();
  }
  Infotext info;
  bool negative = false;
  for (std::string_view line : lines) {
    line = strip(line);
    if (line.starts_with("Negative prompt:")) {
      negative = true;
      line = strip(line.substr(16));
    }
    std::string& dst = negative ? info.negative : info.prompt;
    if (!dst.empty()) dst += '\n';
    dst += line;
  }
  for (auto& m : params) {
    const bool quoted = !m.value.empty() && m.value.front() == '"' && m.value.back() == '"';
    info.params.emplace_back(std::move(m.key), quoted ? a1111_unquote(m.value) : std::move(m.value));
  }
  return info;
}

}  // namespace skingen::engine
