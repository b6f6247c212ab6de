#pragma once
// Times calls on a shared, noisy machine (docs/ARCHITECTURE.md, "Measuring
// speed"): every timed sample records its CPU time ÷ (wall time × threads),
// the share of the cores it really got, and only samples with a share of at
// least `min_share` count.
// Medians are quoted, never a lone time. CPU time is read per thread inside an
// OpenMP region on the same thread team the ops use (the process clock lags by
// up to a scheduler tick for threads running on other cores), and calls
// shorter than a few milliseconds are repeated within one sample.
#include <functional>
#include <utility>
#include <vector>

namespace skingen::engine {

struct BenchLimits {
  int min_calls = 3;                  // kept calls wanted
  int max_calls = 30;                 // give up after this many calls in total
  double min_seconds = 0.2;           // keep calling until this much wall time has passed
  double max_seconds = 4.0;           // ... but stop after this much (once min_calls are kept, or max_calls are made)
  int warmup_calls = 1;               // untimed calls first (primitive creation, page faults)
  double min_sample_seconds = 0.005;  // shorter calls are repeated within one timed sample
};

struct BenchResult {
  double median_ms = 0;     // over kept calls (over all calls if none was kept)
  double min_ms = 0;        // fastest kept call
  double median_share = 0;  // CPU share over all timed calls
  int kept = 0;             // samples with share >= min_share
  int calls = 0;            // timed samples in total
  int repeats = 1;          // calls per sample
};

// Σ of each thread's own CPU clock over an OpenMP team of `threads`: the CPU
// time of calls too long to repeat (bench generate's sampling steps), for the
// share CPU ÷ (wall × threads).
double team_cpu_seconds(int threads);

// Median of `v` (mean of the middle two for an even count; 0 when empty).
double median(std::vector<double> v);

class BenchTimer {
 public:
  BenchTimer(int threads, double min_share = 0.9) : threads_(threads), min_share_(min_share) {}

  BenchResult run(const std::function<void()>& fn, const BenchLimits& limits = {}) const;

  // The same, with one sample of `companion` (its own warm-up and repeat
  // count) after every sample of `fn`, so that both see the same moments of
  // a shared machine; `limits` stop the loop by fn's samples. Returns fn's
  // result and companion's (empty when companion is).
  std::pair<BenchResult, BenchResult> run_beside(const std::function<void()>& fn,
                                                 const std::function<void()>& companion,
                                                 const BenchLimits& limits = {}) const;

  int threads() const { return threads_; }
  double min_share() const { return min_share_; }

 private:
  class Sampler;
  int threads_;
  double min_share_;
};

}  // namespace skingen::engine
