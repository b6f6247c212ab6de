"""Helpers shared by the golden writers."""
import json
import os

import torch


def rel_l2(a, b):
    a = a.double()
    b = b.double()
    return float((a - b).norm() / b.norm())


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(path + ".tmp", path)


def dir_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def shapes(d):
    return {k: list(v.shape) for k, v in d.items()}


GOLDEN_PRECISION = ("reference run in float64 (torch.float64) on the stored weight values "
                    "(F16/BF16 weights widened exactly) and the stored F32 inputs; results rounded "
                    "to F32 once at the end, so the golden's own error is ~1e-7 relative")


# The bound each golden case holds skingen to, with the error it was set from:
# about 10x the largest relative L2 error skingen measured on the case (every
# output and dump the test compares), the larger of a run on the AVX-512
# kernels and one capped to AVX2 (SKINGEN_MAX_ISA=avx2 ONEDNN_MAX_CPU_ISA=AVX2);
# the golden tests print these errors (ctest -V). fp32 PyTorch lands at the
# same level (each case's fp32_pytorch_rel_l2), so a bound of 1e-4 would let a
# real change of 1e-5 pass. case name -> (bound, measured).
ENGINE_BOUNDS = {
    # UNet (tests/data/unet): the worst is dump.time_emb, the fp32 time features
    "depth2_diffusers_f32_b2": (2.4e-5, 2.39e-6),
    "sd1_tiny_ldm_f16": (4.2e-5, 4.21e-6),
    "sd2_tiny_folder_bf16": (3.7e-5, 3.66e-6),
    "sd2_openclip_ctx128_ldm_f16": (4.6e-5, 4.55e-6),
    "small_activations_ldm_f16": (2.4e-5, 2.36e-6),
    # VAE (tests/data/vae)
    "vae_ckpt_f16": (2.4e-5, 2.40e-6),
    "vae_diffusers_folder_f16": (2.4e-5, 2.42e-6),
    "vae_diffusers_legacy_f16": (2.5e-5, 2.45e-6),
    "vae_standalone_f16_b2": (2.7e-5, 2.71e-6),
    "vae_small_activations_f16": (7.6e-5, 7.64e-6),
    # text encoders (tests/data/clip)
    "clip_l_tiny_diffusers_f16": (4.5e-6, 4.46e-7),
    "clip_l_tiny_ldm_f32": (3.8e-6, 3.80e-7),
    "openclip_h_tiny_ldm_f16": (3.4e-6, 3.40e-7),
    "clip_l_small_activations_f16": (7.8e-7, 7.83e-8),
    # LoRA formats (tests/data/lora): each ΔW and the patched UNet's eps
    "alpha_missing": (2.1e-5, 2.13e-6),
    "alpha_zero": (2.0e-5, 2.01e-6),
    "diffusers_alphas": (2.0e-5, 1.97e-6),
    "dora_input_axis": (1.9e-5, 1.88e-6),
    "dora_output_axis": (1.8e-5, 1.77e-6),
    "full_diff": (1.9e-5, 1.88e-6),
    "kohya_ldm_names": (1.8e-5, 1.81e-6),
    "kohya_locon": (2.4e-5, 2.38e-6),
    "kohya_lora": (2.1e-5, 2.14e-6),
    "locon_cp": (1.8e-5, 1.78e-6),
    "loha": (1.9e-5, 1.88e-6),
    "lokr": (4.2e-5, 4.18e-6),
    "peft_metadata": (1.9e-5, 1.88e-6),
    "scale_tensor": (1.9e-5, 1.93e-6),
    "stacked": (2.0e-5, 1.97e-6),
}
BOUND_NOTE = ("about 10x measured_engine_rel_l2, the largest relative L2 error skingen measured on this case "
              "(every compared output and dump; the larger of its AVX-512 and AVX2 kernels)")


def engine_check(case_name, check):
    """`check` with the case's bound from ENGINE_BOUNDS and the error it was set from."""
    bound, measured = ENGINE_BOUNDS.get(case_name, (1e-4, None))
    return dict(check, tolerance=bound, measured_engine_rel_l2=measured, tolerance_note=BOUND_NOTE)
