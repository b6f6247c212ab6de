#include "engine/prompt_chunks.hpp"

#include <algorithm>
#include <optional>

#include "engine/core/error.hpp"
#include "engine/prompt_attention.hpp"

namespace skingen::engine {

std::vector<PromptChunk> tokenize_prompt_chunks(ClipTokenizer& tok, std::string_view prompt, const ChunkOptions& opt) {
  constexpr std::size_t kChunk = ClipTokenizer::kContextLength - 2;  // 75
  if (opt.comma_padding_backtrack < 0 || opt.comma_padding_backtrack > 74)
    throw UsageError("comma padding backtrack must be 0..74 (A1111's range), got " +
                     std::to_string(opt.comma_padding_backtrack));
  const std::vector<PromptPiece> parsed =
      opt.emphasis ? parse_prompt_attention(prompt) : std::vector<PromptPiece>{{std::string(prompt), 1.0}};
  const std::optional<std::int32_t> comma = tok.token_id(",</w>");
  const auto backtrack = static_cast<std::size_t>(opt.comma_padding_backtrack);

  std::vector<PromptChunk> chunks;
  std::vector<std::int32_t> ids;  // the chunk being filled, without BOS/EOS
  std::vector<double> weights;
  std::optional<std::size_t> last_comma;
  const auto next_chunk = [&] {
    PromptChunk c;
    c.ids.reserve(ClipTokenizer::kContextLength);
    c.ids.push_back(tok.bos_id());
    c.ids.insert(c.ids.end(), ids.begin(), ids.end());
    c.ids.resize(kChunk + 1, tok.eos_id());
    c.ids.push_back(tok.eos_id());
    c.weights.assign(1, 1.0);
    c.weights.insert(c.weights.end(), weights.begin(), weights.end());
    c.weights.resize(ClipTokenizer::kContextLength, 1.0);
    if (tok.pad_id() != tok.eos_id()) {
      const auto first_eos = std::find(c.ids.begin(), c.ids.end(), tok.eos_id());
      std::fill(first_eos + 1, c.ids.end(), tok.pad_id());
    }
    chunks.push_back(std::move(c));
    ids.clear();
    weights.clear();
    last_comma.reset();
  };

  for (const PromptPiece& piece : parsed) {
    if (piece.is_break()) {
      next_chunk();
      continue;
    }
    for (std::int32_t token : tok.encode(piece.text)) {
      if (comma && token == *comma) {
        last_comma = ids.size();
      } else if (backtrack != 0 && ids.size() == kChunk && last_comma && ids.size() - *last_comma <= backtrack) {
        // Move what follows the last comma to the next chunk.
        const std::size_t cut = *last_comma + 1;
        std::vector<std::int32_t> moved_ids(ids.begin() + static_cast<std::ptrdiff_t>(cut), ids.end());
        std::vector<double> moved_weights(weights.begin() + static_cast<std::ptrdiff_t>(cut), weights.end());
        ids.resize(cut);
        weights.resize(cut);
        next_chunk();
        ids = std::move(moved_ids);
        weights = std::move(moved_weights);
      }
      if (ids.size() == kChunk) next_chunk();
      ids.push_back(token);
      weights.push_back(piece.weight);
    }
  }
  if (!ids.empty() || chunks.empty()) next_chunk();
  return chunks;
}

}  // namespace skingen::engine
