#!/usr/bin/env python3
"""Texture classifier for the demo model: softmax regression on features.py.

Usage:
  classify.py train [--out model.json] [--per-class N] [--seed S]
      train on generator textures (half of them degraded like a model's
      output), then report held-out accuracy and the confusion matrix
  classify.py test [--model model.json] [--per-class N] [--seed S] [--degraded]
      held-out generator textures (seed never used in training)
  classify.py eval DIR_OR_PNGS... [--model model.json] [--manifest M.json] [--json OUT]
      per-image labels; a confusion matrix where the true class is known:
      from a manifest ([{"file", "class"}] or {"file": "class"}; DIR/manifest.json
      is read when present), else from the prompt in the PNG's `parameters`
      text chunk (A1111 format, first line), else unknown.

The model file is plain JSON: classes, feature names, standardisation
mean/std, weights W [classes, features] and bias b; p = softmax(W z + b)
with z = (features - mean) / std.
"""
import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from classes import NAMES, SKIN_CLASSES  # noqa: E402
from features import degrade, feature_names, features  # noqa: E402
from textures import batch  # noqa: E402

DEFAULT_MODEL = os.path.join(HERE, "classifier.json")
TRAIN_SEED, HELDOUT_SEED = 1001, 2002

# Prompt keywords -> class, first match wins (specific before generic).
KEYWORDS = [
    ("freckle", "freckled_skin"), ("elephant", "elephant_skin"), ("snake", "snake_skin"),
    ("python", "snake_skin"), ("reptile", "reptile_scales"), ("lizard", "reptile_scales"),
    ("pore", "human_skin"), ("human skin", "human_skin"), ("skin", "human_skin"),
    ("leather", "leather"), ("fur", "fur"), ("pelt", "fur"), ("bark", "tree_bark"),
    ("marble", "marble"), ("granite", "granite"), ("stone", "granite"),
    ("fabric", "fabric"), ("cloth", "fabric"), ("weave", "fabric"), ("cell", "cells"),
    ("moss", "moss"), ("sand", "sand"), ("rust", "rust"), ("corroded", "rust"),
]


def class_from_prompt(prompt):
    p = prompt.lower()
    for k, c in KEYWORDS:
        if k in p:
            return c
    return None


def dataset(seed, per_class, size=64, degraded=0.0):
    """Feature matrix and labels of per_class generator textures per class."""
    imgs, labels, _ = batch(seed, 0, per_class * len(NAMES), size)
    rng = np.random.default_rng(seed + 7)
    X = []
    for im in imgs:
        if rng.random() < degraded:
            im = degrade(rng, im)
        X.append(features(im))
    return np.asarray(X), labels


def fit_softmax(X, y, k, l2=1e-3, iters=300):
    """Multinomial logistic regression (L-BFGS in torch, float64)."""
    import torch
    torch.manual_seed(0)
    Xt = torch.tensor(X)
    yt = torch.tensor(y, dtype=torch.long)
    W = torch.zeros(k, X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(k, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], lr=1.0, max_iter=iters, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(Xt @ W.T + b, yt) + l2 * (W ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return W.detach().numpy(), b.detach().numpy()


class Model:
    def __init__(self, d):
        self.classes = d["classes"]
        self.mean = np.asarray(d["mean"])
        self.std = np.asarray(d["std"])
        self.W = np.asarray(d["W"])
        self.b = np.asarray(d["b"])

    @staticmethod
    def load(path):
        with open(path) as f:
            return Model(json.load(f))

    def proba(self, X):
        z = (np.atleast_2d(X) - self.mean) / self.std
        s = z @ self.W.T + self.b
        s = np.exp(s - s.max(1, keepdims=True))
        return s / s.sum(1, keepdims=True)

    def predict(self, X):
        return self.proba(X).argmax(1)


def confusion(true, pred, k):
    m = np.zeros((k, k), dtype=int)
    for t, p in zip(true, pred):
        m[t, p] += 1
    return m


def print_confusion(m, names, out=sys.stdout):
    """Rows: true class, columns: predicted (abbreviated to 4 letters)."""
    short = [n[:4] for n in names]
    w = max(len(n) for n in names)
    print(" " * (w + 1) + " ".join("%4s" % s for s in short) + "   acc", file=out)
    for i, n in enumerate(names):
        tot = m[i].sum()
        acc = "%5.1f%%" % (100.0 * m[i, i] / tot) if tot else "    -"
        print("%-*s " % (w, n) + " ".join("%4d" % v for v in m[i]) + " " + acc, file=out)
    tot = m.sum()
    print("overall: %d/%d = %.2f%%" % (np.trace(m), tot, 100.0 * np.trace(m) / max(tot, 1)), file=out)


def cmd_train(a):
    X, y = dataset(TRAIN_SEED, a.per_class, degraded=0.5)
    mean, std = X.mean(0), X.std(0) + 1e-9
    W, b = fit_softmax((X - mean) / std, y, len(NAMES), l2=a.l2)
    d = {"about": "demo texture classifier: softmax(W z + b), z = (features.py - mean) / std",
         "classes": NAMES, "skin_classes": SKIN_CLASSES, "feature_names": feature_names(),
         "train": {"seed": TRAIN_SEED, "per_class": a.per_class, "degraded_fraction": 0.5, "l2": a.l2},
         "mean": mean.round(8).tolist(), "std": std.round(8).tolist(),
         "W": W.round(6).tolist(), "b": b.round(6).tolist()}
    with open(a.out, "w") as f:
        json.dump(d, f, separators=(",", ":"))
    m = Model(d)
    print("train accuracy: %.2f%%" % (100.0 * (m.predict(X) == y).mean()))
    a.model = a.out
    cmd_test(a)


def cmd_test(a):
    m = Model.load(a.model)
    for deg in ([0.0, 1.0] if a.degraded else [0.0]):
        X, y = dataset(HELDOUT_SEED, a.test_per_class, degraded=deg)
        print("held-out generator textures (seed %d, %d per class, %s):"
              % (HELDOUT_SEED, a.test_per_class, "degraded" if deg else "clean"))
        print_confusion(confusion(y, m.predict(X), len(NAMES)), NAMES)


def read_png(path):
    from PIL import Image
    im = Image.open(path)
    prompt = None
    params = im.info.get("parameters")
    if isinstance(params, str):
        prompt = params.split("\n", 1)[0]
    return np.asarray(im.convert("RGB")), prompt


def collect(paths, manifest):
    files, truth = [], {}
    for p in paths:
        if os.path.isdir(p):
            mf = os.path.join(p, "manifest.json")
            if manifest is None and os.path.exists(mf):
                truth.update(load_manifest(mf, p))
            files += sorted(os.path.join(p, f) for f in os.listdir(p) if f.lower().endswith(".png"))
        else:
            files.append(p)
    if manifest:
        truth.update(load_manifest(manifest, os.path.dirname(manifest)))
    return files, truth


def load_manifest(path, base):
    with open(path) as f:
        d = json.load(f)
    items = d.items() if isinstance(d, dict) else ((e["file"], e["class"]) for e in d)
    return {os.path.normpath(os.path.join(base, k)): v for k, v in items}


def cmd_eval(a):
    m = Model.load(a.model)
    files, truth = collect(a.paths, a.manifest)
    names = m.classes
    rows, true_idx, pred_idx = [], [], []
    for path in files:
        img, prompt = read_png(path)
        p = m.proba(features(img))[0]
        k = int(p.argmax())
        t = truth.get(os.path.normpath(path)) or (class_from_prompt(prompt) if prompt else None)
        rows.append({"file": path, "pred": names[k], "p": round(float(p[k]), 4), "true": t,
                     "skin": names[k] in SKIN_CLASSES, "prompt": prompt})
        print("%s\t%s\t%.3f\t%s" % (path, names[k], p[k], t or "?"))
        if t in names:
            true_idx.append(names.index(t))
            pred_idx.append(k)
    n_skin = sum(r["skin"] for r in rows)
    print("labelled as a skin class (%s): %d/%d" % (", ".join(SKIN_CLASSES), n_skin, len(rows)))
    if true_idx:
        print_confusion(confusion(true_idx, pred_idx, len(names)), names)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"images": rows, "skin_labelled": n_skin,
                       "correct": int(sum(t == p for t, p in zip(true_idx, pred_idx))),
                       "with_truth": len(true_idx)}, f, indent=1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--out", default=DEFAULT_MODEL)
    t.add_argument("--per-class", type=int, default=400)
    t.add_argument("--test-per-class", type=int, default=200)
    t.add_argument("--l2", type=float, default=1e-4)
    t.add_argument("--degraded", action="store_true", default=True)
    s = sub.add_parser("test")
    s.add_argument("--model", default=DEFAULT_MODEL)
    s.add_argument("--test-per-class", type=int, default=200)
    s.add_argument("--degraded", action="store_true")
    e = sub.add_parser("eval")
    e.add_argument("paths", nargs="+")
    e.add_argument("--model", default=DEFAULT_MODEL)
    e.add_argument("--manifest")
    e.add_argument("--json")
    a = p.parse_args(argv)
    {"train": cmd_train, "test": cmd_test, "eval": cmd_eval}[a.cmd](a)


if __name__ == "__main__":
    main()
