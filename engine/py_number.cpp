#include "engine/py_number.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

#include "engine/text_unicode.hpp"

namespace skingen::engine::text {
namespace {

bool ieq(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != lower[i]) return false;
  return true;
}

// Digits of `s` from `i` with single '_' allowed between two digits, as
// CPython's _Py_string_to_number_with_underscores; appends ASCII digits.
// Returns false when no digit was read or an underscore is misplaced.
bool read_digits(const std::u32string& s, std::size_t& i, std::string& out) {
  const std::size_t start = out.size();
  while (i < s.size()) {
    const int d = py_decimal_value(s[i]);
    if (d >= 0) {
      out.push_back(static_cast<char>('0' + d));
      ++i;
    } else if (s[i] == '_' && out.size() > start && i + 1 < s.size() && py_decimal_value(s[i + 1]) >= 0) {
      ++i;
    } else {
      break;
    }
  }
  return out.size() > start;
}

// For an out-of-range decimal: is its magnitude >= 1 (overflow) rather than
// < 1 (underflow)? Decimal exponent of the first significant digit.
bool overflows(const std::string& ascii) {
  const std::size_t e = ascii.find('e');
  const std::string mant = ascii.substr(0, e);
  long long exp10 = 0;
  if (e != std::string::npos) {
    const bool neg = e + 1 < ascii.size() && ascii[e + 1] == '-';
    for (std::size_t k = e + 1; k < ascii.size(); ++k)
      if (ascii[k] >= '0' && ascii[k] <= '9') exp10 = std::min(exp10 * 10 + (ascii[k] - '0'), 1LL << 40);
    if (neg) exp10 = -exp10;
  }
  long long pos = 0;  // digits before the point, counted from the first significant one
  bool seen_point = false, seen_digit = false;
  for (char c : mant) {
    if (c == '.') {
      seen_point = true;
    } else if (c >= '0' && c <= '9') {
      if (!seen_digit && c == '0') {
        if (seen_point) --pos;
        continue;
      }
      if (!seen_digit) seen_digit = true;
      if (!seen_point) ++pos;
    }
  }
  return pos + exp10 > 0;
}

std::u32string stripped(std::u32string_view s) { return std::u32string(py_strip(s)); }

}  // namespace

std::optional<double> parse_py_float(std::u32string_view text) {
  const std::u32string s = stripped(text);
  std::string ascii;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ascii.push_back(static_cast<char>(s[i++]));
  // inf, infinity, nan (any case)
  std::string word;
  for (std::size_t k = i; k < s.size() && s[k] < 0x80; ++k) word.push_back(static_cast<char>(s[k]));
  if (word.size() == s.size() - i && (ieq(word, "inf") || ieq(word, "infinity") || ieq(word, "nan"))) {
    const double v = ieq(word, "nan") ? std::nan("") : HUGE_VAL;
    return (!ascii.empty() && ascii[0] == '-') ? -v : v;
  }
  bool digits = read_digits(s, i, ascii);
  if (i < s.size() && s[i] == '.') {
    ascii.push_back('.');
    ++i;
    if (i < s.size() && py_decimal_value(s[i]) >= 0) digits = read_digits(s, i, ascii) || digits;
  }
  if (!digits) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ascii.push_back('e');
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ascii.push_back(static_cast<char>(s[i++]));
    if (!read_digits(s, i, ascii)) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  double v = 0;
  const char* first = ascii.data() + (ascii[0] == '+' ? 1 : 0);
  const auto [ptr, ec] = std::from_chars(first, ascii.data() + ascii.size(), v);
  // Out of range: CPython gives ±inf or ±0 as strtod does; from_chars reports
  // result_out_of_range and leaves v unchanged.
  if (ec == std::errc::result_out_of_range) {
    const bool neg = ascii[0] == '-';
    v = overflows(ascii) ? (neg ? -HUGE_VAL : HUGE_VAL) : (neg ? -0.0 : 0.0);
  } else if (ec != std::errc() || ptr != ascii.data() + ascii.size()) {
    return std::nullopt;
  }
  return v;
}

std::optional<long long> parse_py_int(std::u32string_view text) {
  const std::u32string s = stripped(text);
  std::string ascii;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ascii.push_back(static_cast<char>(s[i++]));
  if (!read_digits(s, i, ascii) || i != s.size()) return std::nullopt;
  long long v = 0;
  const char* first = ascii.data() + (ascii[0] == '+' ? 1 : 0);
  const auto [ptr, ec] = std::from_chars(first, ascii.data() + ascii.size(), v);
  if (ec != std::errc() || ptr != ascii.data() + ascii.size()) return std::nullopt;
  return v;
}

}  // namespace skingen::engine::text
