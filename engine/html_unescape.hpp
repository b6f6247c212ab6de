#pragma once
// Python's html.unescape (CPython Lib/html/__init__.py), which openai/CLIP's
// simple_tokenizer applies twice to every prompt: named references from the
// HTML5 list (also the ones without ';', longest prefix first), decimal and
// hexadecimal references with HTML5's replacements for invalid numbers.
#include <string>
#include <string_view>

namespace skingen::engine::text {

// One pass, like html.unescape(s). One deliberate difference: CPython 3.11
// raises ValueError for a decimal reference of more than 4300 digits (its
// int() limit); here any number above U+10FFFF becomes U+FFFD.
std::u32string html_unescape(std::u32string_view s);

}  // namespace skingen::engine::text
