"""The LoRA golden cases (tests/data/lora/<case>/): which modules each file
adapts, in which format and key layout (golden_lora.py writes them)."""
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional


def pick(names, *patterns):
    r = []
    for p in patterns:
        rx = re.compile(p)
        r += [n for n in sorted(names) if rx.search(n) and n not in r]
    return r


# ------------------------------------------------------------------ module specs


@dataclass
class Mod:
    """One adapted module: the target weight (UNet: diffusers name; text encoder:
    HF name), the adapter kind and its options."""
    component: str           # "unet" | "text_encoder"
    target: str              # module name without ".weight"
    kind: str                # lora | locon_cp | loha | loha_cp | lokr_* | diff
    rank: int = 4
    alpha: Optional[float] = 2.0     # None: no .alpha tensor
    scale: Optional[float] = None    # a .scale tensor
    dora: Optional[str] = None       # "out" | "in"
    bias: bool = False               # diff_b / lora_B.bias
    gain: float = 0.15               # size of ΔW relative to W (before alpha/rank)


@dataclass
class LoraFileSpec:
    name: str                      # file name without .safetensors
    layout: str                    # kohya | kohya_ldm | peft | diffusers
    dtype: str                     # F16 | BF16 | F32
    mods: List[Mod]
    unet: float = 1.0              # multiplier factors (× the case's 0.7 / 1.0)
    te: float = 1.0
    metadata: Dict[str, str] = field(default_factory=dict)
    peft_meta: Optional[dict] = None   # lora_adapter_metadata (PEFT alphas instead of .alpha tensors)


@dataclass
class LoraCase:
    name: str
    description: str
    files: List[LoraFileSpec]
    seed: int


# ------------------------------------------------------------------ the cases

def _attn_all(names):
    return pick(names, r"attn[12]\.to_(q|k|v|out\.0)$", r"ff\.net\.(0\.proj|2)$", r"proj_(in|out)$")


def cases(unet_names, te_layers):
    U = unet_names
    te_lin = [f"text_model.encoder.layers.{i}.{m}" for i in range(te_layers)
              for m in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj",
                        "mlp.fc1", "mlp.fc2")]
    convs3 = pick(U, r"resnets\.\d\.conv[12]$", r"(down|up)samplers\.0\.conv$")
    C = []
    C.append(LoraCase("kohya_lora", (
        "kohya LoRA (sd-scripts networks/lora.py), SD 1.x naming lora_unet_<diffusers path>: every attention "
        "linear, feed-forward and proj_in/proj_out (1×1 conv: down [r, in, 1, 1], up [out, r, 1, 1]) of the "
        "UNet, and every text-encoder linear (lora_te_). F16, rank 4, alpha 2 (scale 0.5). Text-encoder "
        "multiplier 0.5 × the UNet's."),
        [LoraFileSpec("kohya_lora", "kohya", "F16", [Mod("unet", n, "lora") for n in _attn_all(U)] +
                      [Mod("text_encoder", n, "lora") for n in te_lin], te=0.5,
                      metadata={"ss_network_module": "networks.lora", "ss_network_dim": "4",
                                "ss_network_alpha": "2.0", "ss_base_model_version": "sd_v1"})], 11))
    C.append(LoraCase("kohya_locon", (
        "kohya LoCon: 3×3 resnet convs, downsampler and upsampler convs (down [r, in, 3, 3], up [out, r, 1, 1]), "
        "conv_shortcut (1×1), time_emb_proj (linear) at conv rank 8 / alpha 4, plus attention at rank 4 / "
        "alpha 1. BF16."),
        [LoraFileSpec("kohya_locon", "kohya", "BF16",
                      [Mod("unet", n, "lora", rank=8, alpha=4) for n in
                       convs3 + pick(U, r"conv_shortcut$", r"time_emb_proj$")] +
                      [Mod("unet", n, "lora", rank=4, alpha=1) for n in pick(U, r"attn1\.to_(q|v)$")])], 12))
    C.append(LoraCase("locon_cp", (
        "LyCORIS LoCon with CP/Tucker decomposition (lora_mid [r, r, 3, 3], 1×1 lora_down / lora_up) on every "
        "3×3 resnet and sampler conv. F32, rank 4, alpha 2."),
        [LoraFileSpec("locon_cp", "kohya", "F32", [Mod("unet", n, "locon_cp") for n in convs3])], 13))
    C.append(LoraCase("loha", (
        "LyCORIS LoHa: plain factors (hada_w1_a [out, r], hada_w1_b [r, in·k·k]) on linears, a text-encoder "
        "fc1 and some 3×3 convs, Tucker factors (hada_t1/t2 [r, r, 3, 3], hada_w*_a [r, out], hada_w*_b "
        "[r, in]) on the others. F16, rank 4, alpha 2."),
        [LoraFileSpec("loha", "kohya", "F16",
                      [Mod("unet", n, "loha") for n in pick(U, r"attn1\.to_q$", r"ff\.net\.2$", r"time_emb_proj$",
                                                            r"resnets\.0\.conv1$")] +
                      [Mod("unet", n, "loha_cp") for n in pick(U, r"resnets\.\d\.conv2$", r"samplers\.0\.conv$")] +
                      [Mod("text_encoder", n, "loha") for n in te_lin if n.endswith("fc1")])], 14))
    C.append(LoraCase("lokr", (
        "LyCORIS LoKr: full lokr_w1 with decomposed w2 (attn2.to_k, proj_out), decomposed w1 with a full 4-D "
        "w2 (resnet conv1), both factors full (ff.net.0.proj: alpha ignored, scale 1), and a Tucker w2 "
        "(lokr_t2) on resnet conv2. F32, rank 2, alpha 1."),
        [LoraFileSpec("lokr", "kohya", "F32",
                      [Mod("unet", n, "lokr_full_w1", rank=2, alpha=1) for n in pick(U, r"attn2\.to_k$",
                                                                                     r"proj_out$")] +
                      [Mod("unet", n, "lokr_full_w2", rank=2, alpha=1) for n in pick(U, r"resnets\.\d\.conv1$")] +
                      [Mod("unet", n, "lokr_full", rank=2, alpha=1) for n in pick(U, r"ff\.net\.0\.proj$")] +
                      [Mod("unet", n, "lokr_cp", rank=2, alpha=1) for n in pick(U, r"resnets\.\d\.conv2$")])], 15))
    for axis in ("out", "in"):
        C.append(LoraCase(f"dora_{axis}put_axis", (
            f"kohya LoRA with DoRA (dora_scale) on the {axis}put axis (LyCORIS wd_on_out={axis == 'out'}): "
            "linears, 3×3 convs and a 1×1 proj_in. F16, rank 4, alpha 4. Multiplier convention "
            "W + m·(W_DoRA − W)."),
            [LoraFileSpec(f"dora_{axis}", "kohya", "F16",
                          [Mod("unet", n, "lora", alpha=4, dora=axis) for n in
                           pick(U, r"attn[12]\.to_(q|out\.0)$", r"resnets\.0\.conv[12]$", r"proj_in$")])],
            16 if axis == "out" else 17))
    C.append(LoraCase("full_diff", (
        "LyCORIS full: diff + diff_b on attention to_out.0 and resnet conv1 weights and biases, w_norm/b_norm "
        "style diffs (stored as .diff/.diff_b) on GroupNorm and LayerNorm affine parameters. F32."),
        [LoraFileSpec("full_diff", "kohya", "F32",
                      [Mod("unet", n, "diff", alpha=None, bias=True, gain=0.1) for n in
                       pick(U, r"^down_blocks\.0\..*(attn1\.to_out\.0|resnets\.0\.conv1|resnets\.0\.norm1)$",
                            r"^mid_block\..*transformer_blocks\.0\.norm2$")])], 18))
    peft_meta = {"unet.r": 4, "unet.lora_alpha": 8, "unet.alpha_pattern": {"attn2.to_k": 2},
                 "unet.rank_pattern": {}, "unet.use_dora": False,
                 "text_encoder.r": 4, "text_encoder.lora_alpha": 2}
    C.append(LoraCase("peft_metadata", (
        "diffusers/PEFT: unet.<module>.lora_A/lora_B.weight and text_encoder.<module>.lora_A/B, no .alpha "
        "tensors; alphas from __metadata__['lora_adapter_metadata'] (unet lora_alpha 8 with alpha_pattern "
        "{'attn2.to_k': 2}, text encoder lora_alpha 2; rank 4). One module carries lora_B.bias, one a PEFT "
        "DoRA lora_magnitude_vector. F32."),
        [LoraFileSpec("peft_metadata", "peft", "F32",
                      [Mod("unet", n, "lora", alpha=None) for n in pick(U, r"attn[12]\.to_(q|k|v)$")] +
                      [Mod("unet", n, "lora", alpha=None, bias=True) for n in pick(U, r"attn1\.to_out\.0$")] +
                      [Mod("unet", n, "lora", alpha=None, dora="out") for n in pick(U, r"ff\.net\.2$")] +
                      [Mod("text_encoder", n, "lora", alpha=None) for n in te_lin if "self_attn" in n],
                      peft_meta=peft_meta)], 19))
    C.append(LoraCase("diffusers_alphas", (
        "diffusers: unet.<module>.lora.down/up.weight with network_alphas-style unet.<module>.alpha tensors, "
        "text_encoder.<module>.lora_linear_layer.down/up.weight with alphas, and old attention-processor "
        "keys (unet.<block>.attn1.processor.to_q_lora.down.weight, to_out_lora) without alpha. F16, rank 4."),
        [LoraFileSpec("diffusers_alphas", "diffusers", "F16",
                      [Mod("unet", n, "lora", alpha=1) for n in pick(U, r"attn2\.to_(q|v)$", r"proj_in$")] +
                      [Mod("text_encoder", n, "lora", alpha=8) for n in te_lin if "mlp" in n]),
         LoraFileSpec("diffusers_procs", "diffusers_procs", "F16",
                      [Mod("unet", n, "lora", alpha=None) for n in pick(U, r"attn1\.to_(q|out\.0)$")])], 20))
    C.append(LoraCase("alpha_missing", (
        "kohya LoRA without .alpha tensors: alpha = rank, scale 1. F16, rank 4."),
        [LoraFileSpec("alpha_missing", "kohya", "F16",
                      [Mod("unet", n, "lora", alpha=None, gain=0.2) for n in pick(U, r"attn[12]\.to_(q|v)$")])],
        21))
    C.append(LoraCase("alpha_zero", (
        "kohya LoRA with .alpha = 0: kohya (sd-scripts, LyCORIS) read it as alpha = rank, scale 1 (ComfyUI and "
        "A1111 would give the module no effect). F16, rank 4."),
        [LoraFileSpec("alpha_zero", "kohya", "F16",
                      [Mod("unet", n, "lora", alpha=0.0, gain=0.2) for n in pick(U, r"attn[12]\.to_(k|out\.0)$")])],
        22))
    C.append(LoraCase("scale_tensor", (
        "kohya LoRA with .scale tensors (0.3) that override alpha / rank (2 / 4): scale 0.3. F32."),
        [LoraFileSpec("scale_tensor", "kohya", "F32",
                      [Mod("unet", n, "lora", alpha=2, scale=0.3) for n in pick(U, r"ff\.net\.(0\.proj|2)$")])],
        23))
    shared = pick(U, r"down_blocks\.0\.attentions\.0\.transformer_blocks\.0\.attn1\.to_q$")
    C.append(LoraCase("stacked", (
        "Three LoRAs at once, overlapping on one module (down_blocks.0 attn1.to_q): a kohya LoRA (factor 1), a "
        "LoHa (factor 0.5) and a DoRA LoRA (factor -0.6, output axis). Contributions are computed from the "
        "weight before any LoRA, so the order of the files does not matter."),
        [LoraFileSpec("stack_a", "kohya", "F16", [Mod("unet", n, "lora") for n in pick(U, r"attn1\.to_(q|k)$")]),
         LoraFileSpec("stack_b", "kohya", "F16",
                      [Mod("unet", n, "loha") for n in shared + pick(U, r"resnets\.0\.conv1$")], unet=0.5),
         LoraFileSpec("stack_c", "kohya", "F32",
                      [Mod("unet", n, "lora", alpha=4, dora="out") for n in shared + pick(U, r"ff\.net\.2$")],
                      unet=-0.6)], 24))
    C.append(LoraCase("kohya_ldm_names", (
        "kohya LoRA spelled with LDM module names, as SDXL-era kohya files are (lora_unet_input_blocks_1_1_…, "
        "…_in_layers_2, …_emb_layers_1, …_skip_connection, …_0_op, middle_block_…, output_blocks_…_conv), "
        "on the SD 1.x tiny model. F16, rank 4, alpha 2."),
        [LoraFileSpec("kohya_ldm_names", "kohya_ldm", "F16",
                      [Mod("unet", n, "lora") for n in
                       pick(U, r"attn1\.to_q$", r"proj_in$", r"resnets\.\d\.(conv1|time_emb_proj|conv_shortcut)$",
                            r"(down|up)samplers\.0\.conv$")])], 25))
    return C
