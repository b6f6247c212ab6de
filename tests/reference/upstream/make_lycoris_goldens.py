#!/usr/bin/python3
"""LoRA goldens from LyCORIS's own weight code (lycoris/functional/locon.py,
loha.py, lokr.py; DoRA by LoConModule.apply_weight_decompose, cross-checked
on the input axis with functional/general.py apply_dora_scale) and the UNet
of diffusers 0.27.2, on the LoRA fixtures of the hand-port goldens
(tests/data/lora/).

For each case below:
- `delta.<component>.<name>`: W' − W at multiplier 1 (× each file's factor),
  for the weights the hand-port golden stores;
- `eps.m<m>`: UNet eps on tests/data/lora/io.safetensors with every file
  merged at m × its UNet factor, for the case's multipliers.

Base weights: the fixture checkpoint (tests/data/lora/model.safetensors)
converted to diffusers names by diffusers' convert_ldm_unet_checkpoint (UNet)
and the FrozenCLIPEmbedder prefix removed (text encoder). A kohya module key
is matched to a weight by kohya's rule, prefix + module path with every "."
replaced by "_" (sd-scripts networks/lora.py), built from the real weight
names. Scale = alpha / rank, alpha missing or 0 meaning rank (LyCORIS
LoConModule/LohaModule/LokrModule __init__); for LoKr the functional code
takes alpha and divides by the rank itself (scale 1 when no factor is
decomposed).

Multipliers: a plain module adds m · ΔW. For DoRA, W_DoRA = W · dora_scale /
‖W + ΔW‖ at full strength (LyCORIS), and skingen's documented multiplier
rule W + m · (W_DoRA − W) is applied on top, which is exactly what
functional apply_dora_scale(org, rebuild, dora_scale, scale=m) returns. At
m = 1 (every delta.*) that is LyCORIS's merge; eps.m0.7 of the DoRA cases
rests on the multiplier rule (LyCORIS's own module rule for m != 1 differs,
see README.md § LoRA).

All float64. Writes tests/data/upstream/lora/<case>.safetensors.

Run: /usr/bin/python3 tests/reference/upstream/make_lycoris_goldens.py
"""
import json
import os
from types import SimpleNamespace

import torch

import common
import sources

SOURCE = sources.load("lycoris", "diffusers")
from diffusers.loaders import single_file_utils as sfu  # noqa: E402
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel  # noqa: E402
from lycoris.functional import general, locon, loha, lokr  # noqa: E402
from lycoris.modules.locon import LoConModule  # noqa: E402

LORA = os.path.join(common.DATA, "lora")
CASES = ["kohya_lora", "kohya_locon", "locon_cp", "loha", "lokr", "dora_output_axis", "dora_input_axis",
         "alpha_missing", "alpha_zero", "stacked"]
# The fixture UNet as an LDM config would state it (tests/reference/sdref/golden_lora.py TINY).
UNET_LDM = {"in_channels": 4, "out_channels": 4, "model_channels": 32, "channel_mult": [1, 1], "num_res_blocks": 1,
            "attention_resolutions": [1, 2], "num_heads": 8, "transformer_depth": 1, "context_dim": 32,
            "use_linear_in_transformer": False}
PREFIX = {"unet": "lora_unet_", "text_encoder": "lora_te_"}


def base_model():
    ckpt = common.load_file(os.path.join(LORA, "model.safetensors"))
    ckpt = {k: v.double() if v.is_floating_point() else v for k, v in ckpt.items()}
    original = {"model": {"params": {"unet_config": {"params": UNET_LDM},
                                     "first_stage_config": {"params": {"ddconfig": {"ch_mult": [1, 2, 4, 4]}}}}}}
    config = sfu.create_unet_diffusers_config(original, image_size=64)
    te_prefix = "cond_stage_model.transformer."
    te = {k[len(te_prefix):]: v for k, v in ckpt.items() if k.startswith(te_prefix)}
    unet_sd = sfu.convert_ldm_unet_checkpoint(dict(ckpt), config)
    return config, {"unet": unet_sd, "text_encoder": te}


def module_index(weights):
    idx = {}
    for comp, sd in weights.items():
        for name in sd:
            if name.endswith(".weight"):
                idx[PREFIX[comp] + name[:-len(".weight")].replace(".", "_")] = (comp, name)
    return idx


def group_modules(path):
    tensors = common.load_file(path)
    mods = {}
    for key, t in tensors.items():
        module, suffix = key.split(".", 1)
        mods.setdefault(module, {})[suffix] = t.double()
    return mods


def alpha_of(m, rank):
    a = float(m["alpha"]) if "alpha" in m else None
    return rank if a is None or a == 0 else a


def full_delta(m, w_shape):
    """ΔW at full strength (alpha / rank included), by LyCORIS's functional code."""
    g = m.get
    if "lora_down.weight" in m:
        rank = m["lora_down.weight"].shape[0]
        d = locon.diff_weight(m["lora_down.weight"], m["lora_up.weight"], g("lora_mid.weight"),
                              gamma=alpha_of(m, rank) / rank)
    elif "hada_w1_a" in m:
        rank = m["hada_w1_b"].shape[0]
        scale = torch.tensor(alpha_of(m, rank) / rank, dtype=torch.float64)
        d = loha.diff_weight(m["hada_w1_b"], m["hada_w1_a"], m["hada_w2_b"], m["hada_w2_a"], g("hada_t1"), g("hada_t2"),
                             gamma=scale)
    elif any(k.startswith("lokr_") for k in m):
        decomposed = [m[k] for k in ("lokr_w1_a", "lokr_w2_a") if k in m]
        rank = decomposed[0].shape[1] if decomposed else None
        d = lokr.diff_weight(g("lokr_w1"), g("lokr_w1_a"), g("lokr_w1_b"), g("lokr_w2"), g("lokr_w2_a"),
                             g("lokr_w2_b"), g("lokr_t2"), gamma=alpha_of(m, rank) if rank else 1.0)
    else:
        raise SystemExit(f"module kind not handled: {sorted(m)}")
    return d.reshape(w_shape)


def dora_weight(w0, dw, dora_scale):
    """LyCORIS LoConModule.apply_weight_decompose at multiplier 1: the norm per output row when
    dora_scale is [out, 1, …] (wd_on_out), else per input column."""
    on_out = dora_scale.shape[0] == w0.shape[0] and dora_scale.shape[0] != 1
    ns = SimpleNamespace(dora_scale=dora_scale, wd_on_out=on_out, dora_norm_dims=w0.dim() - 1)
    return LoConModule.apply_weight_decompose(ns, w0 + dw, 1), on_out


class Case:
    def __init__(self, name, weights, index):
        self.name, self.weights = name, weights
        with open(os.path.join(LORA, name, "case.json")) as f:
            self.case = json.load(f)
        self.files = []  # (factors, {(comp, weight): (full ΔW, W_DoRA or None)})
        self.dora_check = 0.0
        for spec in self.case["files"]:
            contrib = {}
            for module, m in group_modules(os.path.join(LORA, name, spec["file"])).items():
                if module not in index:
                    raise SystemExit(f"{name}/{spec['file']}: {module} matches no weight")
                comp, wname = index[module]
                w0 = weights[comp][wname]
                dw = full_delta(m, w0.shape)
                wd = None
                if "dora_scale" in m:
                    wd, on_out = dora_weight(w0, dw, m["dora_scale"])
                    if not on_out:  # the functional form (no epsilon) must agree
                        alt = general.apply_dora_scale(w0, dw, m["dora_scale"], 1.0)
                        self.dora_check = max(self.dora_check, float((alt - wd).abs().max() / wd.abs().max()))
                contrib[(comp, wname)] = (dw, wd)
            self.files.append(({"unet": spec["factor_unet"], "text_encoder": spec["factor_text_encoder"]}, contrib))

    def patched(self, m):
        """{(comp, name): W'} for every patched weight, all files at m × their factors."""
        out = {}
        for factors, contrib in self.files:
            for (comp, wname), (dw, wd) in contrib.items():
                w0 = self.weights[comp][wname]
                mult = m * factors[comp]
                step = mult * (wd - w0) if wd is not None else mult * dw
                out[(comp, wname)] = out.get((comp, wname), w0) + step
        return out


def run_unet(config, unet_sd, io):
    unet = UNet2DConditionModel(**config)
    unet.load_state_dict(unet_sd, strict=True)
    unet = unet.double().eval()
    with torch.no_grad():
        return unet(io["x"].double(), io["t"].double(), encoder_hidden_states=io["context"].double()).sample


def main():
    common.setup_torch()
    config, weights = base_model()
    index = module_index(weights)
    io = common.load_file(os.path.join(LORA, "io.safetensors"))
    base = run_unet(config, weights["unet"], io)
    print(f"base eps vs hand port {common.rel_l2(io['eps'], base):.2e}")
    for name in CASES:
        c = Case(name, weights, index)
        hand = common.load_file(os.path.join(LORA, name, "golden.safetensors"))
        want = {comp + "." + n for comp, names in c.case["patched"].items() for n in names}
        got = {comp + "." + n for comp, n in c.patched(1.0)}
        assert got == want, f"{name}: patched set differs from the hand port: {sorted(got ^ want)[:5]}"
        out = {}
        w1 = c.patched(1.0)
        for key in hand:
            if key.startswith("delta."):
                comp, wname = key[len("delta."):].split(".", 1)
                out[key] = w1[(comp, wname)] - c.weights[comp][wname]
        for m in c.case["multipliers"]:
            sd = dict(weights["unet"])
            sd.update({wname: w for (comp, wname), w in c.patched(m).items() if comp == "unet"})
            out[f"eps.m{m:.1f}"] = run_unet(config, sd, io)
        meta = {"source": SOURCE["lycoris"] + "; UNet: " + SOURCE["diffusers"],
                "fixture": f"lora/{name}/ ({', '.join(f['file'] for f in c.case['files'])}) on lora/model.safetensors",
                "inputs": "lora/io.safetensors (x, t, context)",
                "multiplier_rule": c.case["multiplier_rule"],
                "dora_rule": "W + m·(W_DoRA − W), W_DoRA by LoConModule.apply_weight_decompose at multiplier 1",
                "dora_functional_vs_module_max_rel": c.dora_check,
                "precision": "float64 on the stored weights, saved as F32",
                "hand_port_rel_l2": {k: common.rel_l2(hand[k].reshape(v.shape), v) for k, v in out.items()}}
        common.write_golden(os.path.join(common.OUT, "lora", name + ".safetensors"), out, meta)
        worst = max(meta["hand_port_rel_l2"].values())
        print(f"  worst distance to the hand port {worst:.2e}; DoRA functional vs module {c.dora_check:.1e}")


if __name__ == "__main__":
    main()
