#!/usr/bin/python3
"""Quality of the shipped demo model, measured with the PyTorch pipeline on
the exported F16 files (the engine's outputs are to be measured the same way
later, with `classify.py eval` on skingen's PNGs):

1. the classifier on held-out generator textures (sanity of the yardstick);
2. per class prompt x 8 seeds: the classifier's label of the model's output
   (confusion matrix; target >= 80 % correct);
3. the skin LoRA: share of non-skin prompts labelled as a skin class with the
   LoRA at 1.0 versus without;
4. tiling: seam z (seam.py) of --tile xy renders versus untiled ones.

Usage: evaluate.py [--model DIR] [--out /tmp/skingen_demo/eval] [--json FILE] [--md FILE]
"""
import argparse
import glob
import json
import os

import numpy as np
import torch

import torch_env

SEEDS = list(range(100, 108))
SAMPLER, SCHEDULE, STEPS, CFG = "dpmpp_2m", "karras", 20, 5.0


def render_all(pipe, prompts, tile, size=(64, 64)):
    """{class: uint8 [8, H, W, 3]} for the 8 seeds (batched: image i seeded with 100 + i)."""
    from pipeline import to_uint8
    out = {}
    for cls, prompt in prompts.items():
        _, img = pipe.sample(prompt, "", SEEDS[0], STEPS, CFG, SAMPLER, SCHEDULE, size, tile, batch=len(SEEDS))
        out[cls] = np.stack([to_uint8(img, i) for i in range(len(SEEDS))])
    return out


def confusion_md(m, names, title):
    short = [n.replace("_", " ") for n in names]
    lines = ["**%s** (rows: prompted class, columns: classifier label; %d/%d = %.1f %% correct)" %
             (title, np.trace(m), m.sum(), 100.0 * np.trace(m) / max(m.sum(), 1)), "",
             "| prompted \\ label | " + " | ".join(s[:6] for s in short) + " | correct |",
             "|---|" + "---:|" * (len(names) + 1)]
    for i, n in enumerate(short):
        tot = m[i].sum()
        lines.append("| %s | " % n + " | ".join(str(v) if v else "·" for v in m[i]) +
                     " | %d/%d |" % (m[i, i], tot))
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(torch_env.ROOT, "models", "demo"))
    p.add_argument("--out", default="/tmp/skingen_demo/eval")
    p.add_argument("--json", default=None)
    p.add_argument("--md", default=None)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch_env.setup(a.threads, need_openblas=False)
    import classify
    import seam
    from classes import NAMES, SKIN_CLASSES
    from data import class_prompts
    from export import read_checkpoint, read_lora
    from features import features
    from pipeline import Pipeline, apply_lora_
    from textures import save_png

    os.makedirs(a.out, exist_ok=True)
    clf = classify.Model.load(classify.DEFAULT_MODEL)
    res = {"sampler": SAMPLER, "schedule": SCHEDULE, "steps": STEPS, "cfg": CFG, "seeds": SEEDS, "size": "64x64"}
    md = []

    # 1. the yardstick on held-out generator textures
    X, y = classify.dataset(classify.HELDOUT_SEED, 20)
    acc_gen = float((clf.predict(X) == y).mean())
    res["classifier_heldout_generator"] = acc_gen

    ckpt = os.path.join(a.model, "skingen-demo.safetensors")
    unet, vae, te = read_checkpoint(ckpt)
    pipe = Pipeline(unet, te, vae)
    prompts = class_prompts()
    res["prompts"] = prompts

    def labels_of(imgs):
        return clf.predict(np.asarray([features(im) for im in imgs]))

    def save_grid(name, renders):
        rows = [np.concatenate(list(renders[c]), axis=1) for c in NAMES if c in renders]
        save_png(os.path.join(a.out, name), np.concatenate(rows, axis=0))

    # 2. class prompts, untiled and tiled
    seams = {}
    for tile in (False, True):
        r = render_all(pipe, prompts, tile)
        save_grid("classes_%s.png" % ("tiled" if tile else "plain"), r)
        m = np.zeros((len(NAMES), len(NAMES)), int)
        zs = []
        for c, imgs in r.items():
            for lab in labels_of(imgs):
                m[NAMES.index(c), lab] += 1
            zs += [seam.score(im, "xy") for im in imgs]
        key = "tiled" if tile else "plain"
        res["class_accuracy_" + key] = float(np.trace(m) / m.sum())
        res["confusion_" + key] = m.tolist()
        seams[key] = zs
        md.append(confusion_md(m, NAMES, "Class prompts, %s, %s %s %d steps CFG %g, 8 seeds" %
                               ("--tile xy" if tile else "no tiling", SAMPLER, SCHEDULE, STEPS, CFG)))
        print(md[-1] + "\n", flush=True)
    res["seam"] = {k: {"max_z": float(max(v)), "median_z": float(np.median(v)),
                       "pass_rate": float(np.mean(np.asarray(v) <= seam.THRESHOLD))} for k, v in seams.items()}

    # 3. the skin LoRA at 1.0 on every prompt (untiled)
    loras = sorted(glob.glob(os.path.join(a.model, "*-0000*.safetensors")))
    if loras:
        tensors, _ = read_lora(loras[-1])
        apply_lora_(unet, te, tensors, 1.0)
        r = render_all(pipe, prompts, False)
        save_grid("classes_lora.png", r)
        m = np.zeros((len(NAMES), len(NAMES)), int)
        for c, imgs in r.items():
            for lab in labels_of(imgs):
                m[NAMES.index(c), lab] += 1
        skin = [NAMES.index(c) for c in SKIN_CLASSES]
        non = [i for i, c in enumerate(NAMES) if c not in SKIN_CLASSES]
        base = np.asarray(res["confusion_plain"])
        res["lora"] = os.path.basename(loras[-1])
        res["confusion_lora"] = m.tolist()
        res["nonskin_labelled_skin_without_lora"] = float(base[np.ix_(non, skin)].sum() / base[non].sum())
        res["nonskin_labelled_skin_with_lora"] = float(m[np.ix_(non, skin)].sum() / m[non].sum())
        res["skin_prompts_labelled_skin_with_lora"] = float(m[np.ix_(skin, skin)].sum() / m[skin].sum())
        md.append(confusion_md(m, NAMES, "Same prompts with %s at 1.0" % res["lora"]))
        print(md[-1] + "\n")
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
