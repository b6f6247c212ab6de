#pragma once
// CLIP's byte-level BPE tokenizer (openai/CLIP `clip/simple_tokenizer.py`;
// HF transformers `models/clip/tokenization_clip.py`, which diffusers folders
// and A1111 use): text clean-up and pre-tokenisation (engine/clip_text.hpp),
// UTF-8 bytes mapped to 256 printable symbols (`bytes_to_unicode`), the last
// symbol of a word marked with "</w>", then the lowest-ranked adjacent pair
// merged until none is in the merge list. BOS <|startoftext|> = 49406,
// EOS <|endoftext|> = 49407 for the SD vocabulary.
//
// Sources of the vocabulary:
//   * a diffusers `tokenizer/` folder: vocab.json (token -> id) + merges.txt
//     (first line a "#version" header); special_tokens_map.json or
//     tokenizer_config.json, when present, name the pad token;
//   * openai's merges list `bpe_simple_vocab_16e6.txt.gz` (gzip or plain):
//     the vocabulary is then built as upstream does — the 256 byte symbols,
//     the same with "</w>", one token per merge, <|startoftext|>,
//     <|endoftext|>.
// Both keep merges 1..48894 of the file (upstream's `[1:49152-256-2+1]`).
//
// Padding: SD 1.x pads with EOS (CompVis FrozenCLIPEmbedder and diffusers use
// the HF tokenizer for openai/clip-vit-large-patch14, pad_token
// "<|endoftext|>"; A1111 `sd_hijack_clip.py` sets id_pad = id_end; ComfyUI
// `sd1_clip.py` pad_with_end=True). SD 2.x pads with 0 ("!"): A1111
// `sd_hijack_open_clip.py` id_pad = 0, and the SD 2 diffusers folders'
// special_tokens_map.json says pad_token "!". The default here is EOS; a
// folder's pad_token or set_pad_id() changes it.
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace skingen::engine {

class ClipTokenizer {
 public:
  static constexpr int kContextLength = 77;  // BOS + 75 tokens + EOS

  // A diffusers tokenizer folder (vocab.json + merges.txt).
  static ClipTokenizer from_folder(const std::filesystem::path& dir);
  // openai's merges list, gzipped or plain text.
  static ClipTokenizer from_merges_file(const std::filesystem::path& file);

  // Token ids of `text` (UTF-8), without BOS/EOS, no truncation: HF
  // tokenizer(text, add_special_tokens=False), simple_tokenizer.encode(text).
  // Throws UsageError for invalid UTF-8. Not thread-safe (the word cache).
  std::vector<std::int32_t> encode(std::string_view text);
  // BOS + encode(text) + EOS, no padding, no truncation.
  std::vector<std::int32_t> encode_with_specials(std::string_view text);
  // What diffusers and CompVis feed the text encoder: BOS + the first 75
  // tokens + EOS, then pad_id() up to 77 (HF truncation=True,
  // padding="max_length", max_length=77).
  std::vector<std::int32_t> encode_padded(std::string_view text);

  std::int32_t bos_id() const { return bos_id_; }
  std::int32_t eos_id() const { return eos_id_; }
  std::int32_t pad_id() const { return pad_id_; }
  void set_pad_id(std::int32_t id);
  std::size_t vocab_size() const { return vocab_.size(); }
  std::size_t merge_count() const { return merges_.size(); }
  // Id of a vocabulary entry such as ",</w>", if present.
  std::optional<std::int32_t> token_id(std::string_view token) const;
  const std::filesystem::path& source() const { return source_; }

 private:
  struct Merge {
    std::int32_t rank;
    std::int32_t merged;
  };
  ClipTokenizer() = default;
  // Fills ranks and symbol ids from the merges lines once vocab_ is complete.
  void build(const std::vector<std::pair<std::string, std::string>>& merges, const std::string& where);
  std::vector<std::int32_t> bpe(const std::string& word_utf8) const;
  void append_word(const std::string& word_utf8, std::vector<std::int32_t>& out);

  std::filesystem::path source_;
  std::unordered_map<std::string, std::int32_t> vocab_;
  std::unordered_map<std::uint64_t, Merge> merges_;  // (left id << 32 | right id) -> rank, result
  std::array<std::int32_t, 256> byte_id_{};          // symbol of a byte inside a word
  std::array<std::int32_t, 256> byte_end_id_{};      // the same with "</w>" (last byte of a word)
  std::int32_t bos_id_ = -1, eos_id_ = -1, pad_id_ = -1;
  // Per-tokenizer memo of word -> ids (upstream's self.cache), bounded.
  std::unordered_map<std::string, std::vector<std::int32_t>> cache_;
};

}  // namespace skingen::engine
