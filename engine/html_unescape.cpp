#include "engine/html_unescape.hpp"

#include <algorithm>
#include <iterator>

namespace skingen::engine::text {
namespace {

struct HtmlEntity {
  const char* name;
  const char32_t* value;
};
struct InvalidCharref {
  char32_t number, replacement;
};

#include "engine/text_tables_html.inc"

constexpr char32_t kTooLarge = 0x110000;

const char32_t* find_entity(std::u32string_view name) {
  if (name.size() > 32) return nullptr;
  std::string ascii;
  for (char32_t c : name) {
    if (c >= 0x80) return nullptr;  // every entity name is ASCII
    ascii.push_back(static_cast<char>(c));
  }
  const HtmlEntity* it = std::lower_bound(std::begin(kHtml5), std::end(kHtml5), ascii,
                                          [](const HtmlEntity& e, const std::string& v) { return v.compare(e.name) > 0; });
  return (it != std::end(kHtml5) && ascii == it->name) ? it->value : nullptr;
}

bool is_hex(char32_t c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
int hex_value(char32_t c) { return c <= '9' ? static_cast<int>(c - '0') : static_cast<int>((c | 0x20) - 'a' + 10); }

// _replace_charref for a numeric reference.
void append_number(char32_t num, std::u32string& out) {
  for (const InvalidCharref& r : kInvalidCharrefs)
    if (r.number == num) {
      out.push_back(r.replacement);
      return;
    }
  if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
    out.push_back(0xFFFD);
    return;
  }
  if (std::binary_search(std::begin(kInvalidCodepoints), std::end(kInvalidCodepoints), num)) return;
  out.push_back(num);
}

// Length of the `_charref` match at s[i] == '&' (0 if none), appending its replacement.
std::size_t replace_at(std::u32string_view s, std::size_t i, std::u32string& out) {
  std::size_t j = i + 1;
  const std::size_t n = s.size();
  if (j < n && s[j] == '#') {
    // '#[0-9]+;?' then '#[xX][0-9a-fA-F]+;?'
    std::size_t k = j + 1;
    char32_t num = 0;  // saturates at kTooLarge: only "above U+10FFFF" matters then
    if (k < n && s[k] >= '0' && s[k] <= '9') {
      while (k < n && s[k] >= '0' && s[k] <= '9') {
        num = std::min<char32_t>(kTooLarge, num * 10 + (s[k] - '0'));
        ++k;
      }
    } else if (k + 1 < n && (s[k] == 'x' || s[k] == 'X') && is_hex(s[k + 1])) {
      ++k;
      while (k < n && is_hex(s[k])) {
        num = std::min<char32_t>(kTooLarge, num * 16 + hex_value(s[k]));
        ++k;
      }
    } else {
      return 0;  // the named alternative cannot start with '#'
    }
    if (k < n && s[k] == ';') ++k;
    append_number(num, out);
    return k - i;
  }
  // '[^\t\n\f <&#;]{1,32};?'
  std::size_t k = j;
  while (k < n && k - j < 32) {
    const char32_t c = s[k];
    if (c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';') break;
    ++k;
  }
  if (k == j) return 0;
  if (k < n && s[k] == ';') ++k;
  const std::u32string_view name = s.substr(j, k - j);
  if (const char32_t* v = find_entity(name)) {
    out.append(v);
    return k - i;
  }
  // The longest prefix of at least two code points that is an entity.
  for (std::size_t x = name.size() - 1; x >= 2 && x < name.size(); --x) {
    if (const char32_t* v = find_entity(name.substr(0, x))) {
      out.append(v);
      out.append(name.substr(x));
      return k - i;
    }
  }
  out.push_back('&');
  out.append(name);
  return k - i;
}

}  // namespace

std::u32string html_unescape(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '&') {
      const std::size_t used = replace_at(s, i, out);
      if (used > 0) {
        i += used;
        continue;
      }
    }
    out.push_back(s[i]);
    ++i;
  }
  return out;
}

}  // namespace skingen::engine::text
