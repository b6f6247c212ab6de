#!/usr/bin/python3
"""End-to-end txt2img goldens for `skingen generate` (tests/e2e/test_generate_goldens.cpp).

    /usr/bin/python3 tests/reference/make_pipeline_goldens.py [--out tests/data/pipeline] [--case NAME]...

Writes under tests/data/pipeline/:
  model.safetensors       tiny SD 1.x checkpoint, LDM single-file layout, F16
                          (sdref/pipeline.py: UNet 2 levels of 32 channels, 2x VAE decoder ch 32)
  lora.safetensors        kohya LoRA/LoCon for it (rank 4, alpha 2, lora_unet_<diffusers names>)
  embeddings.safetensors  `cond`, `uncond` [1, 77, 64] F16 (--embeddings)
  latent_WxH.safetensors  `latent` [1, 4, H/2, W/2] F32, unit-variance noise (--init-latent)
  cases/NAME.safetensors  `latent`: the expected final latent (--save-latent)
  cases/NAME.png          the expected image
  manifest.json           the same cases for `skingen regress` (args without --out,
                          paths relative to the folder; reference PNG, max_diff)
  cases.json              per case the exact skingen arguments, tolerances, and how far
                          the same pipeline in float32 PyTorch lands (what an fp32 engine
                          can expect)
Cases: every sampler x (normal, karras) x (no LoRA, LoRA 0.7) x (tiling none, xy),
plus CFG 1 (no unconditional pass); every sampler x (exponential, leading, linspace,
trailing) without LoRA or tiling, plus one LoRA + tiling case per one of those schedules.
The reference runs in float64 (UNet, VAE) with float32 sampler arithmetic as upstream
(sampling_upstream.py); see sdref/pipeline.py, and sdref/pipeline_features.py for the
diffusers-style timestep spacings (leading, linspace, trailing).
Deterministic: regenerating into an empty folder reproduces the files byte for byte.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from sdref import pipeline as P  # noqa: E402
from sdref import pipeline_features as PF  # noqa: E402
from sdref import safetensors_io as st  # noqa: E402
from sdref.golden_common import rel_l2, write_json  # noqa: E402

SEED = 6001
SAMPLERS = [("euler", 6), ("euler_a", 5), ("heun", 4), ("dpmpp_2m", 6), ("ddim", 5), ("lcm", 4)]
SCHEDULES = ["normal", "karras"]
# The other schedules: every sampler without LoRA or tiling, and LoRA + tiling with one sampler each.
MORE_SCHEDULES = {"exponential": "heun", "leading": "euler_a", "linspace": "dpmpp_2m", "trailing": "ddim"}
LORA_MULTIPLIER = 0.7
CFG = 7.0
# latent_rel_l2: about 10x the worst final-latent error skingen measured over
# all cases, 4.06e-6 with its kernels capped to AVX2 (SKINGEN_MAX_ISA=avx2
# ONEDNN_MAX_CPU_ISA=AVX2), 2.39e-6 on AVX-512; fp32 PyTorch lands at ≤ 1.8e-6.
TOLERANCES = {"latent_rel_l2": 4.1e-5, "png_max_abs_diff": 1}


def cases():
    out = []
    for sampler, steps in SAMPLERS:
        for schedule in SCHEDULES:
            for lora in (0.0, LORA_MULTIPLIER):
                for tile in ("none", "xy"):
                    # Non-square where both LoRA and tiling are on: 48x32 (normal) and 32x48 (karras).
                    size = (32, 32) if not (lora and tile == "xy") else ((48, 32) if schedule == "normal" else (32, 48))
                    name = f"{sampler}-{schedule}-{'lora' if lora else 'base'}-{tile}"
                    out.append(dict(name=name, sampler=sampler, schedule=schedule, steps=steps, lora=lora,
                                    tile=tile, size=size, cfg=CFG))
    out.append(dict(name="euler_a-normal-base-none-cfg1", sampler="euler_a", schedule="normal", steps=5, lora=0.0,
                    tile="none", size=(32, 32), cfg=1.0))
    for schedule, lora_sampler in MORE_SCHEDULES.items():
        for sampler, steps in SAMPLERS:
            out.append(dict(name=f"{sampler}-{schedule}-base-none", sampler=sampler, schedule=schedule, steps=steps,
                            lora=0.0, tile="none", size=(32, 32), cfg=CFG))
        steps = dict(SAMPLERS)[lora_sampler]
        out.append(dict(name=f"{lora_sampler}-{schedule}-lora-xy", sampler=lora_sampler, schedule=schedule,
                        steps=steps, lora=LORA_MULTIPLIER, tile="xy", size=(48, 32), cfg=CFG))
    for i, c in enumerate(out):
        c["seed"] = 100 + i
    return out


def more_schedules_latent(unet, cond, uncond, init_latent, c, dtype):
    """As P.txt2img_latent, through pipeline_features.sample (which also runs the
    diffusers-style spacings): the seeded first draw is replaced by init_latent,
    ancestral steps continue the stream."""
    draw = PF.noise_stream("cpu", c["seed"], init_latent.shape[1:])
    draw()
    eps = PF.guided_eps(unet, cond, uncond, c["cfg"], dtype)
    return PF.sample(eps, c["sampler"], c["schedule"], c["steps"], False, init_latent.to(torch.float32), draw)


def skingen_args(c):
    w, h = c["size"]
    a = ["--model", "{dir}/model.safetensors", "--embeddings", "{dir}/embeddings.safetensors",
         "--init-latent", f"{{dir}}/latent_{w}x{h}.safetensors", "--seed", str(c["seed"]),
         "--steps", str(c["steps"]), "--cfg", f"{c['cfg']:g}", "--sampler", c["sampler"],
         "--schedule", c["schedule"], "--size", f"{w}x{h}", "--tile", c["tile"]]
    if c["lora"]:
        a += ["--lora", f"{{dir}}/lora.safetensors:{c['lora']:g}"]
    return a


def write_manifest(path, listed):
    """`skingen regress MANIFEST` input: generate arguments without --out, paths relative to the manifest."""
    cases_ = [{"name": e["name"], "args": [a.replace("{dir}/", "") for a in e["args"]], "reference": e["png"],
               "max_diff": TOLERANCES["png_max_abs_diff"]} for e in listed]
    write_json(path, {"cases": cases_})


def save_png(path, u8):
    tmp = path + ".tmp.png"
    Image.fromarray(u8, "RGB").save(tmp)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.normpath(os.path.join(HERE, "..", "data", "pipeline")))
    ap.add_argument("--case", action="append", help="only these cases (cases.json still lists all)")
    ap.add_argument("--no-fp32", action="store_true", help="skip the informative float32 PyTorch runs")
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = args.out
    os.makedirs(os.path.join(out, "cases"), exist_ok=True)

    unet_w, vae_w = P.model_weights(SEED)
    P.write_checkpoint(os.path.join(out, "model.safetensors"), unet_w, vae_w)
    lora = P.lora_tensors(unet_w, SEED + 2)
    P.write_lora(os.path.join(out, "lora.safetensors"), lora, "pipe_lora")

    g = torch.Generator().manual_seed(SEED + 3)
    cond = st.round_to(torch.randn((1, 77, P.UNET.context_dim), generator=g), "F16")
    uncond = st.round_to(torch.randn((1, 77, P.UNET.context_dim), generator=g), "F16")
    st.write(os.path.join(out, "embeddings.safetensors"), {"cond": cond, "uncond": uncond}, default_dtype="F16")
    all_cases = cases()
    latents = {}
    for size in sorted({c["size"] for c in all_cases}):
        w, h = size
        latents[size] = torch.randn((1, 4, h // P.DOWNSCALE, w // P.DOWNSCALE), generator=g)
        st.write(os.path.join(out, f"latent_{w}x{h}.safetensors"), {"latent": latents[size]})

    models = {}  # (dtype, lora multiplier) -> (unet, vae)

    def model(dtype, mult):
        key = (dtype, mult)
        if key not in models:
            models[key] = (P.build_unet(P.merge_lora(unet_w, lora, mult), dtype), P.build_vae(vae_w, dtype))
        return models[key]

    listed = []
    for c in all_cases:
        entry = {"name": c["name"], "args": skingen_args(c), "latent": f"cases/{c['name']}.safetensors",
                 "png": f"cases/{c['name']}.png"}
        listed.append(entry)
        if args.case and c["name"] not in args.case:
            continue
        t0 = time.time()
        results = {}
        for dtype in ([torch.float64] if args.no_fp32 else [torch.float64, torch.float32]):
            unet, vae = model(dtype, c["lora"])
            P.set_tiling(unet, c["tile"] == "xy")
            P.set_tiling(vae, c["tile"] == "xy")
            if c["schedule"] in SCHEDULES:
                lat = P.txt2img_latent(unet, cond, uncond, latents[c["size"]], c["seed"], c["sampler"],
                                       c["schedule"], c["steps"], c["cfg"], dtype)
            else:
                lat = more_schedules_latent(unet, cond, uncond, latents[c["size"]], c, dtype)
            results[dtype] = (lat, P.to_u8(P.decode(vae, lat, dtype)))
        lat, u8 = results[torch.float64]
        st.write(os.path.join(out, entry["latent"]), {"latent": lat})
        save_png(os.path.join(out, entry["png"]), u8)
        entry["latent_rms"] = float(lat.double().pow(2).mean().sqrt())
        entry["saturated_fraction"] = float(((u8 == 0) | (u8 == 255)).mean())
        if torch.float32 in results:
            l32, p32 = results[torch.float32]
            d = np.abs(p32.astype(np.int32) - u8.astype(np.int32))
            entry["fp32_pytorch"] = {"latent_rel_l2": rel_l2(l32, lat), "png_max_abs_diff": int(d.max()),
                                     "png_differing_values": int((d > 0).sum())}
        print(f"{c['name']}: latent rms {entry['latent_rms']:.2f}, {entry.get('fp32_pytorch')}, "
              f"{time.time() - t0:.1f} s", flush=True)

    old = {}
    path = os.path.join(out, "cases.json")
    if args.case and os.path.exists(path):
        with open(path) as f:
            old = {e["name"]: e for e in json.load(f)["cases"]}
    listed = [e if (not args.case or e["name"] in args.case) else old.get(e["name"], e) for e in listed]
    write_manifest(os.path.join(out, "manifest.json"), listed)
    write_json(path, {
        "about": __doc__.strip().splitlines()[0],
        "regenerate": "/usr/bin/python3 tests/reference/make_pipeline_goldens.py",
        "run": ("skingen generate ARGS --out OUT.png --save-latent OUT.safetensors, with {dir} replaced by this "
                "folder; compare the saved latent with `latent` and the PNG's pixels with `png`"),
        "tolerances": TOLERANCES,
        "tolerance_notes": {
            "latent_rel_l2": ("||latent - golden||_2 / ||golden||_2 over the final latent; about 10x the worst "
                              "error skingen measured over all cases (4.06e-6 with its kernels capped to AVX2, "
                              "2.39e-6 on AVX-512)"),
            "png_max_abs_diff": ("largest |a - b| over all 8-bit values; the golden comes from the float64 decode "
                                 "of the float64 run, so a value next to a rounding boundary may land one step "
                                 "away in fp32"),
        },
        "model": {"unet": P.UNET.to_json(), "vae": P.VAE.to_json(), "weight_dtype": P.WEIGHT_DTYPE,
                  "layout": "LDM single file (model.diffusion_model.*, first_stage_model.decoder.*, "
                            "first_stage_model.post_quant_conv.*)", "seed": SEED,
                  "vae_conv_out_scale": 0.5},
        "lora": {"format": "kohya (lora_unet_<diffusers module path with _>)", "rank": P.LORA_RANK,
                 "alpha": P.LORA_ALPHA, "modules": len(P.lora_modules(unet_w)),
                 "targets": list(P.LORA_SUFFIXES), "merge": "W + multiplier * alpha / rank * up @ down"},
        "reference": ("UNet and VAE in float64 on the stored weights (LoRA merged in float64), timestep features "
                      "rounded in float32 as upstream, sampler arithmetic and CFG in float32 "
                      "(sampling_upstream.py), noise from torch.Generator(seed): the first draw is the one "
                      "--init-latent replaces, ancestral steps continue the stream"),
        "cases": listed,
    })


if __name__ == "__main__":
    main()
