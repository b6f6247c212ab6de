#pragma once
// One adapted module of a LoRA file (kohya LoRA/LoCon/CP, LyCORIS LoHa/LoKr/
// full diff, DoRA, diffusers/PEFT): its tensors by role, converted to fp32,
// and what they say about the ΔW they produce. Formulas and scale rules:
// docs/FORMATS.md, "LoRA formulas" and "LoRA scale"; sources:
// kohya-ss/sd-scripts networks/lora.py, KohakuBlueleaf/LyCORIS lycoris/modules/*.py and functional/*.py,
// comfyanonymous/ComfyUI comfy/weight_adapter/*.py, huggingface/peft.
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/tensor.hpp"

namespace skingen::engine {

// What a tensor of a module is. The names are the kohya/LyCORIS suffixes;
// diffusers/PEFT spellings map onto them (lora_A = Down, lora_B = Up,
// lora_magnitude_vector = DoraScale).
enum class LoraRole {
  Down, Up, Mid, Alpha, Scale, DoraScale,
  HadaW1A, HadaW1B, HadaW2A, HadaW2B, HadaT1, HadaT2,
  LokrW1, LokrW1A, LokrW1B, LokrW2, LokrW2A, LokrW2B, LokrT2,
  Diff, DiffB, UpBias,
  Count
};
constexpr std::size_t kLoraRoleCount = static_cast<std::size_t>(LoraRole::Count);
std::string_view lora_role_name(LoraRole r);  // "lora_down", "hada_w1_a", …

// How the ΔW is built.
enum class LoraKind {
  LoRA,  // up @ down (linear, 1×1 or k×k conv), or CP/Tucker with lora_mid
  LoHa,  // (w1a @ w1b) ⊙ (w2a @ w2b), optional Tucker cores
  LoKr,  // kron(w1, w2), factors full or decomposed, optional Tucker core
  Full,  // diff / diff_b given directly
};
std::string_view lora_kind_name(LoraKind k);  // "LoRA", "LoHa", "LoKr", "full diff"

// How the file spells its keys (for the report).
enum class LoraNaming { Kohya, Diffusers, Peft };

struct LoraModule {
  std::string key;     // module key as in the file: "lora_unet_…_to_q", "unet.down_blocks.0.….to_q"
  LoraNaming naming = LoraNaming::Kohya;
  LoraKind kind = LoraKind::LoRA;
  std::array<Tensor, kLoraRoleCount> t;             // fp32, undefined where absent
  std::array<std::string, kLoraRoleCount> names;    // full tensor names, for messages

  // Derived by analyse_lora_module():
  int rank = 0;                     // 0 when the kind has none (full diff, LoKr with full factors)
  std::optional<double> alpha;      // the .alpha tensor, or metadata alpha for diffusers files
  std::string alpha_source;         // "tensor", "lora_adapter_metadata", "" (none)
  std::optional<double> scale_tensor;  // the .scale tensor (overrides alpha / rank)
  bool rslora = false;              // PEFT use_rslora: alpha / sqrt(rank)
  Shape delta_shape;                // ΔW as built: [out, in], [out, in, kh, kw] or flat [out, rest]
  bool delta_flat = false;          // delta_shape is [out, numel / out] of a possibly 4-D weight
  // Set by analysis; they stay valid after release().
  bool weight_delta = false;        // false for a diff_b-only module
  bool bias_delta = false;          // diff_b or PEFT lora_B.bias
  bool dora_flag = false;           // dora_scale / lora_magnitude_vector present
  bool tucker = false;              // CP/Tucker core (lora_mid, hada_t1/t2, lokr_t2)
  bool has_weight_delta() const { return weight_delta; }
  bool has_bias_delta() const { return bias_delta; }
  bool dora() const { return dora_flag; }

  bool has(LoraRole r) const { return t[static_cast<std::size_t>(r)].defined() && t[static_cast<std::size_t>(r)].numel() > 0; }
  const Tensor& get(LoraRole r) const { return t[static_cast<std::size_t>(r)]; }

  // scale = .scale if present; else alpha / rank (alpha missing or 0 → rank, kohya
  // semantics); LoKr with full factors and full diffs: 1. The multiplier is not included.
  double base_scale() const;
  // Multiply-adds of building ΔW once (2·M·N·K per matmul), for the GFLOP/s report.
  double flops() const;
  // Bytes of fp32 data held.
  std::size_t bytes() const;
  // Releases the tensors (after merging).
  void release();
};

// Checks the tensors of a module against each other and fills kind, rank,
// delta_shape. Throws FormatError naming `file` and the tensor.
void analyse_lora_module(LoraModule& m, const std::string& file);

// Does a ΔW of shape `delta` (as analysed) fit a weight of shape `weight`?
// 1×1 convs and linears are interchangeable ([o, i] ~ [o, i, 1, 1]).
bool lora_delta_fits(const LoraModule& m, const Shape& weight);

}  // namespace skingen::engine
