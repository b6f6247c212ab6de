#pragma once
// A1111's emphasis syntax (AUTOMATIC1111/stable-diffusion-webui
// `modules/prompt_parser.py`, parse_prompt_attention):
//   (text)        weight × 1.1          [text]      weight × (1 / 1.1)
//   (text:1.3)    weight × 1.3          nesting multiplies
//   \( \) \[ \] \\   literal characters; a lone '\' is dropped
//   BREAK         (upper case, a whole word) starts a new 75-token chunk
// Unbalanced brackets as upstream: a ')' or ']' without its opener is
// literal text; an opener never closed applies its multiplier to the rest of
// the prompt (all open '(' first, then all open '['). `(text:w)` is only a
// weight inside an open '('. Adjacent pieces of exactly equal weight are
// merged. Weights are doubles multiplied in upstream's order, so they equal
// Python's (e.g. ((a)) gives 1.2100000000000002).
//
// Not handled here: prompt editing `[from:to:when]` and alternation `[a|b]`
// (upstream's lark schedule parser runs before this and picks the text per
// step); they come out as emphasis `[...]` with literal ':' and '|'.
#include <string>
#include <string_view>
#include <vector>

namespace skingen::engine {

struct PromptPiece {
  std::string text;  // UTF-8
  double weight;     // BREAK is {"BREAK", -1.0}, as upstream marks it
  bool is_break() const { return text == "BREAK" && weight == -1.0; }
};

// Throws UsageError for invalid UTF-8 and for a weight Python's float()
// rejects, such as "(a:1.2.3)" (upstream raises ValueError there too).
std::vector<PromptPiece> parse_prompt_attention(std::string_view prompt);

}  // namespace skingen::engine
