#pragma once
// The real CLIP BPE vocabulary and the upstream tokenizer's known answers,
// committed under tests/data/clip/vocab/ (see its README for the source).
#include <filesystem>

inline std::filesystem::path clip_vocab_dir() {
  return std::filesystem::path(SKINGEN_TEST_DATA) / "clip" / "vocab";
}
inline std::filesystem::path clip_vocab_gz() { return clip_vocab_dir() / "bpe_simple_vocab_16e6.txt.gz"; }
inline std::filesystem::path clip_known_ids_json() { return clip_vocab_dir() / "known_ids.json"; }
