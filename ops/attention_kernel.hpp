#pragma once
// The tiled flash-attention task, written once over a vector-traits type V so
// that it compiles for AVX2 (ops/attention.cpp) and AVX-512
// (ops/attention_avx512.cpp). Templates only: every instantiation is with a
// traits type local to one translation unit, so code compiled for different
// ISAs never merges at link time. The includer includes <cstdint>,
// <immintrin.h> and ops/simd_math.hpp first (outside any target pragma).
//
// Layout trick: everything vectorises over *queries*. The task packs its
// query tile transposed (Qᵀ: d × BQ), computes the score tile transposed
// (Sᵀ: keys × BQ) with K rows broadcast straight from the input, so the
// softmax max and sum over keys are vertical vector ops (no horizontal
// reductions), and accumulates Oᵀ (d × BQ) from V rows broadcast straight from
// the input. Any head dimension and key count works without masks or
// packing of K and V; only the query tile is padded to whole vectors.
// Online softmax: Milakov & Gimelshein 2018; FlashAttention, Dao et al. 2022.

#include "ops/attention_tiles.hpp"

namespace skingen::ops::attention_detail {

// One (batch, head) slice with row strides in floats.
struct Slice {
  const float* q;
  const float* k;
  const float* v;
  float* out;
  std::int64_t ldq, ldk, ldv, ldo;
  std::int64_t tq, tk;
  int d;
  float c;  // softmax scale · log2(e): scores are exponentiated in base 2
  bool causal;
};

// Online-softmax update of one key block whose per-query max is in mx: the
// new running max m (in base-2 units), α = 2^(m_old - m_new), P = 2^(S·c - m_new)
// written over S, l = α·l + Σ P. In causal blocks, entries with key > query are zeroed.
// Returns whether every α is 1 (no lane's max moved).
template <class V>
inline bool softmax_block(float* s, std::int64_t bq, std::int64_t ld, std::int64_t nk, float c, const float* mx,
                          float* m, float* l, float* alpha, bool mask, std::int64_t q0, std::int64_t k0) {
  using R = typename V::reg;
  const R vc = V::set1(c);
  bool same_max = true;
  for (std::int64_t i = 0; i < bq; i += V::W) {
    const R m_old = V::load(m + i);
    const R m_new = V::max(m_old, V::mul(V::load(mx + i), vc));
    same_max = same_max && V::all_equal(m_old, m_new);
    const R a = V::exp2(V::sub(m_old, m_new));
    R sum0 = V::zero(), sum1 = V::zero();
    std::int64_t j = 0;
    if (!mask) {
      for (; j + 2 <= nk; j += 2) {
        const R p0 = V::exp2(V::fmsub(V::load(s + j * ld + i), vc, m_new));
        const R p1 = V::exp2(V::fmsub(V::load(s + (j + 1) * ld + i), vc, m_new));
        V::store(s + j * ld + i, p0);
        V::store(s + (j + 1) * ld + i, p1);
        sum0 = V::add(sum0, p0);
        sum1 = V::add(sum1, p1);
      }
      for (; j < nk; ++j) {
        const R p0 = V::exp2(V::fmsub(V::load(s + j * ld + i), vc, m_new));
        V::store(s + j * ld + i, p0);
        sum0 = V::add(sum0, p0);
      }
    } else {
      const R query = V::iota_plus(static_cast<float>(q0 + i));
      for (; j < nk; ++j) {
        R p0 = V::exp2(V::fmsub(V::load(s + j * ld + i), vc, m_new));
        p0 = V::keep_if_ge(p0, query, V::set1(static_cast<float>(k0 + j)));
        V::store(s + j * ld + i, p0);
        sum0 = V::add(sum0, p0);
      }
    }
    V::store(m + i, m_new);
    V::store(alpha + i, a);
    V::store(l + i, V::fma(V::load(l + i), a, V::add(sum0, sum1)));
  }
  return same_max;
}

// Sets Sᵀ[j][i] = -inf where key k0 + j comes after query q0 + i, and
// recomputes the block max mx over the visible keys only.
template <class V>
inline void causal_mask_block(float* s, std::int64_t bq, std::int64_t ld, std::int64_t nk, std::int64_t q0,
                              std::int64_t k0, float* mx) {
  using R = typename V::reg;
  const R neg_inf = V::set1(-__builtin_inff());
  for (std::int64_t i = 0; i < bq; i += V::W) {
    const R query = V::iota_plus(static_cast<float>(q0 + i));
    R m = neg_inf;
    for (std::int64_t j = 0; j < nk; ++j) {
      const R key = V::set1(static_cast<float>(k0 + j));
      const R v = V::select_ge(V::load(s + j * ld + i), neg_inf, query, key);
      V::store(s + j * ld + i, v);
      m = V::max(m, v);
    }
    V::store(mx + i, m);
  }
}

// Qᵀ[dd][i] = q[(q0+i)·ldq + dd] for i < nq, 0 for nq ≤ i < bq: 8×8 blocks
// through registers, scalar edges. (A template on V, like everything here, so
// that each ISA's translation unit has its own copy.)
template <class V>
inline void pack_queries_transposed(const float* q, std::int64_t ldq, std::int64_t nq, std::int64_t bq, std::int64_t ld,
                                    int d, float* qt) {
  int dd = 0;
  for (; dd + 8 <= d; dd += 8) {
    std::int64_t i = 0;
    for (; i + 8 <= nq; i += 8) {
      __m256 r[8];
      for (int u = 0; u < 8; ++u) r[u] = _mm256_loadu_ps(q + (i + u) * ldq + dd);
      simd::transpose8(r);
      for (int u = 0; u < 8; ++u) _mm256_storeu_ps(qt + (dd + u) * ld + i, r[u]);
    }
    for (; i < nq; ++i)
      for (int u = 0; u < 8; ++u) qt[(dd + u) * ld + i] = q[i * ldq + dd + u];
  }
  for (; dd < d; ++dd)
    for (std::int64_t i = 0; i < nq; ++i) qt[dd * ld + i] = q[i * ldq + dd];
  for (dd = 0; dd < d; ++dd)
    for (std::int64_t i = nq; i < bq; ++i) qt[dd * ld + i] = 0.0f;
}

// out[i·ldo + dd] = Oᵀ[dd][i] · linv[i] for i < nq.
template <class V>
inline void store_output(const float* ot, const float* linv, std::int64_t nq, std::int64_t ld, int d, float* out,
                         std::int64_t ldo) {
  std::int64_t i = 0;
  for (; i + 8 <= nq; i += 8) {
    const __m256 li = _mm256_loadu_ps(linv + i);
    int dd = 0;
    for (; dd + 8 <= d; dd += 8) {
      __m256 r[8];
      for (int u = 0; u < 8; ++u) r[u] = _mm256_mul_ps(_mm256_loadu_ps(ot + (dd + u) * ld + i), li);
      simd::transpose8(r);
      for (int u = 0; u < 8; ++u) _mm256_storeu_ps(out + (i + u) * ldo + dd, r[u]);
    }
    for (; dd < d; ++dd)
      for (int u = 0; u < 8; ++u) out[(i + u) * ldo + dd] = ot[dd * ld + i + u] * linv[i + u];
  }
  for (; i < nq; ++i)
    for (int dd = 0; dd < d; ++dd) out[i * ldo + dd] = ot[dd * ld + i] * linv[i];
}

// Prefetches rows [0, n) of K and V (d floats each) into L2.
template <class V>
inline void prefetch_rows(const float* k, const float* v, std::int64_t ldk, std::int64_t ldv, std::int64_t n, int d) {
  for (std::int64_t j = 0; j < n; ++j) {
    for (int off = 0; off < d; off += 16) {
      _mm_prefetch(reinterpret_cast<const char*>(k + j * ldk + off), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(v + j * ldv + off), _MM_HINT_T1);
    }
    _mm_prefetch(reinterpret_cast<const char*>(k + j * ldk + d - 1), _MM_HINT_T1);  // the row's last line
    _mm_prefetch(reinterpret_cast<const char*>(v + j * ldv + d - 1), _MM_HINT_T1);
  }
}

// Floats added to each tile row (see Kernel::run); task_workspace_floats counts them.
inline constexpr int kRowPad = 16;

// Parameters of one instantiation: RK × CQS score tiles, RD × CQV value
// tiles, query tiles of BQ = G · max(CQS, CQV) · W queries, key blocks of BK.
template <class V, int RK, int CQS, int RD, int CQV>
struct Kernel {
  static constexpr int kQueryGroup = (CQS > CQV ? CQS : CQV) * V::W;
  static constexpr int kKeyGroup = RK;
  static_assert(kQueryGroup % (CQS * V::W) == 0 && kQueryGroup % (CQV * V::W) == 0,
                "query group must be a multiple of both tile widths");

  // Computes output rows [q0, q0 + nq) of one slice. bq: nq rounded up to
  // kQueryGroup; bk: key block size; work: task_workspace_floats(d, bq, bk).
  static void run(const Slice& t, std::int64_t q0, std::int64_t nq, std::int64_t bq, std::int64_t bk, float* work) {
    using R = typename V::reg;
    const int d = t.d;
    // Row stride of the tiles: bq plus one cache line, so that rows 4 KiB
    // apart do not all fall into the same L1 sets (bq = 128 floats is 512 B:
    // Qᵀ, P and Oᵀ rows would otherwise share half of the sets and evict
    // each other).
    const std::int64_t ld = bq + kRowPad;
    float* qt = work;         // [d][ld]
    float* ot = qt + d * ld;  // [d][ld]
    float* s = ot + d * ld;   // [bk][ld] scores, then P
    float* m = s + bk * ld;   // [bq] reference (running max), base-2 units
    float* l = m + bq;        // [bq] running Σ 2^(S·c - m)
    float* alpha = l + bq;    // [bq] rescale factor for Oᵀ in this block
    float* mx = alpha + bq;   // [bq] two-pass: raw score max; fused: largest exponent
    float* lsum = mx + bq;    // [bq] fused: Σ P of this block
    pack_queries_transposed<V>(t.q + q0 * t.ldq, t.ldq, nq, bq, ld, d, qt);
    for (std::int64_t i = 0; i < bq; ++i) {
      m[i] = -__builtin_inff();
      l[i] = 0.0f;
    }
    bool rebase = false;  // the reference should move up before the next block
    const std::int64_t q_last = q0 + nq - 1;
    for (std::int64_t k0 = 0; k0 < t.tk; k0 += bk) {
      if (t.causal && k0 > q_last) break;  // every later key is masked for the whole tile
      const std::int64_t nk = (t.tk - k0 < bk) ? t.tk - k0 : bk;
      // K and V rows of one head are strided by all heads' channels and the
      // head's keys do not fit in L2 with their neighbours: fetch the next
      // block into L2 while this one computes.
      if (k0 + bk < t.tk)
        prefetch_rows<V>(t.k + (k0 + bk) * t.ldk, t.v + (k0 + bk) * t.ldv, t.ldk, t.ldv,
                         (t.tk - k0 - bk < bk) ? t.tk - k0 - bk : bk, d);
      // Key block [k0, k0+nk) against queries [q0, q0+bq): masking needed when
      // some key exceeds some query. Key 0 is in the first block and visible
      // to every query, so every row's max is finite from the first block on.
      const bool mask = t.causal && k0 + nk - 1 > q0;
      Carry carry = Carry::Keep;
      bool fused = k0 > 0 && !mask;
      if (fused) {
        if (rebase) {  // move the reference to the scores seen, rescale l now and Oᵀ in value_block
          for (std::int64_t i = 0; i < bq; i += V::W) {
            const R grow = V::max(V::load(mx + i), V::zero());
            V::store(m + i, V::add(V::load(m + i), grow));
            const R a = V::exp2(V::sub(V::zero(), grow));
            V::store(alpha + i, a);
            V::store(l + i, V::mul(V::load(l + i), a));
          }
          carry = Carry::Scale;
          rebase = false;
        }
        for (std::int64_t i = 0; i < bq; ++i) {
          mx[i] = -__builtin_inff();
          lsum[i] = 0.0f;
        }
        score_exp_block<V, RK, CQS>(t.k + k0 * t.ldk, t.ldk, qt, bq, ld, d, nk, s, t.c, m, mx, lsum);
        R top = V::set1(-__builtin_inff());
        for (std::int64_t i = 0; i < bq; i += V::W) top = V::max(top, V::load(mx + i));
        const float largest = V::reduce_max(top);
        if (largest > kMaxFusedExponent) {
          fused = false;  // a score far above the reference: redo this block the two-pass way
        } else {
          for (std::int64_t i = 0; i < bq; ++i) l[i] += lsum[i];
          rebase = largest > 8.0f;  // P up to 2^8 is harmless; beyond, move the reference up
        }
      }
      if (!fused) {
        const bool rebased = carry == Carry::Scale;  // Oᵀ still owes the rebase factor in alpha
        if (rebased)
          for (std::int64_t i = 0; i < bq; ++i) lsum[i] = alpha[i];
        for (std::int64_t i = 0; i < bq; ++i) mx[i] = -__builtin_inff();
        score_block<V, RK, CQS>(t.k + k0 * t.ldk, t.ldk, qt, bq, ld, d, nk, s, mx);
        if (mask) causal_mask_block<V>(s, bq, ld, nk, q0, k0, mx);
        const bool same_max = softmax_block<V>(s, bq, ld, nk, t.c, mx, m, l, alpha, mask, q0, k0);
        if (rebased)
          for (std::int64_t i = 0; i < bq; ++i) alpha[i] *= lsum[i];
        carry = k0 == 0 ? Carry::Zero : (same_max && !rebased) ? Carry::Keep : Carry::Scale;
        rebase = false;
      }
      value_block<V, RD, CQV>(t.v + k0 * t.ldv, t.ldv, s, bq, ld, nk, d, alpha, ot, carry);
    }
    for (std::int64_t i = 0; i < nq; ++i) l[i] = 1.0f / l[i];
    store_output<V>(ot, l, nq, ld, d, t.out + q0 * t.ldo, t.ldo);
  }
};

}  // namespace skingen::ops::attention_detail
