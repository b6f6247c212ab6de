#include "engine/text_unicode.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace skingen::engine::text {
namespace {

struct CodeRange {
  char32_t lo, hi;
};
struct DigitRange {
  char32_t lo, hi;
  int value_of_lo;
};
struct LowerEntry {
  char32_t cp;
  const char32_t* lower;  // NUL-terminated, 1 to 3 code points
};
struct FoldPair {
  char ascii;
  char32_t cp;
};

#include "engine/text_tables_unicode.inc"

template <std::size_t N>
const CodeRange* find_range(const CodeRange (&table)[N], char32_t c) {
  // First range whose upper end is >= c.
  const CodeRange* it = std::lower_bound(std::begin(table), std::end(table), c,
                                         [](const CodeRange& r, char32_t v) { return r.hi < v; });
  return (it != std::end(table) && it->lo <= c) ? it : nullptr;
}

template <std::size_t N>
bool in_table(const CodeRange (&table)[N], char32_t c) {
  return find_range(table, c) != nullptr;
}

constexpr char32_t kCapitalSigma = 0x3A3, kSmallSigma = 0x3C3, kFinalSigma = 0x3C2;

// CPython unicodeobject.c handle_capital_sigma: U+03A3 lowers to final sigma
// when a cased letter precedes it (skipping case-ignorable code points) and no
// cased letter follows it (same skipping).
bool is_final_sigma(std::u32string_view s, std::size_t i) {
  std::size_t j = i;
  while (j > 0 && in_table(kCaseIgnorable, s[j - 1])) --j;
  if (j == 0 || !in_table(kCasedNotIgnorable, s[j - 1])) return false;
  std::size_t k = i + 1;
  while (k < s.size() && in_table(kCaseIgnorable, s[k])) ++k;
  return k == s.size() || !in_table(kCasedNotIgnorable, s[k]);
}

}  // namespace

bool is_clip_letter(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return in_table(kClipLetter, c);
}
bool is_clip_number(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return in_table(kClipNumber, c);
}
bool is_clip_other(char32_t c) { return in_table(kClipOther, c); }

bool clip_matches_letter(char32_t c, char ascii) {
  if (c == static_cast<char32_t>(ascii)) return true;
  for (const FoldPair& p : kClipFold)
    if (p.ascii == ascii && p.cp == c) return true;
  return false;
}

bool is_regex_space(char32_t c) { return in_table(kRegexSpace, c); }
bool is_py_space(char32_t c) { return in_table(kPySpace, c); }
bool is_py_word(char32_t c) {
  if (c < 0x80) return c == '_' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
  return in_table(kPyWord, c);
}

int py_decimal_value(char32_t c) {
  const DigitRange* it = std::lower_bound(std::begin(kPyDecimal), std::end(kPyDecimal), c,
                                          [](const DigitRange& r, char32_t v) { return r.hi < v; });
  if (it == std::end(kPyDecimal) || it->lo > c) return -1;
  return it->value_of_lo + static_cast<int>(c - it->lo);
}

void py_lower_append(std::u32string_view s, std::u32string& out) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c < 0x80) {
      out.push_back((c >= 'A' && c <= 'Z') ? c + 32 : c);
      continue;
    }
    if (c == kCapitalSigma) {
      out.push_back(is_final_sigma(s, i) ? kFinalSigma : kSmallSigma);
      continue;
    }
    const LowerEntry* it = std::lower_bound(std::begin(kPyLower), std::end(kPyLower), c,
                                            [](const LowerEntry& e, char32_t v) { return e.cp < v; });
    if (it != std::end(kPyLower) && it->cp == c)
      out.append(it->lower);
    else
      out.push_back(c);
  }
}

std::u32string py_lower(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  py_lower_append(s, out);
  return out;
}

std::u32string_view py_strip(std::u32string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && is_py_space(s[b])) ++b;
  while (e > b && is_py_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

}  // namespace skingen::engine::text
