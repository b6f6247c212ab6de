#include "engine/machine_peak.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "engine/bench_timer.hpp"

namespace skingen::engine {
namespace {

// Iterations per call of the FMA loops: long enough (tens of ms) that the
// timer's resolution and the OpenMP fork do not matter.
constexpr long kFmaIterations = 1L << 21;

// 12 independent accumulators: FMA latency (4-5 cycles) × 2 pipes needs ≥ 8
// in flight (issue 3: "microkernels need ≥ 8 independent accumulators").
float fma_loop_avx2(long iterations, float seed) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(seed + 0.001f * i);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  return out[0];
}

__attribute__((target("avx512f"))) float fma_loop_avx512(long iterations, float seed) {
  // 24 of the 32 zmm registers; each zmm FMA counts 32 flops.
  __m512 acc[24];
  for (int i = 0; i < 24; ++i) acc[i] = _mm512_set1_ps(seed + 0.001f * i);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iterations; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 24; ++i) s = _mm512_add_ps(s, acc[i]);
  alignas(64) float out[16];
  _mm512_store_ps(out, s);
  return out[0];
}

// Iterations per call of the short probes (PeakProbe): a few milliseconds.
constexpr long kProbeIterations = 1L << 18;

const BenchLimits kPeakLimits{
    .min_calls = 5, .max_calls = 40, .min_seconds = 0.3, .max_seconds = 3.0, .warmup_calls = 1};

// One call of an FMA loop on every thread of the team; the sums land in
// `sink` (one cache line per thread) so the loops cannot be optimised away.
template <class Loop>
void fma_on_team(Loop loop, long iterations, int threads, std::vector<float>& sink) {
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    sink[static_cast<std::size_t>(t) * 16] += loop(iterations, 1.0f + t);
  }
}

template <class Loop>
double measure_fma(const BenchTimer& timer, Loop loop, double flops_per_iteration_per_thread, double* share) {
  const int threads = timer.threads();
  std::vector<float> sink(static_cast<std::size_t>(threads) * 16, 0.0f);
  const auto result = timer.run([&] { fma_on_team(loop, kFmaIterations, threads, sink); }, kPeakLimits);
  if (share) *share = result.median_share;
  // The fastest kept call: a peak is what the machine can do, not what it usually gets.
  return flops_per_iteration_per_thread * static_cast<double>(kFmaIterations) * threads / (result.min_ms * 1e-3) * 1e-9;
}

constexpr double kFlopsAvx2 = 12.0 * 8 * 2;  // per iteration per thread
constexpr double kFlopsAvx512 = 24.0 * 16 * 2;

}  // namespace

// Three arrays of n floats, first touched by the threads that will stream them.
struct TriadArrays {
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  long n;
  std::unique_ptr<float, Free> a, b, c;

  TriadArrays(long n_floats, int threads) : n(n_floats), a(alloc(n)), b(alloc(n)), c(alloc(n)) {
    float *pa = a.get(), *pb = b.get(), *pc = c.get();
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long i = 0; i < n; ++i) {
      pa[i] = 0.0f;
      pb[i] = 1.0f;
      pc[i] = 2.0f;
    }
  }

  static std::unique_ptr<float, Free> alloc(long n) {
    auto* p = static_cast<float*>(std::aligned_alloc(64, static_cast<std::size_t>(n) * 4));
    if (!p) throw std::bad_alloc();
    return std::unique_ptr<float, Free>(p);
  }

  void pass(int threads) {
    float *pa = a.get(), *pb = b.get(), *pc = c.get();
    const long count = n;
    const float s = 0.5f;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long i = 0; i < count; ++i) pa[i] = pb[i] + s * pc[i];
  }

  // STREAM convention: two reads and one write per element, no write-allocate
  // traffic counted.
  double bytes_per_pass() const { return 12.0 * static_cast<double>(n); }

  double gbps(const BenchTimer& timer, double* share) {
    const int threads = timer.threads();
    const auto result = timer.run([&] { pass(threads); }, kPeakLimits);
    if (share) *share = result.median_share;
    return bytes_per_pass() / (result.min_ms * 1e-3) * 1e-9;  // the fastest: what the machine can do
  }
};

double measure_fma_gflops_avx2(const BenchTimer& timer, double* share) {
  return measure_fma(timer, fma_loop_avx2, kFlopsAvx2, share);
}

double measure_fma_gflops_avx512(const BenchTimer& timer, double* share) {
  if (!__builtin_cpu_supports("avx512f")) return 0.0;
  return measure_fma(timer, fma_loop_avx512, kFlopsAvx512, share);
}

double measure_triad_gbps(const BenchTimer& timer, int triad_mib, double* share) {
  TriadArrays triad(static_cast<long>(triad_mib) * (1L << 20) / 4, timer.threads());
  return triad.gbps(timer, share);
}

MachinePeak measure_machine_peak(const BenchTimer& timer) {
  MachinePeak p;
  double s1 = 0, s2 = 0, s3 = 0;
  p.fma_gflops_avx2 = measure_fma_gflops_avx2(timer, &s1);
  p.fma_gflops_avx512 = measure_fma_gflops_avx512(timer, &s2);
  p.fma_gflops = std::max(p.fma_gflops_avx2, p.fma_gflops_avx512);
  p.triad_gbps = measure_triad_gbps(timer, p.triad_mib, &s3);
  p.share = p.fma_gflops_avx512 > 0 ? std::min({s1, s2, s3}) : std::min(s1, s3);
  return p;
}

PeakProbe::PeakProbe(const BenchTimer& timer, const MachinePeak& peak)
    : timer_(timer), avx512_(peak.fma_gflops_avx512 > peak.fma_gflops_avx2), triad_mib_(peak.triad_mib) {}

PeakProbe::~PeakProbe() = default;

BenchResult PeakProbe::run_beside(const std::function<void()>& fn, const BenchLimits& limits, bool bandwidth,
                                  double* reference) {
  const int threads = timer_.threads();
  std::vector<float> sink(static_cast<std::size_t>(threads) * 16, 0.0f);
  std::function<void()> probe;
  double units = 0;  // flops or bytes per probe call
  if (bandwidth) {
    if (!triad_) triad_ = std::make_unique<TriadArrays>(static_cast<long>(triad_mib_) * (1L << 20) / 4, threads);
    probe = [this, threads] { triad_->pass(threads); };
    units = triad_->bytes_per_pass();
  } else {
    probe = [this, threads, &sink] {
      if (avx512_)
        fma_on_team(fma_loop_avx512, kProbeIterations, threads, sink);
      else
        fma_on_team(fma_loop_avx2, kProbeIterations, threads, sink);
    };
    units = (avx512_ ? kFlopsAvx512 : kFlopsAvx2) * static_cast<double>(kProbeIterations) * threads;
  }
  const auto [result, beside] = timer_.run_beside(fn, probe, limits);
  if (reference) *reference = beside.median_ms > 0 ? units / (beside.median_ms * 1e-3) * 1e-9 : 0.0;
  return result;
}

}  // namespace skingen::engine
