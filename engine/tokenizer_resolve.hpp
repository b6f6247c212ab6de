#pragma once
// Where the CLIP tokenizer of a run comes from: `--tokenizer PATH` when given,
// else the files next to the model (`--model PATH`).
//
//   --tokenizer DIR   DIR/vocab.json + DIR/merges.txt, or DIR/tokenizer/ of a
//                     diffusers folder, or DIR/bpe_simple_vocab_16e6.txt.gz
//   --tokenizer FILE  vocab.json or merges.txt (its folder), or openai's
//                     merges list (gzipped or plain)
//   --model DIR       a diffusers folder: DIR/tokenizer/
//   --model FILE      a single-file checkpoint: tokenizer/ or
//                     bpe_simple_vocab_16e6.txt.gz in the same folder
#include <filesystem>
#include <optional>

#include "engine/clip_tokenizer.hpp"

namespace skingen::engine {

struct TokenizerSource {
  enum class Kind { Folder, MergesFile };
  Kind kind;
  std::filesystem::path path;
};

// Throws UsageError naming the flag and every place looked at when nothing is found.
TokenizerSource resolve_tokenizer(const std::optional<std::filesystem::path>& tokenizer,
                                  const std::optional<std::filesystem::path>& model);

ClipTokenizer load_tokenizer(const TokenizerSource& source);

}  // namespace skingen::engine
