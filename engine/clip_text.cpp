#include "engine/clip_text.hpp"

#include "engine/html_unescape.hpp"
#include "engine/text_unicode.hpp"

namespace skingen::engine::text {
namespace {

// Does `lit` (lower-case ASCII, possibly with '<', '|', '\'') match at s[i]
// under IGNORECASE?
bool literal_at(std::u32string_view s, std::size_t i, std::string_view lit) {
  if (s.size() - i < lit.size()) return false;
  for (std::size_t k = 0; k < lit.size(); ++k) {
    const char a = lit[k];
    const char32_t c = s[i + k];
    if (a >= 'a' && a <= 'z') {
      if (!clip_matches_letter(c, a)) return false;
    } else if (c != static_cast<char32_t>(a)) {
      return false;
    }
  }
  return true;
}

// The alternatives before the character classes, in pattern order.
constexpr std::string_view kLiterals[] = {"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve",
                                          "'m", "'ll", "'d"};

}  // namespace

std::u32string clip_clean_text(std::u32string_view text) {
  const std::u32string once = html_unescape(text);
  const std::u32string twice = html_unescape(once);
  const std::u32string_view basic = py_strip(twice);
  std::u32string collapsed;
  collapsed.reserve(basic.size());
  for (std::size_t i = 0; i < basic.size();) {
    if (is_regex_space(basic[i])) {
      collapsed.push_back(' ');
      while (i < basic.size() && is_regex_space(basic[i])) ++i;
    } else {
      collapsed.push_back(basic[i++]);
    }
  }
  return py_lower(py_strip(collapsed));
}

std::vector<std::u32string_view> clip_pretokenize(std::u32string_view s) {
  std::vector<std::u32string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t len = 0;
    if (s[i] == '<' || s[i] == '\'') {
      for (std::string_view lit : kLiterals)
        if (literal_at(s, i, lit)) {
          len = lit.size();
          break;
        }
    }
    if (len == 0) {
      if (is_clip_letter(s[i])) {
        len = 1;
        while (i + len < s.size() && is_clip_letter(s[i + len])) ++len;
      } else if (is_clip_number(s[i])) {
        len = 1;
      } else if (is_clip_other(s[i])) {
        len = 1;
        while (i + len < s.size() && is_clip_other(s[i + len])) ++len;
      }
    }
    if (len == 0) {
      ++i;  // no alternative matches here (a space): findall moves on
      continue;
    }
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace skingen::engine::text
