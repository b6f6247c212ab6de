#pragma once
// A1111's generation parameters ("infotext"), the text it stores in a PNG
// tEXt chunk with keyword `parameters` and shows under every image:
//
//   <prompt>
//   Negative prompt: <negative>
//   Steps: 20, Sampler: Euler a, Schedule type: Karras, CFG scale: 7, Seed: 42, ...
//
// Formatting follows A1111 modules/processing.py `create_infotext`: the
// negative line only when the negative prompt is not empty, parameters
// joined with ", ", a parameter whose value equals its key written bare, and
// the whole text stripped. Values containing ',', ':' or a newline are quoted
// with json.dumps(ensure_ascii=False) (modules/infotext_utils.py `quote`,
// formerly generation_parameters_copypaste.py). Parsing follows
// `parse_generation_parameters` in the same file, including its regular
// expression for parameters, so real A1111 strings parse as A1111 parses them.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace skingen::engine {

struct Infotext {
  std::string prompt;
  std::string negative;
  std::vector<std::pair<std::string, std::string>> params;  // in order; values unquoted

  const std::string* find(std::string_view key) const;
};

std::string format_infotext(const Infotext& info);
// Never throws: like A1111, anything that is not a parameter line is prompt text.
Infotext parse_infotext(std::string_view text);

// A1111's `quote`: json.dumps(value, ensure_ascii=False) if the value
// contains ',', ':' or '\n', else the value unchanged.
std::string a1111_quote(std::string_view value);
// A1111's `unquote`: a value starting and ending with '"' is decoded as a
// JSON string; when that fails the value is kept as it is.
std::string a1111_unquote(std::string_view value);

// Numbers as A1111 prints them from Python: integral values without a
// fraction ("7"), others in the shortest form that reads back exactly ("7.5", "0.7").
std::string format_number(double v);

}  // namespace skingen::engine
