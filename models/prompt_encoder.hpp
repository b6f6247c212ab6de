#pragma once
// Prompt → conditioning, as A1111 builds it: emphasis parsing and 75-token
// chunks (engine/prompt_chunks.hpp), each chunk through the text encoder,
// weights applied with A1111's "Original" emphasis (z·w, then rescaled to the
// chunk's original mean), chunks concatenated along the sequence.
#include <string>
#include <vector>

#include "engine/clip_tokenizer.hpp"
#include "engine/prompt_chunks.hpp"
#include "models/clip_text_model.hpp"

namespace skingen::models {

class PromptEncoder {
 public:
  PromptEncoder(engine::ClipTokenizer& tokenizer, const ClipTextModel& text_model)
      : tokenizer_(tokenizer), text_model_(text_model) {}

  // `text` must be free of <lora:…> tags. → [1, 77·chunks, D]
  Tensor encode(const RunContext& rc, const std::string& text, int clip_skip) const;

  // The chunks alone (ids and weights), for reports and tests.
  std::vector<engine::PromptChunk> chunks(const std::string& text) const;

 private:
  engine::ClipTokenizer& tokenizer_;
  const ClipTextModel& text_model_;
};

// A1111 "Original" emphasis on one chunk's hidden states z [77, C] (in place).
void apply_emphasis(float* z, std::int64_t tokens, std::int64_t channels, const std::vector<double>& weights);

}  // namespace skingen::models
