#pragma once
// The op benchmark behind `skingen bench ops`: every distinct convolution,
// linear layer and attention shape of one Stable Diffusion 1.5 UNet forward
// (plus the bandwidth-bound ops), each timed with BenchTimer and set against
// the machine's peak measured in the same run.
#include <functional>
#include <string>
#include <vector>

#include "engine/bench_timer.hpp"
#include "engine/machine_peak.hpp"
#include "ops/context.hpp"

namespace skingen::engine {

enum class OpKind { Conv, Linear, Attention, GroupNorm, LayerNorm, Silu, Gelu, Geglu, Upsample, Concat, Add };

struct OpCase {
  OpKind kind = OpKind::Conv;
  std::string name;  // where it occurs ("resnet conv", "to_q/k/v/out", ...)
  int count = 1;     // occurrences in one UNet forward
  // Conv: input [n, h, w, cin], weight [cout, cin, k, k], stride, padding k/2.
  // Linear: rows × cin → cout (n, h, w unused).
  // Attention: n, tq (= h), tk (= w), heads (= cout), head dim (= cin).
  // Bandwidth ops: tensor [n, h, w, cin] (Concat: second operand with cout channels).
  int n = 0, h = 0, w = 0, cin = 0, cout = 0, k = 0, stride = 1;
  long rows = 0;
  bool silu = false;  // GroupNorm with fused SiLU
};

// SD 1.5 UNet (CompVis v1-inference.yaml: 320 channels × (1, 2, 4, 4), 2 res
// blocks, attention on the first three levels, 8 heads, context 77 × 768) at
// image_size px (latent image_size/8) and the given batch (2 = one CFG step).
std::vector<OpCase> sd15_unet_op_cases(int image_size = 512, int batch = 2);

struct OpBenchRow {
  std::string op;     // "conv3x3", "linear", "attention", "group_norm", ...
  std::string name;   // OpCase::name
  std::string shape;  // human-readable shape
  std::string impl;   // oneDNN implementation or our kernel
  int count = 1;
  double ms = 0;
  double gflops = 0, peak_fraction = 0;  // compute-bound rows
  double gbps = 0, triad_fraction = 0;   // bandwidth-bound rows
  // The FMA peak (GFLOP/s) or triad (GB/s) measured side by side with this
  // row (PeakProbe::run_beside), and the row's rate against it; 0 without a
  // probe.
  double side_peak = 0, side_fraction = 0;
  bool bandwidth = false;
  double share = 0;  // median CPU share of the timed calls
  int kept = 0, calls = 0;
  int passes = 1;  // passes over the case list this row is the best of (keep_faster)
};

// Runs every case; `progress` (may be empty) is called after each row.
// `probe` (may be null) measures each row's side-by-side peak.
std::vector<OpBenchRow> run_op_bench(ops::Context& ctx, const std::vector<OpCase>& cases, const MachinePeak& peak,
                                     const BenchTimer& timer, const BenchLimits& limits,
                                     const std::function<void(const OpBenchRow&)>& progress = {},
                                     PeakProbe* probe = nullptr);

// Merges one more pass over the same cases into `best`: per row, the pass
// with the shorter median time is kept (whole, with the peak fractions
// measured in that pass), and `passes` counts the passes seen. Rows must
// be in the same order.
void keep_faster(std::vector<OpBenchRow>& best, const std::vector<OpBenchRow>& pass);

}  // namespace skingen::engine
