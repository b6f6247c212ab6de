#pragma once
// Register-blocked microtiles of the attention task (ops/attention_kernel.hpp):
// scores Sᵀ = K·Qᵀ (optionally with the exponentials fused in) and the value
// update Oᵀ += Vᵀ·Pᵀ, each over V (vector traits) and tile sizes given as
// template arguments, plus the loops that cover a whole key block with them.
// Templates only, included by attention_kernel.hpp (see there why).

namespace skingen::ops::attention_detail {

// Sᵀ[j][i] = Σ_dd K[j][dd] · Qᵀ[dd][i] for RK keys and CQ query vectors; also
// folds the tile's per-query maximum into mx (the block's running max).
template <class V, int RK, int CQ>
inline void score_tile(const float* k, std::int64_t ldk, const float* qt, std::int64_t ldq, int d, float* s,
                       std::int64_t lds, float* mx) {
  using R = typename V::reg;
  R acc[RK][CQ];
#pragma GCC unroll 16
  for (int r = 0; r < RK; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < CQ; ++c) acc[r][c] = V::zero();
  for (int dd = 0; dd < d; ++dd) {
    R qv[CQ];
#pragma GCC unroll 16
    for (int c = 0; c < CQ; ++c) qv[c] = V::load(qt + dd * ldq + c * V::W);
#pragma GCC unroll 16
    for (int r = 0; r < RK; ++r) {
      const R kb = V::bcast(k + r * ldk + dd);
#pragma GCC unroll 16
      for (int c = 0; c < CQ; ++c) acc[r][c] = V::fma(kb, qv[c], acc[r][c]);
    }
  }
#pragma GCC unroll 16
  for (int c = 0; c < CQ; ++c) {
    R m = V::load(mx + c * V::W);
#pragma GCC unroll 16
    for (int r = 0; r < RK; ++r) {
      V::store(s + r * lds + c * V::W, acc[r][c]);
      m = V::max(m, acc[r][c]);
    }
    V::store(mx + c * V::W, m);
  }
}

// The score tile fused with the exponentials, for blocks after the first:
// P = 2^(S·c - m) against the running reference m (no block max needed
// first, so S never makes a round trip through memory). Folds the tile's
// largest exponent t = S·c - m into tmax and Σ P into lsum. P may exceed 1
// when a score beats the reference; the caller redoes the block the
// two-pass way if any t passed kMaxFusedExponent, and moves the reference up
// before the next block when it grew.
inline constexpr float kMaxFusedExponent = 64.0f;  // P ≤ 2^64: sums of 10^5 such values stay finite

template <class V, int RK, int CQ>
inline void score_exp_tile(const float* k, std::int64_t ldk, const float* qt, std::int64_t ldq, int d, float* p,
                           std::int64_t ldp, float c, const float* m, float* tmax, float* lsum) {
  using R = typename V::reg;
  R acc[RK][CQ];
#pragma GCC unroll 16
  for (int r = 0; r < RK; ++r)
#pragma GCC unroll 16
    for (int q = 0; q < CQ; ++q) acc[r][q] = V::zero();
  for (int dd = 0; dd < d; ++dd) {
    R qv[CQ];
#pragma GCC unroll 16
    for (int q = 0; q < CQ; ++q) qv[q] = V::load(qt + dd * ldq + q * V::W);
#pragma GCC unroll 16
    for (int r = 0; r < RK; ++r) {
      const R kb = V::bcast(k + r * ldk + dd);
#pragma GCC unroll 16
      for (int q = 0; q < CQ; ++q) acc[r][q] = V::fma(kb, qv[q], acc[r][q]);
    }
  }
  const R vc = V::set1(c);
#pragma GCC unroll 16
  for (int q = 0; q < CQ; ++q) {
    const R ref = V::load(m + q * V::W);
    R top = V::load(tmax + q * V::W);
    R sum = V::load(lsum + q * V::W);
#pragma GCC unroll 16
    for (int r = 0; r < RK; ++r) {
      const R t = V::fmsub(acc[r][q], vc, ref);
      top = V::max(top, t);
      const R e = V::exp2(V::min(t, V::set1(kMaxFusedExponent)));
      V::store(p + r * ldp + q * V::W, e);
      sum = V::add(sum, e);
    }
    V::store(tmax + q * V::W, top);
    V::store(lsum + q * V::W, sum);
  }
}

template <class V, int R, int CQ>
inline void score_exp_rem(int rem, const float* k, std::int64_t ldk, const float* qt, std::int64_t ldq, int d, float* p,
                          std::int64_t ldp, float c, const float* m, float* tmax, float* lsum) {
  if constexpr (R > 0) {
    if (rem == R)
      score_exp_tile<V, R, CQ>(k, ldk, qt, ldq, d, p, ldp, c, m, tmax, lsum);
    else
      score_exp_rem<V, R - 1, CQ>(rem, k, ldk, qt, ldq, d, p, ldp, c, m, tmax, lsum);
  }
}

template <class V, int RK, int CQ>
inline void score_exp_block(const float* k, std::int64_t ldk, const float* qt, std::int64_t bq, std::int64_t ld, int d,
                            std::int64_t nk, float* p, float c, const float* m, float* tmax, float* lsum) {
  for (std::int64_t i = 0; i < bq; i += CQ * V::W) {
    std::int64_t j = 0;
    for (; j + RK <= nk; j += RK)
      score_exp_tile<V, RK, CQ>(k + j * ldk, ldk, qt + i, ld, d, p + j * ld + i, ld, c, m + i, tmax + i, lsum + i);
    score_exp_rem<V, RK - 1, CQ>(static_cast<int>(nk - j), k + j * ldk, ldk, qt + i, ld, d, p + j * ld + i, ld, c,
                                 m + i, tmax + i, lsum + i);
  }
}

// How a value tile starts from the running Oᵀ: the first key block starts
// from zero, later ones from α·Oᵀ, or from Oᵀ itself when every α is 1 (the
// running max did not move, the common case after a few blocks).
enum class Carry { Zero, Scale, Keep };

// Oᵀ[dd][i] = α[i]·Oᵀ[dd][i] + Σ_j V[j][dd] · Pᵀ[j][i] for RD dims and CQ query vectors.
template <class V, int RD, int CQ, Carry C>
inline void value_tile(const float* v, std::int64_t ldv, const float* p, std::int64_t ldp, std::int64_t nk,
                       const float* alpha, float* ot, std::int64_t ldo) {
  using R = typename V::reg;
  R acc[RD][CQ];
#pragma GCC unroll 16
  for (int c = 0; c < CQ; ++c) {
    if constexpr (C == Carry::Scale) {
      const R a = V::load(alpha + c * V::W);
#pragma GCC unroll 16
      for (int r = 0; r < RD; ++r) acc[r][c] = V::mul(V::load(ot + r * ldo + c * V::W), a);
    } else {
#pragma GCC unroll 16
      for (int r = 0; r < RD; ++r) acc[r][c] = C == Carry::Keep ? V::load(ot + r * ldo + c * V::W) : V::zero();
    }
  }
  for (std::int64_t j = 0; j < nk; ++j) {
    R pv[CQ];
#pragma GCC unroll 16
    for (int c = 0; c < CQ; ++c) pv[c] = V::load(p + j * ldp + c * V::W);
#pragma GCC unroll 16
    for (int r = 0; r < RD; ++r) {
      const R vb = V::bcast(v + j * ldv + r);
#pragma GCC unroll 16
      for (int c = 0; c < CQ; ++c) acc[r][c] = V::fma(vb, pv[c], acc[r][c]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < RD; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < CQ; ++c) V::store(ot + r * ldo + c * V::W, acc[r][c]);
}

// Tiles for a remainder of `rem` < R rows (keys or dims): picks the
// instantiation with exactly `rem` rows.
template <class V, int R, int CQ>
inline void score_rem(int rem, const float* k, std::int64_t ldk, const float* qt, std::int64_t ldq, int d, float* s,
                      std::int64_t lds, float* mx) {
  if constexpr (R > 0) {
    if (rem == R)
      score_tile<V, R, CQ>(k, ldk, qt, ldq, d, s, lds, mx);
    else
      score_rem<V, R - 1, CQ>(rem, k, ldk, qt, ldq, d, s, lds, mx);
  }
}

template <class V, int R, int CQ, Carry C>
inline void value_rem(int rem, const float* v, std::int64_t ldv, const float* p, std::int64_t ldp, std::int64_t nk,
                      const float* alpha, float* ot, std::int64_t ldo) {
  if constexpr (R > 0) {
    if (rem == R)
      value_tile<V, R, CQ, C>(v, ldv, p, ldp, nk, alpha, ot, ldo);
    else
      value_rem<V, R - 1, CQ, C>(rem, v, ldv, p, ldp, nk, alpha, ot, ldo);
  }
}

// Score rows for nk keys (any count): full RK groups, then the remainder.
template <class V, int RK, int CQ>
inline void score_block(const float* k, std::int64_t ldk, const float* qt, std::int64_t bq, std::int64_t ld, int d,
                        std::int64_t nk, float* s, float* mx) {
  for (std::int64_t i = 0; i < bq; i += CQ * V::W) {
    std::int64_t j = 0;
    for (; j + RK <= nk; j += RK) score_tile<V, RK, CQ>(k + j * ldk, ldk, qt + i, ld, d, s + j * ld + i, ld, mx + i);
    score_rem<V, RK - 1, CQ>(static_cast<int>(nk - j), k + j * ldk, ldk, qt + i, ld, d, s + j * ld + i, ld, mx + i);
  }
}

// Oᵀ update for all d dims: full RD groups, then the remainder.
template <class V, int RD, int CQ, Carry C>
inline void value_block_carry(const float* v, std::int64_t ldv, const float* p, std::int64_t bq, std::int64_t ld,
                              std::int64_t nk, int d, const float* alpha, float* ot) {
  for (std::int64_t i = 0; i < bq; i += CQ * V::W) {
    int dd = 0;
    for (; dd + RD <= d; dd += RD)
      value_tile<V, RD, CQ, C>(v + dd, ldv, p + i, ld, nk, alpha + i, ot + dd * ld + i, ld);
    value_rem<V, RD - 1, CQ, C>(d - dd, v + dd, ldv, p + i, ld, nk, alpha + i, ot + dd * ld + i, ld);
  }
}

template <class V, int RD, int CQ>
inline void value_block(const float* v, std::int64_t ldv, const float* p, std::int64_t bq, std::int64_t ld,
                        std::int64_t nk, int d, const float* alpha, float* ot, Carry carry) {
  switch (carry) {
    case Carry::Zero:
      value_block_carry<V, RD, CQ, Carry::Zero>(v, ldv, p, bq, ld, nk, d, alpha, ot);
      break;
    case Carry::Scale:
      value_block_carry<V, RD, CQ, Carry::Scale>(v, ldv, p, bq, ld, nk, d, alpha, ot);
      break;
    case Carry::Keep:
      value_block_carry<V, RD, CQ, Carry::Keep>(v, ldv, p, bq, ld, nk, d, alpha, ot);
      break;
  }
}

}  // namespace skingen::ops::attention_detail
