#pragma once
// A1111's long-prompt handling (AUTOMATIC1111/stable-diffusion-webui
// `modules/sd_hijack_clip.py`, FrozenCLIPEmbedderWithCustomWordsBase
// .tokenize_line and .process_tokens): the prompt is parsed for emphasis
// (engine/prompt_attention.hpp), each piece tokenized on its own, and the
// tokens laid into chunks of 75, each sent to the text encoder as
// BOS + 75 tokens + EOS (short chunks filled with EOS):
//   * a comma token (",</w>") remembers its place; when a chunk is full and
//     the last comma lies at most `comma_padding_backtrack` (A1111 option
//     "Prompt word wrap length limit", default 20, shared_options.py) tokens
//     back, the tokens after it move to the next chunk;
//   * BREAK closes the current chunk (even an empty one);
//   * an empty prompt is one chunk of BOS + 76 EOS;
//   * when the pad id differs from EOS (SD 2.x: 0), everything after the
//     first EOS of a chunk becomes the pad id (process_tokens).
// Every position carries its piece's weight; BOS, EOS and fill carry 1.0.
//
// How the pipeline applies the weights (A1111 emphasis "Original", the
// default; `modules/sd_emphasis.py` EmphasisOriginal.after_transformers):
// for each chunk, z = text_encoder(ids) [77, C] (after clip skip and final
// layer norm); original_mean = mean(z); z *= weights[t] for each token t
// (weights turned into float32, as torch.asarray does); z *= original_mean /
// mean(z). The chunks' outputs are concatenated along the token axis:
// [1, 77·n, C]. (When cond and uncond have different chunk counts, A1111
// repeats the shorter one's last token vector — prompt_parser.stack_conds —
// or pads with empty chunks; that is the pipeline's business.)
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/clip_tokenizer.hpp"

namespace skingen::engine {

struct PromptChunk {
  std::vector<std::int32_t> ids;  // 77
  std::vector<double> weights;    // 77, Python floats as A1111 computes them
};

struct ChunkOptions {
  int comma_padding_backtrack = 20;
  bool emphasis = true;  // false = A1111 emphasis "None": the text is taken literally, weight 1
};

// `prompt` must already be free of <lora:…> tags (engine/prompt_extra_networks.hpp).
std::vector<PromptChunk> tokenize_prompt_chunks(ClipTokenizer& tokenizer, std::string_view prompt,
                                                const ChunkOptions& options = {});

}  // namespace skingen::engine
