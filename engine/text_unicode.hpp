#pragma once
// Unicode character classes and case mapping exactly as the Python reference
// code sees them: openai/CLIP `clip/simple_tokenizer.py` (the `regex` module's
// classes, str.isspace, str.lower) and A1111 `modules/prompt_parser.py` (the
// `re` module's \s, \w, \d, and float()). The tables are generated from those
// very modules by tools/gen/gen_text_tables.py (text_tables_unicode.inc),
// which also says why no library is used.
#include <string>
#include <string_view>

namespace skingen::engine::text {

// The three classes of CLIP's pre-tokenisation pattern, matched with
// re.IGNORECASE as upstream compiles it: `[\p{L}]`, `[\p{N}]` and
// `[^\s\p{L}\p{N}]`. A code point can be in none of them (spaces, and U+0345,
// which IGNORECASE removes from all three).
bool is_clip_letter(char32_t c);
bool is_clip_number(char32_t c);
bool is_clip_other(char32_t c);
// True when `c` matches the lower-case ASCII letter `ascii` of one of CLIP's
// literal alternatives under IGNORECASE (e.g. U+017F matches 's').
bool clip_matches_letter(char32_t c, char ascii);

// `regex` module `\s` (CLIP's whitespace_clean).
bool is_regex_space(char32_t c);
// str.isspace(), which is also the `re` module's `\s` (str.strip(), float()).
bool is_py_space(char32_t c);
// The `re` module's `\w` (word boundaries `\b`, A1111's `<(\w+):`).
bool is_py_word(char32_t c);
// The decimal value of a `re` `\d` code point (what float() reads), or -1.
int py_decimal_value(char32_t c);

// Appends str.lower() of `s` to `out`: full case mapping (U+0130 becomes two
// code points) and CPython's final-sigma rule for U+03A3.
void py_lower_append(std::u32string_view s, std::u32string& out);
std::u32string py_lower(std::u32string_view s);

// str.strip(): removes leading and trailing is_py_space code points.
std::u32string_view py_strip(std::u32string_view s);

}  // namespace skingen::engine::text
