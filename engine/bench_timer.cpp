#include "engine/bench_timer.hpp"

#include <omp.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <optional>
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

// Samples of one function: warm-up and repeat count first, then one timed
// sample per call of take().
class BenchTimer::Sampler {
 public:
  Sampler(const std::function<void()>& fn, const BenchLimits& limits, int threads, double min_share)
      : fn_(fn), threads_(threads), min_share_(min_share) {
    for (int i = 0; i < limits.warmup_calls; ++i) fn();
    if (limits.min_sample_seconds > 0) {  // calls per sample, from one untimed trial call
      const double t0 = seconds(CLOCK_MONOTONIC);
      fn();
      const double t = seconds(CLOCK_MONOTONIC) - t0;
      if (t < limits.min_sample_seconds)
        repeats_ = static_cast<int>(std::min(1000.0, std::ceil(limits.min_sample_seconds / std::max(t, 1e-7))));
    }
  }

  void take() {
    const double cpu0 = team_cpu_seconds(threads_);
    const double wall0 = seconds(CLOCK_MONOTONIC);
    for (int r = 0; r < repeats_; ++r) fn_();
    const double wall = seconds(CLOCK_MONOTONIC) - wall0;
    const double cpu = team_cpu_seconds(threads_) - cpu0;
    const double share = wall > 0 ? cpu / (wall * threads_) : 1.0;
    const double ms = wall * 1e3 / repeats_;
    all_ms_.push_back(ms);
    shares_.push_back(share);
    if (share >= min_share_) kept_ms_.push_back(ms);
  }

  int kept() const { return static_cast<int>(kept_ms_.size()); }

  BenchResult result() const {
    BenchResult r;
    r.calls = static_cast<int>(all_ms_.size());
    r.kept = kept();
    r.repeats = repeats_;
    r.median_share = median(shares_);
    const auto& use = kept_ms_.empty() ? all_ms_ : kept_ms_;
    r.median_ms = median(use);
    r.min_ms = use.empty() ? 0 : *std::min_element(use.begin(), use.end());
    return r;
  }

 private:
  const std::function<void()>& fn_;
  int threads_;
  double min_share_;
  int repeats_ = 1;
  std::vector<double> kept_ms_, all_ms_, shares_;
};

BenchResult BenchTimer::run(const std::function<void()>& fn, const BenchLimits& limits) const {
  return run_beside(fn, {}, limits).first;
}

std::pair<BenchResult, BenchResult> BenchTimer::run_beside(const std::function<void()>& fn,
                                                           const std::function<void()>& companion,
                                                           const BenchLimits& limits) const {
  Sampler main(fn, limits, threads_, min_share_);
  std::optional<Sampler> beside;
  if (companion) beside.emplace(companion, limits, threads_, min_share_);
  const double start = seconds(CLOCK_MONOTONIC);
  for (int call = 0; call < limits.max_calls; ++call) {
    const double elapsed = seconds(CLOCK_MONOTONIC) - start;
    const bool enough = main.kept() >= limits.min_calls && elapsed >= limits.min_seconds;
    if (enough || (elapsed >= limits.max_seconds && call > 0)) break;
    main.take();
    if (beside) beside->take();
  }
  return {main.result(), beside ? beside->result() : BenchResult{}};
}

}  // namespace skingen::engine
