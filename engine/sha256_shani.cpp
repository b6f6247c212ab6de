// SHA-256 block function on the x86 SHA extensions. The state lives in two
// registers in the order SHA256RNDS2 wants (dwords high→low: A,B,E,F and
// C,D,G,H); each SHA256RNDS2 does two rounds, so four message words give two
// calls. Message schedule (FIPS 180-4 §6.2.2 step 1) four words at a time:
//   W[t..t+3] = MSG2(MSG1(W[t-16..], W[t-12..]) + W[t-7..t-4], W[t-4..])
// where MSG1 adds σ0 and MSG2 adds σ1 (Intel SDM, SHA256MSG1/SHA256MSG2).
#include <immintrin.h>

#include "engine/sha256.hpp"

namespace skingen::engine::detail {

__attribute__((target("sha,sse4.1,ssse3")))
void sha256_blocks_shani(std::uint32_t* state, const std::uint8_t* p, std::size_t nblocks) {
  // Big-endian words: reverse the bytes of each dword.
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);

  __m128i abcd = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state));      // [A,B,C,D] low→high
  __m128i efgh = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4));  // [E,F,G,H]
  abcd = _mm_shuffle_epi32(abcd, 0xB1);                                           // [B,A,D,C]
  efgh = _mm_shuffle_epi32(efgh, 0x1B);                                           // [H,G,F,E]
  __m128i abef = _mm_alignr_epi8(abcd, efgh, 8);                                  // [F,E,B,A]
  __m128i cdgh = _mm_blend_epi16(efgh, abcd, 0xF0);                               // [H,G,D,C]

  for (; nblocks > 0; --nblocks, p += 64) {
    const __m128i abef_in = abef, cdgh_in = cdgh;
    __m128i w[4];  // the last four message vectors, w[g % 4] = W[4g .. 4g+3]
    // Fully unrolled so that the ring of message vectors stays in registers.
#pragma GCC unroll 16
    for (int g = 0; g < 16; ++g) {
      if (g < 4) {
        w[g] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * g)), bswap);
      } else {
        const __m128i t7 = _mm_alignr_epi8(w[(g - 1) & 3], w[(g - 2) & 3], 4);  // W[4g-7 .. 4g-4]
        const __m128i s = _mm_add_epi32(_mm_sha256msg1_epu32(w[g & 3], w[(g - 3) & 3]), t7);
        w[g & 3] = _mm_sha256msg2_epu32(s, w[(g - 1) & 3]);
      }
      __m128i wk = _mm_add_epi32(w[g & 3], _mm_loadu_si128(reinterpret_cast<const __m128i*>(kSha256RoundConstants + 4 * g)));
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);  // rounds 4g, 4g+1: cdgh now holds the new A,B,E,F
      wk = _mm_shuffle_epi32(wk, 0x0E);
      abef = _mm_sha256rnds2_epu32(abef, cdgh, wk);  // rounds 4g+2, 4g+3: back to (ABEF, CDGH)
    }
    abef = _mm_add_epi32(abef, abef_in);
    cdgh = _mm_add_epi32(cdgh, cdgh_in);
  }

  const __m128i abfe = _mm_shuffle_epi32(abef, 0x1B);  // [A,B,E,F]
  const __m128i ghcd = _mm_shuffle_epi32(cdgh, 0xB1);  // [G,H,C,D]
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), _mm_blend_epi16(abfe, ghcd, 0xF0));   // [A,B,C,D]
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), _mm_alignr_epi8(ghcd, abfe, 8));  // [E,F,G,H]
}

}  // namespace skingen::engine::detail
