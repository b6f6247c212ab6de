#!/usr/bin/python3
"""Golden for the full-size SD 1.5 architecture: tests/data/full_size/sd15_f16/.

    /usr/bin/python3 tests/reference/make_full_size_golden.py --skingen build/skingen [--out tests/data]

The checkpoint is not committed (2.1 GB): it is the random-weight fixture
`skingen fixture checkpoint --preset sd15 --dtype f16 --seed 1505`, whose
values are a counter-based hash of (seed, tensor name, index)
(tools/fixtures/fixture_writer.cpp), so the test regenerates it and checks
its SHA-256 against case.json before comparing. This script writes it to a
temporary folder, reads it, and runs the float64 reference (sdref) on small
inputs: the CLIP-L text encoder on one 77-token row, the UNet on an 8x8
latent with the text encoder's output as context, the VAE decoder on an 8x8
latent and the encoder on the decoded image. Only inputs and outputs are
committed (io.safetensors, about 0.3 MB). Deterministic: fixed seeds,
torch.set_num_threads(1). Needs about 8 GB of RAM for the float64 UNet."""
import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

from sdref import safetensors_io as st  # noqa: E402
from sdref.clip_text import CLIP_L, CLIPTextModel  # noqa: E402
from sdref.golden_common import GOLDEN_PRECISION, rel_l2, write_json  # noqa: E402
from sdref.unet import SD15, UNet  # noqa: E402
from sdref.vae import AutoencoderKL, VAEConfig  # noqa: E402

CASE = "sd15_f16"
FIXTURE_SEED = 1505
FIXTURE_ARGS = ["fixture", "checkpoint", "--preset", "sd15", "--dtype", "f16", "--seed", str(FIXTURE_SEED)]
INPUT_SEED = 15015
UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
CLIP_PREFIX = "cond_stage_model.transformer."
BOS, EOS = 49406, 49407
T = 601.0

# The engine's bounds, per output: about 10x the relative L2 error skingen
# measured against this golden (AVX-512 and, with SKINGEN_MAX_ISA=avx2 and
# ONEDNN_MAX_CPU_ISA=AVX2, AVX2 kernels; the larger of the two), printed by
# tests/models/test_full_size_binding.cpp.
CHECK = {
    "metric": "relative L2 ||out - golden||_2 / ||golden||_2 over the whole tensor",
    "tolerance": {"hidden": 8.3e-6, "eps": 5.1e-5, "image": 6.1e-5, "moments": 6.2e-5},
    "measured_engine_rel_l2": {"hidden": 8.31e-7, "eps": 5.05e-6, "image": 6.06e-6, "moments": 6.15e-6},
}


class Checkpoint:
    """Tensors of a safetensors file read one at a time from a memory map."""

    def __init__(self, path):
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            self.header = json.loads(f.read(n).decode("utf-8"))
        self.header.pop("__metadata__", None)
        self.base = 8 + n
        self.map = np.memmap(path, dtype=np.uint8, mode="r")

    def get(self, name, dtype):
        info = self.header[name]
        assert info["dtype"] == "F16", (name, info["dtype"])
        b, e = info["data_offsets"]
        raw = np.frombuffer(self.map[self.base + b:self.base + e], dtype=np.float16).reshape(info["shape"])
        return torch.from_numpy(raw.astype(np.float64 if dtype == torch.float64 else np.float32))


def build(make, ckpt, prefix, dtype):
    """The module `make(device="meta")` in `dtype`, its weights read from `ckpt` under `prefix`.
    Every parameter must be in the file; file tensors under `prefix` that the module lacks are
    listed (the checkpoint's non-persistent buffers such as CLIP's position_ids)."""
    torch.set_default_dtype(dtype)
    try:
        model = make(device="meta").to_empty(device="cpu")
    finally:
        torch.set_default_dtype(torch.float32)
    names = set()
    with torch.no_grad():
        for k, v in model.state_dict().items():
            v.copy_(ckpt.get(prefix + k, dtype))
            names.add(prefix + k)
    extra = sorted(k for k in ckpt.header if k.startswith(prefix) and k not in names)
    return model.eval(), extra


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skingen", required=True, help="the skingen binary that writes the fixture")
    ap.add_argument("--out", default=os.path.normpath(os.path.join(HERE, "..", "data")),
                    help="output root (default: tests/data)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cdir = os.path.join(args.out, "full_size", CASE)
    os.makedirs(cdir, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sd15.safetensors")
        subprocess.run([args.skingen] + FIXTURE_ARGS + ["--out", path], check=True)
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 24), b""):
                h.update(block)
        sha256 = h.hexdigest()
        ckpt = Checkpoint(path)

        g = torch.Generator().manual_seed(INPUT_SEED)
        toks = torch.randint(1, BOS, (20,), generator=g).tolist()
        row = [BOS] + toks + [EOS]
        ids = torch.tensor([row + [EOS] * (77 - len(row))], dtype=torch.int64)   # SD 1.x pads with EOS
        x = torch.randn((1, 4, 8, 8), generator=g, dtype=torch.float32)
        t = torch.tensor([T], dtype=torch.float32)
        latent = torch.randn((1, 4, 8, 8), generator=g, dtype=torch.float32)

        errors = {}
        with torch.no_grad():
            text = {}
            for dtype in (torch.float64, torch.float32):
                te, te_extra = build(lambda device: CLIPTextModel(CLIP_L, device=device), ckpt, CLIP_PREFIX, dtype)
                text[dtype] = te.encode(ids, 1)
                del te
            hidden = text[torch.float64].float()   # the golden, and the UNet's context
            errors["text"] = rel_l2(text[torch.float32], text[torch.float64])

            eps = {}
            for dtype in (torch.float64, torch.float32):
                unet, unet_extra = build(lambda device: UNet(SD15, device=device), ckpt, UNET_PREFIX, dtype)
                eps[dtype] = unet(x.to(dtype), t.to(dtype), hidden.to(dtype))
                del unet
            errors["unet"] = rel_l2(eps[torch.float32], eps[torch.float64])

            image, moments = {}, {}
            for dtype in (torch.float64, torch.float32):
                vae, vae_extra = build(lambda device: AutoencoderKL(VAEConfig(), device=device), ckpt, VAE_PREFIX,
                                       dtype)
                image[dtype] = vae.decode_latent(latent.to(dtype))
                # the encoder runs on the golden image as stored (F32), on both sides
                moments[dtype] = vae.encode_moments(image[torch.float64].float().to(dtype))
                del vae
            errors["vae_decode"] = rel_l2(image[torch.float32], image[torch.float64])
            errors["vae_encode"] = rel_l2(moments[torch.float32], moments[torch.float64])
        assert not unet_extra and not vae_extra, (unet_extra, vae_extra)

    io = {"ids": ids, "hidden": hidden, "x": x, "t": t, "eps": eps[torch.float64].float(),
          "latent": latent, "image": image[torch.float64].float(), "moments": moments[torch.float64].float()}
    st.write(os.path.join(cdir, "io.safetensors"), io)
    meta = {
        "name": CASE,
        "kind": "full_size",
        "description": ("SD 1.5's exact architecture and key layout (random weights, F16, single-file LDM "
                        "checkpoint) on small inputs: text encoder, UNet at an 8x8 latent, VAE decode and encode."),
        "checkpoint": {
            "args": FIXTURE_ARGS,
            "regenerate": "skingen " + " ".join(FIXTURE_ARGS) + " --out FILE",
            "sha256": sha256,
            "unused_text_encoder_keys": te_extra,
        },
        "inputs": {
            "ids": "[1, 77] I64: BOS, 20 random ids, EOS, EOS padding (seed %d)" % INPUT_SEED,
            "x": list(x.shape), "t": [T], "latent": list(latent.shape),
            "context": "the golden `hidden`",
            "encoder input": "the golden `image`",
        },
        "outputs": {
            "hidden": "clip skip 1: final_layer_norm(last layer) [1, 77, 768]",
            "eps": "unet(x, t, hidden) [1, 4, 8, 8]",
            "image": "decoder(post_quant_conv(latent / 0.18215)) [1, 3, 64, 64], not clamped",
            "moments": "quant_conv(encoder(image)) [1, 8, 8, 8], logvar not clamped",
        },
        "golden_precision": GOLDEN_PRECISION,
        "check": CHECK,
        "fp32_pytorch_rel_l2": errors,
        "regenerate": "/usr/bin/python3 tests/reference/make_full_size_golden.py --skingen build/skingen",
    }
    write_json(os.path.join(cdir, "case.json"), meta)
    print(f"full_size/{CASE}: sha256 {sha256[:16]}…, fp32 torch rel L2 "
          + ", ".join(f"{k} {v:.2e}" for k, v in errors.items())
          + f", io {os.path.getsize(os.path.join(cdir, 'io.safetensors')) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
