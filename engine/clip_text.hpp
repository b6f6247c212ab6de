#pragma once
// The text side of openai/CLIP `clip/simple_tokenizer.py`, without ftfy:
//   basic_clean:      html.unescape(html.unescape(text)).strip()
//   whitespace_clean: re.sub(r'\s+', ' ', text).strip()   (`regex` module \s)
//   then .lower()
// and the pre-tokenisation `re.findall(pat, text)` with
//   pat = <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// compiled with re.IGNORECASE.
//
// What ftfy.fix_text would add is not done (upstream calls it first; HF's
// CLIPTokenizer uses it when installed): NFC normalisation, curly quotes to
// straight ones, full-width to half-width forms, mojibake repair. Prompts in
// plain ASCII, and in NFC without curly quotes, are unaffected. (HF's
// CLIPTokenizer *without* ftfy takes another path again — BERT's
// BasicTokenizer: no HTML unescaping, control characters dropped, spaces
// put around CJK ideographs — so CJK text differs between installations.)
#include <string>
#include <string_view>
#include <vector>

namespace skingen::engine::text {

// basic_clean + whitespace_clean + lower, on code points.
std::u32string clip_clean_text(std::u32string_view text);

// The pieces re.findall returns, as views into `cleaned`.
std::vector<std::u32string_view> clip_pretokenize(std::u32string_view cleaned);

}  // namespace skingen::engine::text
