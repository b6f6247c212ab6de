#pragma once
// Strict UTF-8 <-> code points. Prompts and tokenizer files are UTF-8; the
// Python reference works on code points (str), so the text code does too.
#include <string>
#include <string_view>

namespace skingen::engine {

// Throws UsageError "<what>: invalid UTF-8 at byte N" for malformed input
// (overlong forms, surrogates, code points above U+10FFFF, truncation).
std::u32string utf8_decode(std::string_view s, std::string_view what);
void utf8_append(std::string& out, char32_t c);
std::string utf8_encode(std::u32string_view s);

}  // namespace skingen::engine
