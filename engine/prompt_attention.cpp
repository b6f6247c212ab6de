#include "engine/prompt_attention.hpp"

#include <optional>

#include "engine/core/error.hpp"
#include "engine/py_number.hpp"
#include "engine/text_unicode.hpp"
#include "engine/utf8.hpp"

namespace skingen::engine {
namespace {

using text::is_py_space;
using text::is_py_word;

struct Piece {
  std::u32string text;
  double weight;
};

// re_break = r"\s*\bBREAK\b\s*" (`re` \s and \w): re.split of `t`, appending
// the parts and a {"BREAK", -1} between them.
void split_breaks(std::u32string_view t, std::vector<Piece>& res) {
  static constexpr std::u32string_view kBreak = U"BREAK";
  std::size_t part_start = 0, search = 0;
  while (true) {
    std::size_t p = t.find(kBreak, search);
    // The first "BREAK" with a word boundary on both sides.
    while (p != std::u32string_view::npos) {
      const bool left = p == 0 || !is_py_word(t[p - 1]);
      const bool right = p + kBreak.size() == t.size() || !is_py_word(t[p + kBreak.size()]);
      if (left && right) break;
      p = t.find(kBreak, p + 1);
    }
    if (p == std::u32string_view::npos) break;
    std::size_t begin = p, end = p + kBreak.size();
    while (begin > search && is_py_space(t[begin - 1])) --begin;  // leftmost match: leading \s*
    while (end < t.size() && is_py_space(t[end])) ++end;           // trailing \s*
    res.push_back({std::u32string(t.substr(part_start, begin - part_start)), 1.0});
    res.push_back({std::u32string(kBreak), -1.0});
    part_start = search = end;
  }
  res.push_back({std::u32string(t.substr(part_start)), 1.0});
}

// `:\s*([+-]?[.\d]+)\s*\)` at t[i] == ':'; returns the match length and the
// number text, or 0.
std::size_t match_weight(std::u32string_view t, std::size_t i, std::u32string& number) {
  std::size_t k = i + 1;
  while (k < t.size() && is_py_space(t[k])) ++k;
  const std::size_t num_start = k;
  if (k < t.size() && (t[k] == '+' || t[k] == '-')) ++k;
  const std::size_t digits_start = k;
  while (k < t.size() && (t[k] == '.' || text::py_decimal_value(t[k]) >= 0)) ++k;
  if (k == digits_start) return 0;
  const std::size_t num_end = k;
  while (k < t.size() && is_py_space(t[k])) ++k;
  if (k >= t.size() || t[k] != ')') return 0;
  number.assign(t.substr(num_start, num_end - num_start));
  return k + 1 - i;
}

bool is_special(char32_t c) { return c == '\\' || c == '(' || c == ')' || c == '[' || c == ']' || c == ':'; }

}  // namespace

std::vector<PromptPiece> parse_prompt_attention(std::string_view prompt_utf8) {
  const std::u32string t = utf8_decode(prompt_utf8, "prompt");
  std::vector<Piece> res;
  std::vector<std::size_t> round, square;
  constexpr double kRound = 1.1;
  constexpr double kSquare = 1 / 1.1;
  const auto multiply_range = [&](std::size_t start, double m) {
    for (std::size_t p = start; p < res.size(); ++p) res[p].weight *= m;
  };

  // re_attention's alternatives, in order, at each position (re.finditer).
  std::size_t i = 0;
  while (i < t.size()) {
    const char32_t c = t[i];
    std::u32string number;
    const std::size_t weight_len = c == ':' ? match_weight(t, i, number) : 0;
    if (c == '\\') {
      // \( \) \[ \] \\ are literal characters; a lone backslash matches alone
      // and contributes nothing (text[1:] of "\").
      const bool escape = i + 1 < t.size() && (t[i + 1] == '(' || t[i + 1] == ')' || t[i + 1] == '[' ||
                                               t[i + 1] == ']' || t[i + 1] == '\\');
      res.push_back({escape ? std::u32string(1, t[i + 1]) : std::u32string(), 1.0});
      i += escape ? 2 : 1;
    } else if (c == '(') {
      round.push_back(res.size());
      ++i;
    } else if (c == '[') {
      square.push_back(res.size());
      ++i;
    } else if (weight_len > 0) {
      const std::size_t len = weight_len;
      if (!round.empty()) {
        const std::optional<double> w = text::parse_py_float(number);
        if (!w)
          throw UsageError("prompt: \"" + utf8_encode(t.substr(i, len)) + "\": \"" + utf8_encode(number) +
                           "\" is not a number (A1111 fails on it too)");
        multiply_range(round.back(), *w);
        round.pop_back();
      } else {
        split_breaks(t.substr(i, len), res);
      }
      i += len;
    } else if (c == ')' && !round.empty()) {
      multiply_range(round.back(), kRound);
      round.pop_back();
      ++i;
    } else if (c == ']' && !square.empty()) {
      multiply_range(square.back(), kSquare);
      square.pop_back();
      ++i;
    } else if (c == ')' || c == ']' || c == ':') {
      split_breaks(t.substr(i, 1), res);
      ++i;
    } else {
      std::size_t j = i;
      while (j < t.size() && !is_special(t[j])) ++j;
      split_breaks(t.substr(i, j - i), res);
      i = j;
    }
  }
  for (std::size_t pos : round) multiply_range(pos, kRound);
  for (std::size_t pos : square) multiply_range(pos, kSquare);
  if (res.empty()) res.push_back({U"", 1.0});

  // Merge runs of identical weights.
  std::vector<PromptPiece> out;
  for (const Piece& p : res) {
    if (!out.empty() && out.back().weight == p.weight)
      out.back().text += utf8_encode(p.text);
    else
      out.push_back({utf8_encode(p.text), p.weight});
  }
  return out;
}

}  // namespace skingen::engine
