#!/usr/bin/python3
"""Goldens for `--batch-seeds stream` (tests/engine/test_batch_seeds.cpp,
tests/e2e/test_batch_seeds_cli.cpp), written with Debian's PyTorch 1.13.

Run:  /usr/bin/python3 tests/reference/batch_seeds_reference.py
Writes tests/data/batch_seeds/:

noise.safetensors
    What ComfyUI draws for a batch of N latents [N, 4, h, w] on the CPU:
    - "<case>/initial": torch.manual_seed(seed); torch.randn([N, 4, h, w])
      (comfy/sample.py prepare_noise: one draw for the whole batch, on the CPU;
      also diffusers' prepare_latents with one torch.Generator("cpu")).
    - "<case>/step/<k>": draw k of the ancestral samplers' step noise: a second
      generator, torch.Generator("cpu").manual_seed(seed + 1), drawing
      torch.randn([N, 4, h, w]) once per step (comfy/k_diffusion/sampling.py
      default_noise_sampler, which adds 1 to the seed when the latent is on
      the CPU).
    Sizes cover torch's two randn paths: fewer than 16 elements (per-element
    float64 Box-Muller with a cached second value that carries over between
    draws), exact multiples of 16, and sizes whose last partial block of 16 is
    recomputed; odd h and w. The case list is JSON in metadata "cases".

euler_a_stream_b3.safetensors
    `latent` [3, 4, 16, 16]: the final latent of a batch of 3 images in stream
    mode with Euler ancestral (5 steps, karras, CFG 7, seed 31) on the tiny
    model of tests/data/pipeline (its model.safetensors and
    embeddings.safetensors), computed by the float64 reference of
    sdref/pipeline.py around sampling_upstream.py. The batch runs as one
    [3, 4, 16, 16] tensor, noise as above. Compared with
    `skingen generate --batch 3 --batch-seeds stream … --save-latent` at
    relative L2 <= 1e-4 (the pipeline goldens' tolerance).
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import safetensors_io  # noqa: E402
import sampling_upstream as up  # noqa: E402
from sdref import pipeline as P  # noqa: E402
from sdref import safetensors_io as st  # noqa: E402
from sdref.golden_common import rel_l2  # noqa: E402

OUT = os.path.normpath(os.path.join(HERE, "..", "data", "batch_seeds"))
PIPELINE = os.path.normpath(os.path.join(HERE, "..", "data", "pipeline"))

BIG_SEED = 18446744073709551557  # largest prime below 2**64; seed + 1 still fits in 64 bits
STEP_DRAWS = 3

# (seed, N, per-image [C, h, w]); N * C * h * w in brackets.
CASES = [
    (0, 1, [4, 1, 1]),    # 4: scalar path
    (0, 3, [4, 1, 1]),    # 12: scalar path, cache carried between draws
    (1, 4, [4, 1, 1]),    # 16: exactly one vector block; a single image (4) is scalar
    (42, 5, [4, 1, 1]),   # 20: one block and a recomputed tail
    (7, 1, [4, 3, 5]),    # 60: tail
    (7, 2, [4, 3, 5]),    # 120: tail
    (2**32 + 5, 3, [4, 3, 5]),  # 180: seed keeps its low 32 bits
    (9, 4, [4, 3, 5]),    # 240: multiple of 16, one image (60) is not
    (5, 3, [4, 4, 4]),    # 192
    (31, 3, [4, 16, 16]),  # 3072: the e2e case (pipeline model at 32x32)
    (31, 2, [4, 7, 9]),   # 504: odd sides, tail
    (BIG_SEED, 3, [4, 7, 9]),  # 756
    (123, 4, [4, 8, 8]),  # 1024
]

PIPE_SEED, PIPE_N, PIPE_STEPS, PIPE_CFG, PIPE_SCHEDULE = 31, 3, 5, 7.0, "karras"


def case_name(seed, n, shape):
    return f"{seed}/{n}x{'x'.join(str(d) for d in shape)}"


def initial_noise(seed, shape):
    torch.manual_seed(seed)
    return torch.randn(shape)


def step_generator(seed):
    g = torch.Generator(device="cpu")
    g.manual_seed(seed + 1)
    return g


def write_noise():
    cases, tensors = [], []
    for seed, n, per in CASES:
        shape = [n] + per
        name = case_name(seed, n, per)
        cases.append({"name": name, "seed": str(seed), "shape": shape, "step_draws": STEP_DRAWS})
        tensors.append((f"{name}/initial", initial_noise(seed, shape).numpy()))
        g = step_generator(seed)
        for k in range(STEP_DRAWS):
            tensors.append((f"{name}/step/{k}", torch.randn(shape, generator=g).numpy()))
    safetensors_io.write(os.path.join(OUT, "noise.safetensors"), tensors,
                         {"cases": json.dumps(cases), "torch": torch.__version__})
    print(f"noise.safetensors: {len(cases)} cases, {len(tensors)} tensors")


def write_pipeline():
    weights, _, _ = st.read(os.path.join(PIPELINE, "model.safetensors"))
    unet_w = {k[len("model.diffusion_model."):]: v for k, v in weights.items() if k.startswith("model.diffusion_model.")}
    vae_w = {k[len(P.VAE_PREFIX):]: v for k, v in weights.items() if k.startswith(P.VAE_PREFIX)}
    emb, _, _ = st.read(os.path.join(PIPELINE, "embeddings.safetensors"))
    h = w = 32 // P.DOWNSCALE
    shape = [PIPE_N, 4, h, w]
    results = {}
    for dtype in (torch.float64, torch.float32):
        unet = P.build_unet({k: v.double() for k, v in unet_w.items()}, dtype)
        num = up.Numerics(native=False)
        den = up.CompVisDenoiser(P.guided_eps(unet, emb["cond"], emb["uncond"], PIPE_CFG, dtype),
                                 up.ldm_alphas_cumprod(num), num, False)
        sigmas = up.k_sigmas(PIPE_SCHEDULE, den, PIPE_STEPS, num)
        g = step_generator(PIPE_SEED)
        x = initial_noise(PIPE_SEED, shape) * sigmas[0]
        results[dtype] = up.K_SAMPLERS["euler_a"](den, x, sigmas, lambda: torch.randn(shape, generator=g), num)
    lat = results[torch.float64]
    fp32 = rel_l2(results[torch.float32], lat)
    args = ["--model", "{pipeline}/model.safetensors", "--embeddings", "{pipeline}/embeddings.safetensors",
            "--seed", str(PIPE_SEED), "--batch", str(PIPE_N), "--batch-seeds", "stream", "--sampler", "euler_a",
            "--schedule", PIPE_SCHEDULE, "--steps", str(PIPE_STEPS), "--cfg", f"{PIPE_CFG:g}", "--size", "32x32"]
    safetensors_io.write(os.path.join(OUT, "euler_a_stream_b3.safetensors"), [("latent", lat.numpy())],
                         {"args": json.dumps(args), "latent_rel_l2_tolerance": "1e-4",
                          "fp32_pytorch_rel_l2": f"{fp32:.3e}", "torch": torch.__version__})
    print(f"euler_a_stream_b3.safetensors: latent rms {float(lat.double().pow(2).mean().sqrt()):.3f}, "
          f"fp32 PyTorch rel L2 {fp32:.2e}")


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    write_noise()
    write_pipeline()


if __name__ == "__main__":
    main()
