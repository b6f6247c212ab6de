"""LoRA reference: the ΔW of every adapter format skingen reads, written
from the upstream formulas (float64), plus the key spellings of each file
layout.

Formulas (also in docs/FORMATS.md, "LoRA formulas", "LoRA scale", "DoRA"):
- kohya LoRA / LoCon (kohya-ss/sd-scripts networks/lora.py LoRAModule.merge_to):
  ΔW = up.flatten(1) @ down.flatten(1), reshaped to the weight.
- CP / Tucker (LyCORIS lycoris/modules/locon.py use_tucker; ComfyUI
  comfy/weight_adapter/base.py tucker_weight_from_conv):
  einsum("m n k l, i m, n j -> i j k l", mid, up, down).
- LoHa (LyCORIS lycoris/functional/loha.py; ComfyUI loha.py):
  (w1a @ w1b) * (w2a @ w2b), Tucker factors
  einsum("i j k l, j r, i p -> p r k l", t, w_b, w_a); rank = w1b.shape[0].
- LoKr (LyCORIS functional/lokr.py; ComfyUI lokr.py calculate_weight):
  kron(w1, w2) (w1 unsqueezed to 4-D when w2 is 4-D); the alpha / rank scale
  applies only when a factor is decomposed (rank = w2_b.shape[0], else w1_b's).
- full diff: ΔW = diff, Δb = diff_b.
- scale = multiplier × alpha / rank; alpha missing or 0 → rank (kohya); a
  `.scale` tensor replaces alpha / rank (A1111 network.py calc_scale).
- DoRA (LyCORIS apply_weight_decompose, ComfyUI weight_decompose), with the
  multiplier convention skingen documents: W + m·(W_DoRA − W), where
  W_DoRA = dora_scale · V / (‖V‖ + eps), V = W + base_scale · ΔW, the norm per
  output row when dora_scale.shape[0] == out, else per input column, and
  eps = torch.finfo(torch.float32).eps. W is the weight before any LoRA, so
  stacking is order-independent.
- PEFT (huggingface/peft LoraLayer): scale = lora_alpha / r, lora_alpha from
  diffusers' `lora_adapter_metadata` ({"unet.lora_alpha": …,
  "unet.alpha_pattern": {module: alpha}}), PEFT's pattern rule: a key applies
  to a module whose name equals it or ends with "." + key.
"""
import math

import torch

EPS32 = float(torch.finfo(torch.float32).eps)


def underscore(name):
    return name.replace(".", "_")


# ---------------------------------------------------------------- ΔW formulas

def delta_lora(t, weight_shape):
    up, down = t["lora_up"], t["lora_down"]
    out, r = up.shape[0], up.shape[1]
    if "lora_mid" in t:
        mid = t["lora_mid"]
        d = torch.einsum("m n k l, i m, n j -> i j k l", mid, up.reshape(out, r), down.reshape(down.shape[0], -1))
    else:
        d = up.reshape(out, r) @ down.reshape(down.shape[0], -1)
    return d.reshape(weight_shape)


def _tucker(t, wa, wb):
    return torch.einsum("i j k l, j r, i p -> p r k l", t, wb, wa)


def delta_loha(t, weight_shape):
    if "hada_t1" in t:
        m1 = _tucker(t["hada_t1"], t["hada_w1_a"], t["hada_w1_b"])
        m2 = _tucker(t["hada_t2"], t["hada_w2_a"], t["hada_w2_b"])
    else:
        m1 = t["hada_w1_a"] @ t["hada_w1_b"]
        m2 = t["hada_w2_a"] @ t["hada_w2_b"]
    return (m1 * m2).reshape(weight_shape)


def delta_lokr(t, weight_shape):
    w1 = t["lokr_w1"] if "lokr_w1" in t else t["lokr_w1_a"] @ t["lokr_w1_b"]
    if "lokr_w2" in t:
        w2 = t["lokr_w2"]
    elif "lokr_t2" in t:
        w2 = _tucker(t["lokr_t2"], t["lokr_w2_a"], t["lokr_w2_b"])
    else:
        w2 = t["lokr_w2_a"] @ t["lokr_w2_b"]
    # torch.kron(w1[:, :, None, None], w2) for a 4-D w2, written out as an einsum (torch 1.13's kron
    # fails on the strided 4-D case): kron[i·c + p, j·d + q, ...] = w1[i, j] · w2[p, q, ...]
    a, b = w1.shape
    c, d = w2.shape[0], w2.shape[1]
    k = torch.einsum("ij,pq...->ipjq...", w1, w2).contiguous()
    return k.reshape(a * c, b * d, *w2.shape[2:]).reshape(weight_shape)


def rank_of(kind, t):
    if kind == "lora":
        return t["lora_down"].shape[0]
    if kind == "loha":
        return t["hada_w1_b"].shape[0]
    if kind == "lokr":
        if "lokr_w2_b" in t:
            return t["lokr_w2_b"].shape[0]
        if "lokr_w1_b" in t:
            return t["lokr_w1_b"].shape[0]
        return None
    return None


def base_scale(kind, t, alpha=None, rslora=False):
    """alpha / rank with kohya's rules; `alpha` overrides the tensor (metadata alphas)."""
    if "scale" in t:
        return float(t["scale"].reshape(-1)[0])
    r = rank_of(kind, t)
    if r is None:
        return 1.0
    if alpha is None and "alpha" in t:
        alpha = float(t["alpha"].reshape(-1)[0])
    if alpha is None or alpha == 0:
        return 1.0
    return alpha / (math.sqrt(r) if rslora else r)


def kind_of(t):
    if "lora_down" in t:
        return "lora"
    if "hada_w1_a" in t:
        return "loha"
    if any(k.startswith("lokr_") for k in t):
        return "lokr"
    return "full"


def delta(kind, t, weight_shape):
    if kind == "lora":
        return delta_lora(t, weight_shape)
    if kind == "loha":
        return delta_loha(t, weight_shape)
    if kind == "lokr":
        return delta_lokr(t, weight_shape)
    return t["diff"].reshape(weight_shape)


def dora_weight(w0, dw, dora_scale):
    """W_DoRA = dora_scale · V / (‖V‖ + eps), V = w0 + dw."""
    v = w0 + dw
    out = v.shape[0]
    if dora_scale.shape[0] == out:
        norm = v.reshape(out, -1).norm(dim=1).reshape(out, *[1] * (v.dim() - 1))
    else:
        norm = v.transpose(0, 1).reshape(v.shape[1], -1).norm(dim=1).reshape(v.shape[1], *[1] * (v.dim() - 1))
        norm = norm.transpose(0, 1)
    return dora_scale.reshape(norm.shape) * v / (norm + EPS32)


def apply_module(w, w0, kind, t, multiplier, alpha=None, rslora=False):
    """Returns w + the module's contribution at `multiplier` (w0: the weight before any LoRA)."""
    s = base_scale(kind, t, alpha, rslora)
    if kind == "full" and "diff" not in t:
        return w
    d = delta(kind, t, w.shape)
    if "dora_scale" in t:
        return w + multiplier * (dora_weight(w0, s * d, t["dora_scale"]) - w0)
    return w + multiplier * s * d


def apply_bias(b, kind, t, multiplier, alpha=None):
    if "diff_b" in t:
        return b + multiplier * t["diff_b"]
    if "lora_B.bias" in t:
        return b + multiplier * base_scale(kind, t, alpha) * t["lora_B.bias"]
    return b


def peft_pattern_matches(pattern, module):
    return module == pattern or module.endswith("." + pattern)
