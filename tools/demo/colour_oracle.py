#!/usr/bin/python3
"""Diagnostic (issue 7): how much of the demo model's class-prompt error comes
from the colour its initial latent implies?

SD's schedule leaves sqrt(alphas_cumprod[999]) = 0.069 of the clean latent in
x_T. In training, the per-channel means of x_T therefore carry the image's
average colour; at inference x_T is pure noise. This renders every class
prompt with `skingen generate --init-latent` from torch.randn latents (the
same draws as --seed) to which that share of a training image's latent
channel means is added, the image drawn

  none    -- nothing added: plain --seed sampling (must match evaluate_engine.py);
  oracle  -- from the prompted class: x_T as the model saw it in training;
  any     -- from any class: a colour of the right size but unrelated to the prompt;
  class-mean -- no single image: the average over the prompted class's images
             (what a predictor of the colour from the prompt alone would give).

The training latents come from a train.py work directory (latents.pt, cache/).

Usage: colour_oracle.py --work /tmp/skingen_demo [--mode none|oracle|any|class-mean] [--seed0 200]
                        [--skingen build/skingen] [--model models/demo/skingen-demo.safetensors] [--out DIR]
"""
import argparse
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import torch_env  # noqa: E402  (sets up the import path of sdref)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True, help="train.py work directory with latents.pt and cache/")
    p.add_argument("--mode", default="oracle", choices=["none", "oracle", "any", "class-mean"])
    p.add_argument("--seed0", type=int, default=200)
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--skingen", default=os.path.join(ROOT, "build", "skingen"))
    p.add_argument("--model", default=os.path.join(ROOT, "models", "demo", "skingen-demo.safetensors"))
    p.add_argument("--out", default="/tmp/skingen_demo/colour_oracle")
    a = p.parse_args()
    torch_env.setup(1, need_openblas=False)
    import torch
    import classify
    import data
    from classes import NAMES
    from demo_models import SCALE_FACTOR, alphas_cumprod
    from evaluate_engine import SAMPLER, SCHEDULE, STEPS, CFG, read_png
    from features import features
    from sdref import safetensors_io as st

    latents = torch.load(os.path.join(a.work, "latents.pt"))["mean"] * SCALE_FACTOR
    _, labels, _ = data.load(os.path.join(a.work, "cache"))
    labels = np.asarray(labels)[:len(latents)]
    channel_means = latents.mean((2, 3))
    # --init-latent takes unit noise; the engine scales it to the sampler's first sigma.
    # In those units x_T = sqrt(ac) x0 + sqrt(1 - ac) eps, so x0 enters as sqrt(ac / (1 - ac)).
    ac = float(alphas_cumprod()[-1])
    leak = (ac / (1 - ac)) ** 0.5
    clf = classify.Model.load(classify.DEFAULT_MODEL)
    prompts = data.class_prompts()
    rng = np.random.default_rng(5)
    out = os.path.join(a.out, a.mode)
    os.makedirs(out, exist_ok=True)
    confusion = np.zeros((len(NAMES), len(NAMES)), int)
    for ci, name in enumerate(NAMES):
        donors = np.nonzero(labels == ci)[0] if a.mode in ("oracle", "class-mean") else np.arange(len(latents))
        class_mean = channel_means[donors].mean(0)
        for seed in range(a.seed0, a.seed0 + a.seeds):
            x = torch.randn(1, 4, *latents.shape[2:], generator=torch.Generator().manual_seed(seed))
            if a.mode == "class-mean":
                x += leak * class_mean[None, :, None, None]
            elif a.mode != "none":
                x += leak * channel_means[rng.choice(donors)][None, :, None, None]
            lat_path = os.path.join(out, "%s_%d.latent.safetensors" % (name, seed))
            st.write(lat_path, {"latent": x})
            png = os.path.join(out, "%s_%d.png" % (name, seed))
            subprocess.run([a.skingen, "generate", "--model", a.model, "--prompt", prompts[name], "--seed", str(seed),
                            "--sampler", SAMPLER, "--schedule", SCHEDULE, "--steps", str(STEPS), "--cfg", str(CFG),
                            "--size", "64x64", "--init-latent", lat_path, "--quiet", "--out", png],
                           check=True, stdout=subprocess.DEVNULL)
            confusion[ci, clf.predict(features(read_png(png))[None])[0]] += 1
    print("colour %s, seeds %d-%d: %d/%d = %.1f %% of class prompts labelled as their class; per class %s" % (
        a.mode, a.seed0, a.seed0 + a.seeds - 1, np.trace(confusion), confusion.sum(),
        100.0 * np.trace(confusion) / confusion.sum(), dict(zip(NAMES, np.diag(confusion).tolist()))))


if __name__ == "__main__":
    main()
