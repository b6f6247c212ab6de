#pragma once
// What this CPU can physically do, measured in the same run as a benchmark so
// that fractions of peak are honest on a shared machine: fp32 FMA throughput
// (AVX2 and, where the CPU has it, AVX-512; the larger counts) and STREAM-style
// triad bandwidth.
namespace skingen::engine {

class BenchTimer;

struct MachinePeak {
  double fma_gflops = 0;  // max of the two below
  double fma_gflops_avx2 = 0;
  double fma_gflops_avx512 = 0;  // 0 when the CPU lacks AVX-512F
  double triad_gbps = 0;         // a = b + s·c over arrays far larger than the caches, 12 bytes per element
  double share = 0;              // median CPU share seen while measuring
};

// Runs on `timer.threads()` OpenMP threads. `triad_mib` is the size of each of
// the three arrays.
double measure_fma_gflops_avx2(const BenchTimer& timer, double* share = nullptr);
double measure_fma_gflops_avx512(const BenchTimer& timer, double* share = nullptr);
double measure_triad_gbps(const BenchTimer& timer, int triad_mib = 64, double* share = nullptr);
MachinePeak measure_machine_peak(const BenchTimer& timer);

}  // namespace skingen::engine
