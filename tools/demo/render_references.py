#!/usr/bin/python3
"""Reference images of the demo model for skingen's regression tests (issue 7).

For each case below: the initial latent torch.randn(1, 4, h, w) of a
torch.Generator seeded with the case's seed is stored as
NAME.latent.safetensors (tensor `latent`; skingen's --rng cpu draws the same),
and the PyTorch pipeline (pipeline.py: the exported F16 weights read back into
float64 modules, the samplers of tests/reference/sampling_upstream.py, the LoRA
merged as W += m * alpha / r * up @ down) renders NAME.png (diffusers rounding).
manifest.json lists the cases as `skingen generate` arguments (without --out;
paths relative to the manifest's folder) with the bound max_diff = 1 on the
max absolute pixel difference; render_notes.json gives the float32-vs-float64
PyTorch difference of each case and its seam z.

Usage: render_references.py [--model models/demo] [--out tests/data/demo] [--only NAME,NAME]
"""
import argparse
import json
import os

import numpy as np
import torch

import torch_env
from demo_models import VAE_FACTOR

OUT_REL = "tests/data/demo"
MODEL_FROM_MANIFEST = "../../../models/demo/skingen-demo.safetensors"   # relative to the manifest's folder

DEMO_INTERVAL = (0.0, 3.3)   # the engine's default --cfg-interval for the demo model (tools/cli/job.hpp)
# name, prompt, negative, seed, sampler, schedule, steps, cfg, size, tile, lora multiplier (None: no LoRA),
# --cfg-interval: "LO,HI" passed as a flag, or None for no flag (the demo model's default, DEMO_INTERVAL)
CASES = [
    ("reptile_euler_a", "green reptile scales, seamless texture", "", 7, "euler_a", "normal", 16, 7.0, 64, "none", None,
     "0,3.3"),
    ("reptile_euler_a_tiled", "green reptile scales, seamless texture", "", 7, "euler_a", "normal", 16, 7.0, 64, "xy",
     None, "0,3.3"),
    ("rust_dpmpp2m_karras_tiled", "rusty metal, seamless texture", "", 11, "dpmpp_2m", "karras", 15, 7.0, 64, "xy",
     None, None),
    ("skin_euler", "human skin with pores, seamless texture", "", 3, "euler", "normal", 16, 7.0, 64, "none", None,
     "0,3.3"),
    ("fabric_ddim", "red woven fabric", "", 5, "ddim", "leading", 16, 7.0, 64, "none", None, "0,3.3"),
    ("bark_heun_karras_tiled", "tree bark", "", 21, "heun", "karras", 10, 7.0, 64, "xy", None, "0,3.3"),
    ("moss_negative", "moss, seamless texture", "green", 42, "dpmpp_2m", "normal", 16, 7.0, 64, "none", None,
     "0,3.3"),
    ("sand_full_cfg", "sand, seamless texture", "", 13, "dpmpp_2m", "karras", 15, 3.0, 64, "none", None, "0,inf"),
    ("fur_lora", "brown fur", "", 7, "euler_a", "normal", 16, 7.0, 64, "none", 1.0, "0,3.3"),
    ("marble_lora_tiled", "white marble, seamless texture", "", 9, "dpmpp_2m", "karras", 15, 7.0, 64, "xy", 0.8,
     "0,3.3"),
    ("granite_96_tiled", "granite, seamless texture", "", 1234, "euler_a", "karras", 12, 7.0, 96, "xy", None, "0,3.3"),
    ("cells_lora_euler", "cells, seamless texture", "", 77, "euler", "exponential", 12, 7.0, 64, "none", 1.0,
     "0.5,3.3"),
]


def interval_of(flag):
    if flag is None:
        return DEMO_INTERVAL
    lo, hi = flag.split(",")
    return float(lo), float(hi)


def lora_file(model_dir):
    import glob
    found = sorted(glob.glob(os.path.join(model_dir, "*-0000*.safetensors")))
    if not found:
        raise SystemExit("no LoRA in " + model_dir)
    return found[-1]


def render(case, dtype, model_dir, latent):
    from export import read_checkpoint, read_lora
    from pipeline import Pipeline, apply_lora_
    name, prompt, neg, seed, sampler, schedule, steps, cfg, size, tile, mult, interval = case
    unet, vae, te = read_checkpoint(os.path.join(model_dir, "skingen-demo.safetensors"))
    if mult is not None:
        apply_lora_(unet, te, read_lora(lora_file(model_dir))[0], mult)
    pipe = Pipeline(unet, te, vae, dtype=dtype)
    lat, img = pipe.sample(prompt, neg, seed, steps, cfg, sampler, schedule, (size, size), tile == "xy",
                           init_latent=latent, cfg_interval=interval_of(interval))
    return lat, img


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(torch_env.ROOT, "models", "demo"))
    p.add_argument("--out", default=os.path.join(torch_env.ROOT, OUT_REL))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", default=None, help="comma-separated case names")
    p.add_argument("--fp32-check", action="store_true", help="also render in float32 and report the difference")
    a = p.parse_args()
    torch_env.setup(a.threads, need_openblas=False)
    import seam
    from pipeline import to_uint8
    from sdref import safetensors_io as st
    from textures import save_png

    os.makedirs(a.out, exist_ok=True)
    lora_name = os.path.basename(lora_file(a.model))
    entries, notes = [], []
    for case in CASES:
        name, prompt, neg, seed, sampler, schedule, steps, cfg, size, tile, mult, interval = case
        if a.only and name not in a.only.split(","):
            continue
        h = size // VAE_FACTOR
        latent = torch.randn(1, 4, h, h, generator=torch.Generator().manual_seed(seed))
        st.write(os.path.join(a.out, name + ".latent.safetensors"), {"latent": latent})
        lat64, img64 = render(case, torch.float64, a.model, latent)
        lat32, img32 = render(case, torch.float32, a.model, latent) if a.fp32_check else (lat64, img64)
        png, png32 = to_uint8(img64), to_uint8(img32)
        save_png(os.path.join(a.out, name + ".png"), png)
        d32 = int(np.abs(png.astype(int) - png32.astype(int)).max())
        rel32 = float((lat32.double() - lat64.double()).norm() / lat64.double().norm())
        args = ["--model", MODEL_FROM_MANIFEST, "--prompt", prompt]
        if neg:
            args += ["--negative", neg]
        args += ["--seed", str(seed), "--sampler", sampler, "--schedule", schedule, "--steps", str(steps),
                 "--cfg", "%g" % cfg, "--size", "%dx%d" % (size, size), "--tile", tile, "--rng", "cpu",
                 "--init-latent", name + ".latent.safetensors"]
        if interval is not None:
            args += ["--cfg-interval", interval]
        if mult is not None:
            args += ["--lora", "../../../models/demo/%s:%g" % (lora_name, mult)]
        entries.append({"name": name, "args": args, "reference": name + ".png", "max_diff": 1})
        z = seam.stats(png)
        note = {"name": name, "seam_z": {"x": round(z["x"][0], 3), "y": round(z["y"][0], 3)}}
        if a.fp32_check:
            note.update({"float32_max_pixel_diff": d32, "float32_final_latent_rel_l2": rel32})
        notes.append(note)
        print("%-28s float32 vs float64: max pixel diff %d, final latent rel L2 %.1e; seam z x %.2f y %.2f" %
              (name, d32, rel32, z["x"][0], z["y"][0]), flush=True)
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump({"cases": entries}, f, indent=1)
    with open(os.path.join(a.out, "render_notes.json"), "w") as f:
        json.dump({"about": "PyTorch float64 references (tools/demo/render_references.py) from the exported F16 "
                            "weights; float32 PyTorch vs float64 differences for scale.", "cases": notes}, f, indent=1)
    print("wrote %d cases to %s" % (len(entries), a.out))


if __name__ == "__main__":
    main()
