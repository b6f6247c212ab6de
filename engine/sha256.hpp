#pragma once
// Streaming SHA-256 (FIPS 180-4). Model and LoRA files are hashed whole (A1111's
// checkpoint hash, kohya's `sshs_model_hash`), so the block function matters:
// on CPUs with the SHA extensions (every AMD Zen, Intel since Ice Lake) it
// uses SHA256RNDS2/MSG1/MSG2, otherwise a portable scalar loop.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace skingen::engine {

using Sha256Digest = std::array<std::uint8_t, 32>;

class Sha256 {
 public:
  enum class Impl { automatic, scalar, shani };
  // `automatic` picks the SHA extensions when the CPU has them (checked here,
  // once per object). Asking for `shani` on a CPU without them throws.
  explicit Sha256(Impl impl = Impl::automatic);

  void update(const void* data, std::size_t n);
  void update(std::span<const std::byte> bytes) { update(bytes.data(), bytes.size()); }
  // Pads, returns the digest and resets the object for a new message.
  Sha256Digest finish();

  Impl impl() const { return impl_; }
  static bool cpu_has_sha_extensions();

 private:
  void blocks(const std::uint8_t* p, std::size_t nblocks);
  void reset();

  Impl impl_;
  std::array<std::uint32_t, 8> state_{};
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;  // bytes
};

std::string to_hex(std::span<const std::uint8_t> bytes);  // lower case
Sha256Digest sha256(std::span<const std::byte> bytes);
std::string sha256_hex(std::span<const std::byte> bytes);

namespace detail {
// Block functions: `nblocks` 64-byte blocks at `p` into `state`.
void sha256_blocks_scalar(std::uint32_t* state, const std::uint8_t* p, std::size_t nblocks);
void sha256_blocks_shani(std::uint32_t* state, const std::uint8_t* p, std::size_t nblocks);
extern const std::uint32_t kSha256RoundConstants[64];
}  // namespace detail

}  // namespace skingen::engine
