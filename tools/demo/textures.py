#!/usr/bin/env python3
"""Procedural, seamless texture generator with captions (the demo model's data).

Usage:
  textures.py dump --out DIR [--n N] [--seed S] [--size PX] [--classes a,b]
      writes DIR/NNNNN_CLASS.png and DIR/manifest.json ([{file, class, caption}])
  textures.py sheet --out PNG [--per-class K] [--seed S] [--size PX]
      a contact sheet: one row per class
  textures.py bench [--n N] [--size PX]
      images per minute on one core

Deterministic: image i of seed s depends only on (s, i, size), never on the
batch it was generated in (rng = numpy default_rng([s, i])).  Image i is of
class NAMES[i % len(NAMES)] unless a class list is given.
Periodic by construction (noise.py), so every image tiles exactly.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import noise as nz  # noqa: E402
from classes import CLASSES, NAMES  # noqa: E402

PREFIXES = ["", "", "close-up of ", "a photo of ", "macro photo of ", "detailed "]
SUFFIXES = ["", ", seamless texture", ", tileable texture", " texture", ", high detail", ", seamless"]


def caption(rng, cls, colour, size_frac):
    """A varied caption whose colour and size words match the image."""
    nouns = CLASSES[cls][1]
    words = []
    if size_frac is not None and rng.random() < 0.6:
        if size_frac < 0.33:
            words.append(["fine", "small"][rng.integers(2)])
        elif size_frac > 0.67:
            words.append(["large", "coarse"][rng.integers(2)])
    if rng.random() < 0.85:
        words.append(colour)
    words.append(nouns[rng.integers(len(nouns))])
    return (PREFIXES[rng.integers(len(PREFIXES))] + " ".join(words)
            + SUFFIXES[rng.integers(len(SUFFIXES))])


def to_uint8(img):
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def generate(seed, index, size=64, cls=None, grid=None):
    """One texture: (uint8 [S, S, 3], class name, caption, colour word)."""
    g = grid if grid is not None else nz.Grid(size)
    rng = np.random.default_rng([seed, index])
    cls = cls if cls is not None else NAMES[index % len(NAMES)]
    img, colour, size_frac = CLASSES[cls][0](rng, g)
    # A random circular shift: cell and thread grids are aligned with the
    # period, and an edge should be no different from any other position.
    img = np.roll(img, tuple(rng.integers(0, g.S, 2)), axis=(0, 1))
    return to_uint8(img), cls, caption(rng, cls, colour, size_frac), colour


def batch(seed, start, n, size=64, classes=None):
    """n textures (indices start…start+n-1): uint8 [n, S, S, 3], labels, captions."""
    g = nz.Grid(size)
    names = classes or NAMES
    imgs = np.empty((n, size, size, 3), np.uint8)
    labels, caps = [], []
    for k in range(n):
        i = start + k
        imgs[k], cls, cap, _ = generate(seed, i, size, names[i % len(names)], g)
        labels.append(NAMES.index(cls))
        caps.append(cap)
    return imgs, np.asarray(labels), caps


def save_png(path, img):
    from PIL import Image
    tmp = path + ".tmp"
    Image.fromarray(img).save(tmp, format="PNG")
    os.replace(tmp, path)


def cmd_dump(a):
    os.makedirs(a.out, exist_ok=True)
    classes = a.classes.split(",") if a.classes else None
    imgs, labels, caps = batch(a.seed, a.start, a.n, a.size, classes)
    manifest = []
    for k in range(a.n):
        name = "%05d_%s.png" % (a.start + k, NAMES[labels[k]])
        save_png(os.path.join(a.out, name), imgs[k])
        manifest.append({"file": name, "class": NAMES[labels[k]], "caption": caps[k]})
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print("wrote %d textures to %s" % (a.n, a.out))


def cmd_sheet(a):
    g = nz.Grid(a.size)
    rows = []
    for c, cls in enumerate(NAMES):
        row = [generate(a.seed, c * 1000 + k, a.size, cls, g)[0] for k in range(a.per_class)]
        rows.append(np.concatenate(row, axis=1))
    save_png(a.out, np.concatenate(rows, axis=0))
    print("rows:", ", ".join(NAMES))


def cmd_bench(a):
    batch(0, 0, len(NAMES), a.size)  # warm-up
    t = time.perf_counter()
    batch(1, 0, a.n, a.size)
    dt = time.perf_counter() - t
    print("%d images %dx%d in %.2f s: %.0f images/minute (one core)" % (a.n, a.size, a.size, dt, a.n / dt * 60))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--out", required=True)
    d.add_argument("--n", type=int, default=len(NAMES) * 4)
    d.add_argument("--start", type=int, default=0)
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--size", type=int, default=64)
    d.add_argument("--classes", default="")
    s = sub.add_parser("sheet")
    s.add_argument("--out", required=True)
    s.add_argument("--per-class", type=int, default=8)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--size", type=int, default=64)
    b = sub.add_parser("bench")
    b.add_argument("--n", type=int, default=1500)
    b.add_argument("--size", type=int, default=64)
    a = p.parse_args(argv)
    {"dump": cmd_dump, "sheet": cmd_sheet, "bench": cmd_bench}[a.cmd](a)


if __name__ == "__main__":
    main()
