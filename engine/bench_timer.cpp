#include "engine/bench_timer.hpp"

#include <omp.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace skingen::engine {
namespace {

double seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Σ over the team of each thread's own CPU clock (exact for the caller).
double team_cpu_seconds(int threads) {
  double sum = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sum)
  sum += seconds(CLOCK_THREAD_CPUTIME_ID);
  return sum;
}

BenchResult BenchTimer::run(const std::function<void()>& fn, const BenchLimits& limits) const {
  for (int i = 0; i < limits.warmup_calls; ++i) fn();
  // Calls per sample, from one probe call.
  int repeats = 1;
  if (limits.min_sample_seconds > 0) {
    const double t0 = seconds(CLOCK_MONOTONIC);
    fn();
    const double t = seconds(CLOCK_MONOTONIC) - t0;
    if (t < limits.min_sample_seconds)
      repeats = static_cast<int>(std::min(1000.0, std::ceil(limits.min_sample_seconds / std::max(t, 1e-7))));
  }
  std::vector<double> kept_ms, all_ms, shares;
  const double start = seconds(CLOCK_MONOTONIC);
  for (int call = 0; call < limits.max_calls; ++call) {
    const double elapsed = seconds(CLOCK_MONOTONIC) - start;
    const bool enough = static_cast<int>(kept_ms.size()) >= limits.min_calls && elapsed >= limits.min_seconds;
    if (enough || (elapsed >= limits.max_seconds && call > 0)) break;
    const double cpu0 = team_cpu_seconds(threads_);
    const double wall0 = seconds(CLOCK_MONOTONIC);
    for (int r = 0; r < repeats; ++r) fn();
    const double wall = seconds(CLOCK_MONOTONIC) - wall0;
    const double cpu = team_cpu_seconds(threads_) - cpu0;
    const double share = wall > 0 ? cpu / (wall * threads_) : 1.0;
    const double ms = wall * 1e3 / repeats;
    all_ms.push_back(ms);
    shares.push_back(share);
    if (share >= min_share_) kept_ms.push_back(ms);
  }
  BenchResult r;
  r.calls = static_cast<int>(all_ms.size());
  r.kept = static_cast<int>(kept_ms.size());
  r.repeats = repeats;
  r.median_share = median(shares);
  const auto& use = kept_ms.empty() ? all_ms : kept_ms;
  r.median_ms = median(use);
  r.min_ms = use.empty() ? 0 : *std::min_element(use.begin(), use.end());
  return r;
}

}  // namespace skingen::engine
