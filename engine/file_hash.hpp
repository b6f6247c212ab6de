#pragma once
// File hashes in the conventions A1111 and kohya use, so that the hashes
// skingen writes into PNGs match theirs for the same files.
//   - Checkpoint ("Model hash"): SHA-256 of the whole file; the infotext shows
//     the first 10 hex digits (A1111 modules/hashes.py `calculate_sha256`,
//     modules/sd_models.py `CheckpointInfo`: `shorthash = sha256[0:10]`).
//   - LoRA ("Lora hashes"): SHA-256 of the bytes after the safetensors header,
//     i.e. from offset 8 + N to the end (A1111 modules/hashes.py
//     `addnet_hash_safetensors`, the hash kohya sd-scripts stores as
//     `sshs_model_hash`); the infotext shows the first 12 hex digits
//     (A1111 extensions-builtin/Lora/network.py `NetworkOnDisk.set_hash`).
#include <cstdint>
#include <filesystem>
#include <string>

#include "engine/sha256.hpp"

namespace skingen::engine {

// SHA-256 of the bytes of `path` from `offset` to the end of the file.
Sha256Digest sha256_file(const std::filesystem::path& path, std::uint64_t offset = 0);
std::string sha256_file_hex(const std::filesystem::path& path, std::uint64_t offset = 0);

struct SafetensorsHashes {
  std::string file_sha256;  // the whole file (64 hex digits)
  std::string data_sha256;  // the bytes after the header (64 hex digits)
};
// Both hashes in one pass over the file (for LoRAs; a checkpoint needs only
// sha256_file). Throws FormatError when the header length field points past
// the end of the file.
SafetensorsHashes hash_safetensors_file(const std::filesystem::path& path);

// A1111's short forms of the full hex digests above.
inline std::string a1111_model_hash(const std::string& file_sha256) { return file_sha256.substr(0, 10); }
inline std::string a1111_lora_hash(const std::string& data_sha256) { return data_sha256.substr(0, 12); }

}  // namespace skingen::engine
