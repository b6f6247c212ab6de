#pragma once
// Builds a module's ΔW and adds it into a weight, in fp32, the matrix
// products on oneDNN (LoraGemm). Formulas and their upstream sources:
// docs/FORMATS.md, "LoRA formulas" and "DoRA".
#include <optional>

#include "engine/core/tensor.hpp"
#include "engine/lora_gemm.hpp"
#include "engine/lora_module.hpp"

namespace skingen::engine {

// w (fp32, laid out like the module's weight, numel = ΔW numel) += s · ΔW.
// For a weight that is [out, in, kh, kw] the ΔW of every kind comes out in
// that order, so `w` is simply [out, in·kh·kw].
void add_lora_delta(LoraGemm& gemm, const LoraModule& m, float s, Tensor& w);

// Bias deltas (diff_b, PEFT lora_B.bias): bias += s · Δb.
void add_lora_bias_delta(const LoraModule& m, float s, Tensor& bias);

// DoRA's normalisation axis for a weight of shape `weight` (LyCORIS
// wd_on_out; ComfyUI decides by dora_scale.shape[0] == out): per output row,
// per input column, or nullopt when dora_scale fits neither.
enum class DoraAxis { Output, Input };
std::optional<DoraAxis> dora_axis(const LoraModule& m, const Shape& weight);

// The convention skingen uses at multipliers other than 1, for the report.
constexpr const char* kDoraConvention = "W + m·(W_DoRA − W)";

// DoRA (LyCORIS apply_weight_decompose, ComfyUI weight_decompose):
//   V      = w0 + base_scale · ΔW                      (the full-strength LoRA)
//   W_DoRA = dora_scale · V / (‖V‖ + ε)                (norm along `axis`, ε = FLT_EPSILON)
//   w     += multiplier · (W_DoRA − w0)                (kDoraConvention; exact DoRA at 1)
// w0 is the weight before any LoRA, so that stacking stays order-independent.
void add_dora_delta(LoraGemm& gemm, const LoraModule& m, float multiplier, const Tensor& w0, Tensor& w);

}  // namespace skingen::engine
