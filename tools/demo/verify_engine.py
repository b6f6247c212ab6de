#!/usr/bin/python3
"""Checks that skingen loads the shipped demo files strictly and computes
what the PyTorch models compute (relative L2 <= 1e-4) on every part:
`skingen inspect`, `eval text`, `eval unet` (plain, --tile xy, --lora),
`eval vae` (decode plain and tiled, --encode).

Usage: verify_engine.py [--model models/demo/skingen-demo.safetensors]
                        [--lora models/demo/skin_demo-000010.safetensors]
                        [--skingen build/skingen] [--json OUT]
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import torch

import torch_env
from sdref import safetensors_io as st

TOL = 1e-4


def rel_l2(a, b):
    a, b = a.double(), b.double()
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("FAILED: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout + r.stderr


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(torch_env.ROOT, "models", "demo", "skingen-demo.safetensors"))
    p.add_argument("--lora", default=None)
    p.add_argument("--skingen", default=os.path.join(torch_env.ROOT, "build", "skingen"))
    p.add_argument("--json", default=None)
    a = p.parse_args()
    torch_env.setup(1, need_openblas=False)
    from data import PromptIds
    from demo_models import set_tiling
    from export import read_checkpoint, read_lora
    from pipeline import apply_lora_

    if a.lora is None:
        found = sorted(glob.glob(os.path.join(os.path.dirname(a.model), "*-0000*.safetensors")))
        a.lora = found[-1] if found else None
    unet, vae, te = read_checkpoint(a.model)
    results = {}
    out = run([a.skingen, "inspect", a.model])
    print(out.strip())
    results["inspect"] = json.loads(run([a.skingen, "inspect", "--json", a.model]))
    if a.lora:
        print(run([a.skingen, "inspect", a.lora]).strip())
    tmp = tempfile.mkdtemp(prefix="demo_verify_")
    g = torch.Generator().manual_seed(123)
    ids = PromptIds()
    prompts = ["green reptile scales, seamless texture", "", "close-up of pale human skin with pores"]

    def check(name, got, want):
        e = rel_l2(got, want)
        results[name] = e
        print("%-28s rel L2 %.2e %s" % (name, e, "ok" if e <= TOL else "FAIL"))

    # text encoder
    tok = torch.tensor([ids(pr) for pr in prompts], dtype=torch.int64)
    st.write(os.path.join(tmp, "ids.safetensors"), {"ids": tok})
    run([a.skingen, "eval", "text", "--model", a.model, "--input", os.path.join(tmp, "ids.safetensors"),
         "--output", os.path.join(tmp, "hidden.safetensors")])
    with torch.no_grad():
        hidden = te.encode(tok)
    check("text", st.read(os.path.join(tmp, "hidden.safetensors"))[0]["hidden"], hidden)

    # UNet: two timesteps (one fractional, as k-diffusion passes), real contexts
    x = torch.randn(2, 4, 16, 16, generator=g)
    t = torch.tensor([999.0, 137.25])
    ctx = hidden[:2].contiguous()
    st.write(os.path.join(tmp, "unet_in.safetensors"), {"x": x, "t": t, "context": ctx})

    def unet_case(name, extra, circular):
        o = os.path.join(tmp, name + ".safetensors")
        run([a.skingen, "eval", "unet", "--model", a.model, "--input", os.path.join(tmp, "unet_in.safetensors"),
             "--output", o] + extra)
        set_tiling(unet, circular)
        with torch.no_grad():
            want = unet(x, t, ctx)
        set_tiling(unet, False)
        check(name, st.read(o)[0]["eps"], want)

    unet_case("unet", [], False)
    unet_case("unet --tile xy", ["--tile", "xy"], True)

    # VAE decode (plain, tiled) and encode
    lat = torch.randn(1, 4, 16, 16, generator=g)
    st.write(os.path.join(tmp, "lat.safetensors"), {"latent": lat})
    for tile in ("none", "xy"):
        o = os.path.join(tmp, "img_%s.safetensors" % tile)
        run([a.skingen, "eval", "vae", "--model", a.model, "--input", os.path.join(tmp, "lat.safetensors"),
             "--output", o, "--tile", tile])
        set_tiling(vae, tile == "xy")
        with torch.no_grad():
            want = vae.decode_latent(lat)
        set_tiling(vae, False)
        check("vae decode --tile %s" % tile, st.read(o)[0]["image"], want)
    img = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1
    st.write(os.path.join(tmp, "img.safetensors"), {"image": img})
    o = os.path.join(tmp, "enc.safetensors")
    run([a.skingen, "eval", "vae", "--model", a.model, "--encode", "--input", os.path.join(tmp, "img.safetensors"),
         "--output", o])
    with torch.no_grad():
        mom = vae.encode_moments(img)
    got = st.read(o)[0]
    check("vae encode mean", got["mean"], mom[:, :4])
    check("vae encode logvar", got["logvar"], mom[:, 4:])

    # LoRA through the engine's loader, merged at 1.0 in PyTorch
    if a.lora:
        tensors, _ = read_lora(a.lora)
        applied = apply_lora_(unet, te, tensors, 1.0)
        print("LoRA modules merged in PyTorch: %d" % len(applied))
        unet_case("unet --lora 1.0", ["--lora", a.lora + ":1.0"], False)
    ok = all(v <= TOL for k, v in results.items() if isinstance(v, float))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    print("all parts match" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
