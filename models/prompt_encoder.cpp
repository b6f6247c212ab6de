#include "models/prompt_encoder.hpp"

#include <cstring>

namespace skingen::models {

void apply_emphasis(float* z, std::int64_t tokens, std::int64_t channels, const std::vector<double>& weights) {
  bool all_one = true;
  for (double w : weights) all_one = all_one && static_cast<float>(w) == 1.0f;
  if (all_one) return;  // z·1 and a mean ratio of exactly 1 leave z unchanged
  // sd_emphasis.py EmphasisOriginal: original_mean = z.mean(); z *= w; z *= original_mean / z.mean().
  // Means accumulate in double; torch's float32 reduction differs only in the last bits.
  const std::int64_t n = tokens * channels;
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += z[i];
  const float original_mean = static_cast<float>(sum / static_cast<double>(n));
  sum = 0;
  for (std::int64_t t = 0; t < tokens; ++t) {
    const float w = static_cast<float>(weights[static_cast<std::size_t>(t)]);
    for (std::int64_t c = 0; c < channels; ++c) {
      z[t * channels + c] *= w;
      sum += z[t * channels + c];
    }
  }
  const float new_mean = static_cast<float>(sum / static_cast<double>(n));
  const float ratio = original_mean / new_mean;
  for (std::int64_t i = 0; i < n; ++i) z[i] *= ratio;
}

std::vector<engine::PromptChunk> PromptEncoder::chunks(const std::string& text) const {
  return engine::tokenize_prompt_chunks(tokenizer_, text);
}

Tensor PromptEncoder::encode(const RunContext& rc, const std::string& text, int clip_skip) const {
  const auto parts = chunks(text);
  const std::int64_t T = engine::ClipTokenizer::kContextLength;
  const std::int64_t D = text_model_.config().width;
  Tensor out = Tensor::f32({1, T * static_cast<std::int64_t>(parts.size()), D});
  for (std::size_t k = 0; k < parts.size(); ++k) {
    Tensor ids = Tensor::empty(engine::DType::I32, {1, T});
    std::memcpy(ids.raw_mut(), parts[k].ids.data(), static_cast<std::size_t>(T) * sizeof(std::int32_t));
    const Tensor z = text_model_.forward(rc, ids, clip_skip);  // [1, 77, D]
    float* dst = out.f32_mut() + static_cast<std::int64_t>(k) * T * D;
    std::memcpy(dst, z.f32_data(), static_cast<std::size_t>(T * D) * sizeof(float));
    apply_emphasis(dst, T, D, parts[k].weights);
  }
  return out;
}

}  // namespace skingen::models
