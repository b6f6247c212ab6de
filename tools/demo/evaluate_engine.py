#!/usr/bin/python3
"""Quality of the shipped demo model as the C++ engine renders it (issue 7):

1. the classifier on held-out generator textures (the yardstick itself);
2. `skingen generate` for every class prompt x 8 seeds (one --batch 8 run per
   prompt: image i uses seed + i), classified by classify.py's model:
   accuracy and confusion matrix, without tiling and with --tile xy;
3. the same prompts with the skin LoRA at 1.0: how often non-skin prompts are
   labelled as a skin class, versus without the LoRA;
4. seam z (seam.py) of every output, --tile xy versus none.

Usage: evaluate_engine.py [--skingen build/skingen] [--model models/demo/skingen-demo.safetensors]
                          [--cfg 7] [--cfg-interval LO,HI] [--steps 15] [--sampler dpmpp_2m] [--schedule karras] [--seed0 100] [--seeds 8] [--variants plain,tiled,lora]
                          [--out /tmp/skingen_demo/eval_engine] [--json FILE] [--md FILE]
"""
import argparse
import glob
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

SEED0, NSEEDS = 100, 8
SAMPLER, SCHEDULE, STEPS, CFG = "dpmpp_2m", "karras", 15, 7.0   # the README's recommended settings


def read_png(path):
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGB"))


def render(skingen, model, prompt, out_dir, tag, tile, lora=None, nseeds=NSEEDS, cfg=CFG, seed0=SEED0, steps=STEPS,
           sampler=SAMPLER, schedule=SCHEDULE, cfg_interval=None):
    """cfg_interval: "LO,HI" for --cfg-interval, None for the engine's default (the demo model's own)."""
    os.makedirs(out_dir, exist_ok=True)
    pattern = os.path.join(out_dir, tag + "_{i}.png")
    cmd = [skingen, "generate", "--model", model, "--prompt", prompt, "--seed", str(seed0), "--batch", str(nseeds),
           "--sampler", sampler, "--schedule", schedule, "--steps", str(steps), "--cfg", "%g" % cfg,
           "--size", "64x64", "--tile", tile, "--quiet", "--out", pattern]
    if lora:
        cmd += ["--lora", lora]
    if cfg_interval:
        cmd += ["--cfg-interval", cfg_interval]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit("FAILED: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    files = [pattern.replace("{i}", str(i)) for i in range(nseeds)]
    return [read_png(f) for f in files]


def confusion_md(m, names, title):
    short = [n.replace("_", " ") for n in names]
    lines = ["**%s** (rows: prompted class, columns: classifier label; %d/%d = %.1f %% correct)" %
             (title, np.trace(m), m.sum(), 100.0 * np.trace(m) / max(m.sum(), 1)), "",
             "| prompted \\ label | " + " | ".join(s[:6] for s in short) + " | correct |",
             "|---|" + "---:|" * (len(names) + 1)]
    for i, n in enumerate(short):
        lines.append("| %s | " % n + " | ".join(str(v) if v else "·" for v in m[i]) +
                     " | %d/%d |" % (m[i, i], m[i].sum()))
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--skingen", default=os.path.join(ROOT, "build", "skingen"))
    p.add_argument("--model", default=os.path.join(ROOT, "models", "demo", "skingen-demo.safetensors"))
    p.add_argument("--out", default="/tmp/skingen_demo/eval_engine")
    p.add_argument("--json", default=None)
    p.add_argument("--md", default=None)
    p.add_argument("--variants", default="plain,tiled,lora")
    p.add_argument("--seeds", type=int, default=NSEEDS, help="seeds per prompt (100, 101, ...)")
    p.add_argument("--seed0", type=int, default=SEED0,
                   help="first seed (the README's numbers use 100; other seeds to choose settings)")
    p.add_argument("--steps", type=int, default=STEPS)
    p.add_argument("--cfg", type=float, default=CFG)
    p.add_argument("--cfg-interval", default=None,
                   help="LO,HI passed to skingen (default: none, i.e. the engine's default for the model)")
    p.add_argument("--sampler", default=SAMPLER)
    p.add_argument("--schedule", default=SCHEDULE)
    a = p.parse_args()
    import classify
    import seam
    from classes import NAMES, SKIN_CLASSES
    from data import class_prompts
    from features import features
    from textures import save_png

    clf = classify.Model.load(classify.DEFAULT_MODEL)
    res = {"sampler": a.sampler, "schedule": a.schedule, "steps": a.steps, "cfg": a.cfg,
           "cfg_interval": a.cfg_interval or "engine default",
           "seeds": list(range(a.seed0, a.seed0 + a.seeds)), "size": "64x64"}
    X, y = classify.dataset(classify.HELDOUT_SEED, 20)
    res["classifier_heldout_generator"] = float((clf.predict(X) == y).mean())
    prompts = class_prompts()
    res["prompts"] = prompts
    loras = sorted(glob.glob(os.path.join(os.path.dirname(a.model), "*-0000*.safetensors")))
    variants = [("plain", "none", None), ("tiled", "xy", None)]
    if loras:
        variants.append(("lora", "none", loras[-1] + ":1.0"))
        res["lora"] = os.path.basename(loras[-1])
    variants = [v for v in variants if v[0] in a.variants.split(",")]
    md, seams = [], {}
    skin = [NAMES.index(c) for c in SKIN_CLASSES]
    non = [i for i, c in enumerate(NAMES) if c not in SKIN_CLASSES]
    for key, tile, lora in variants:
        m = np.zeros((len(NAMES), len(NAMES)), int)
        rows, zs = [], []
        for c in NAMES:
            imgs = render(a.skingen, a.model, prompts[c], os.path.join(a.out, key), c, tile, lora, a.seeds, a.cfg,
                          a.seed0, a.steps, a.sampler, a.schedule, a.cfg_interval)
            for lab in clf.predict(np.asarray([features(im) for im in imgs])):
                m[NAMES.index(c), lab] += 1
            zs += [seam.score(im, "xy") for im in imgs]
            rows.append(np.concatenate(imgs, axis=1))
        save_png(os.path.join(a.out, "grid_%s.png" % key), np.concatenate(rows, axis=0))
        res["accuracy_" + key] = float(np.trace(m) / m.sum())
        res["confusion_" + key] = m.tolist()
        res["nonskin_labelled_skin_" + key] = float(m[np.ix_(non, skin)].sum() / m[non].sum())
        seams[key] = zs
        md.append(confusion_md(m, NAMES, "skingen, class prompts, %s, %s %s %d steps CFG %g%s, seeds %d-%d" % (
            {"plain": "no tiling", "tiled": "--tile xy", "lora": "LoRA %s at 1.0" % res.get("lora")}[key],
            a.sampler, a.schedule, a.steps, a.cfg,
            " (--cfg-interval %s)" % a.cfg_interval if a.cfg_interval else "", a.seed0, a.seed0 + a.seeds - 1)))
        print(md[-1] + "\n", flush=True)
    res["seam"] = {k: {"max_z": float(max(v)), "median_z": float(np.median(v)),
                       "pass_rate": float(np.mean(np.asarray(v) <= seam.THRESHOLD))} for k, v in seams.items()}
    summary = {k: v for k, v in res.items() if not k.startswith("confusion") and k != "prompts"}
    print(json.dumps(summary, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    if a.md:
        with open(a.md, "w") as f:
            f.write("\n\n".join(md) + "\n")


if __name__ == "__main__":
    main()
