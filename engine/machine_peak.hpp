#pragma once
// What this CPU can physically do, measured in the same run as a benchmark so
// that fractions of peak are honest on a shared machine: fp32 FMA throughput
// (AVX2 and, where the CPU has it, AVX-512; the larger counts) and STREAM-style
// triad bandwidth.
#include <functional>
#include <memory>

#include "engine/bench_timer.hpp"

namespace skingen::engine {

struct TriadArrays;

struct MachinePeak {
  double fma_gflops = 0;  // max of the two below
  double fma_gflops_avx2 = 0;
  double fma_gflops_avx512 = 0;  // 0 when the CPU lacks AVX-512F
  double triad_gbps = 0;         // a = b + s·c over arrays far larger than the caches, 12 bytes per element
  double share = 0;              // median CPU share seen while measuring
  int triad_mib = 64;            // size of each triad array
};

// Runs on `timer.threads()` OpenMP threads. `triad_mib` is the size of each of
// the three arrays.
double measure_fma_gflops_avx2(const BenchTimer& timer, double* share = nullptr);
double measure_fma_gflops_avx512(const BenchTimer& timer, double* share = nullptr);
double measure_triad_gbps(const BenchTimer& timer, int triad_mib = 64, double* share = nullptr);
MachinePeak measure_machine_peak(const BenchTimer& timer);

// The same peak measured again, briefly, right next to a benchmarked op, so
// that the op's fraction of peak is also a ratio taken side by side. On a
// shared host a neighbour on the other hyperthread of a core, or on the
// memory bus, can halve both the FMA rate and the bandwidth for a while
// with the CPU share still 1.0; a peak taken once at the start of the run
// cannot see that. The probe's calls alternate with the op's and it quotes
// its median, like the op: a burst that comes and goes while the op is
// timed weighs on both alike.
class PeakProbe {
 public:
  PeakProbe(const BenchTimer& timer, const MachinePeak& peak);
  ~PeakProbe();
  PeakProbe(const PeakProbe&) = delete;
  PeakProbe& operator=(const PeakProbe&) = delete;

  // Times fn as timer.run() would, with one short call of the run's FMA loop
  // (the ISA that gave its peak; bandwidth false) or of its triad (true)
  // after every sample of fn. Returns fn's result; *reference gets the
  // probe's rate at its median call, GFLOP/s or GB/s.
  BenchResult run_beside(const std::function<void()>& fn, const BenchLimits& limits, bool bandwidth, double* reference);

 private:
  const BenchTimer& timer_;
  bool avx512_;
  int triad_mib_;
  std::unique_ptr<TriadArrays> triad_;  // made on first use
};

}  // namespace skingen::engine
