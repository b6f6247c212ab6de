#pragma once
// Python's float(str) and int(str) for the numbers A1111 reads from prompts
// (`(text:1.3)`, `<lora:NAME:0.7>`): surrounding whitespace, a sign, digits
// of any script (float('١.٥') == 1.5), '_' between digits, exponents,
// inf/nan. The result is the correctly rounded double, as CPython's.
#include <optional>
#include <string_view>

namespace skingen::engine::text {

// nullopt where Python raises ValueError.
std::optional<double> parse_py_float(std::u32string_view s);
// int(s) in base 10; nullopt where Python raises ValueError or the value does
// not fit in a long long.
std::optional<long long> parse_py_int(std::u32string_view s);

}  // namespace skingen::engine::text
