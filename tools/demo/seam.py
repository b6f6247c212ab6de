#!/usr/bin/env python3
"""Seam metric: does an image tile along x and/or y?

Definition (the C++ test implements the same; all in 8-bit units):
  I[i, j, c]: the image as floats 0..255, H rows, W columns, C channels.
  Column step profile, j = 0 .. W-1 (j = W-1 is the wrap-around pair):
      dx[j] = mean over i < H, c < C of |I[i, (j+1) mod W, c] - I[i, j, c]|
  m_x = mean of dx[0 .. W-2], s_x = population standard deviation of
  dx[0 .. W-2] (the W-1 ordinary neighbour pairs), seam_x = dx[W-1]:
      z_x     = (seam_x - m_x) / max(s_x, 0.1)       <- the criterion
      ratio_x = (seam_x + 0.5) / (m_x + 0.5)         (reported, see below)
  Rows likewise with dy[i] = mean over j, c of |I[(i+1) mod H, j, c] - I[i, j, c]|.
  An image tiles along an axis when z <= THRESHOLD (5.0); `--tile xy`
  outputs must pass on both axes.
For a seamless texture the wrap pair is one more neighbour pair, so z is
a draw from the spread of the column steps (|z| of a few at most); across a
seam the two edges are unrelated and the step stands out.  The plain ratio
(edge step / mean step) is not used as the criterion: for textures whose
structure runs along columns (scales, weaves) the steps of single columns
vary by 2-3x, so seamless images reach ratios of 2.6 while weak seams
stay near 1.3; z scales by each image's own spread.  The floor 0.1 on s
keeps flat or perfectly regular images from dividing by ~0.

Usage:
  seam.py check PNG... [--axes x|y|xy] [--threshold T]   exit 1 if one fails
  seam.py goldens --out DIR    a few PNGs and their z/ratio values (JSON) for
      the C++ implementation's test
  seam.py calibrate [--per-class N]    z of generator textures (seamless),
      also blurred (like a VAE's output), and of the same textures with a
      seam (generated with period 96, shifted by half the period, cropped
      to 64x64), per class
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
THRESHOLD = 5.0        # calibrated by `seam.py calibrate` (see PLAN.md)
STD_FLOOR = 0.1
DELTA = 0.5


def axis_stats(a, axis):
    """(z, ratio) of the wrap pair along `axis` (1: columns, 0: rows)."""
    d = np.abs(np.roll(a, -1, axis=axis) - a).mean(axis=(0, 2) if axis == 1 else (1, 2))
    inner = d[:-1]
    z = (d[-1] - inner.mean()) / max(inner.std(), STD_FLOOR)
    return float(z), float((d[-1] + DELTA) / (inner.mean() + DELTA))


def stats(img):
    """{'x': (z, ratio), 'y': (z, ratio)} of an [H, W] or [H, W, C] image in 0..255."""
    a = np.asarray(img, dtype=np.float64)
    if a.ndim == 2:
        a = a[..., None]
    return {"x": axis_stats(a, 1), "y": axis_stats(a, 0)}


def score(img, axes="xy"):
    """Largest z over the requested axes."""
    st = stats(img)
    return max(st[k][0] for k in axes)


def with_seam(seed, index, cls, out=64, period=96):
    """A generator texture with a seam: period 96, rolled by half, cropped."""
    from textures import generate
    img = generate(seed, index, period, cls)[0]
    img = np.roll(img, (period // 2, period // 2), axis=(0, 1))
    return img[:out, :out]


def cmd_calibrate(a):
    sys.path.insert(0, HERE)
    from classes import NAMES
    from noise import Grid, blur
    from textures import generate
    g64 = Grid(64)
    print("z = seam step vs interior steps; seamless clean / blurred 0.8 px / with seam")
    print("%-15s %18s %18s %24s" % ("class", "clean p99  max", "blurred p99  max", "seam p10 median  >T"))
    ok_all, bad_all = [], []
    for c, cls in enumerate(NAMES):
        ok, okb, bad = [], [], []
        for k in range(a.per_class):
            i = c * 100000 + k
            img = generate(a.seed, i, 64, cls)[0]
            ok.append(score(img))
            okb.append(score(blur(img.astype(np.float64), g64, 0.8)))
            bad.append(score(with_seam(a.seed + 1, i, cls)))
        ok, okb, bad = map(np.asarray, (ok, okb, bad))
        ok_all += [ok, okb]
        bad_all.append(bad)
        print("%-15s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %6.0f%%" % (
            cls, np.percentile(ok, 99), ok.max(), np.percentile(okb, 99), okb.max(),
            np.percentile(bad, 10), np.median(bad), 100 * (bad > a.threshold).mean()))
    ok, bad = np.concatenate(ok_all), np.concatenate(bad_all)
    print("all %d seamless (clean + blurred): max z %.2f; %d with seam" % (ok.size, ok.max(), bad.size))
    for t in (3.0, 4.0, 5.0, 6.0):
        print("threshold %.1f: seamless rejected %.2f%%, seams caught %.1f%%" % (
            t, 100 * (ok > t).mean(), 100 * (bad > t).mean()))


def cmd_goldens(a):
    from textures import generate, save_png
    import json
    os.makedirs(a.out, exist_ok=True)
    cases = []
    for k, cls in enumerate(["tree_bark", "human_skin", "fabric", "rust"]):
        cases.append(("%s_seamless.png" % cls, generate(31, k, 64, cls)[0]))
        cases.append(("%s_seam.png" % cls, with_seam(32, k, cls)))
    cases.append(("rust_seam_64x40.png", with_seam(33, 9, "rust")[:, :40]))       # H != W
    cases.append(("flat.png", np.full((16, 24, 3), 128, np.uint8)))                  # s = 0: floor
    out = []
    for name, img in cases:
        save_png(os.path.join(a.out, name), np.ascontiguousarray(img))
        st = stats(img)
        out.append({"file": name, "z_x": round(st["x"][0], 6), "z_y": round(st["y"][0], 6),
                    "ratio_x": round(st["x"][1], 6), "ratio_y": round(st["y"][1], 6),
                    "tiles_xy": bool(max(st["x"][0], st["y"][0]) <= THRESHOLD)})
    with open(os.path.join(a.out, "expected.json"), "w") as f:
        json.dump({"about": "tools/demo/seam.py goldens: z = (seam step - mean interior step) / "
                            "max(std interior steps, 0.1), 8-bit units, RGB; ratio = (seam + 0.5) / "
                            "(mean + 0.5); tiles when z <= %.1f on both axes" % THRESHOLD,
                   "threshold": THRESHOLD, "cases": out}, f, indent=1)
    for c in out:
        print(c)


def cmd_check(a):
    from PIL import Image
    failed = 0
    for p in a.pngs:
        img = np.asarray(Image.open(p).convert("RGB"))
        st = stats(img)
        s = max(st[k][0] for k in a.axes)
        ok = s <= a.threshold
        failed += not ok
        print("%s\tz_x %.2f (ratio %.2f)\tz_y %.2f (ratio %.2f)\t%s" % (
            p, st["x"][0], st["x"][1], st["y"][0], st["y"][1], "tiles" if ok else "SEAM"))
    sys.exit(1 if failed else 0)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("pngs", nargs="+")
    c.add_argument("--axes", default="xy", choices=["x", "y", "xy"])
    c.add_argument("--threshold", type=float, default=THRESHOLD)
    o = sub.add_parser("goldens")
    o.add_argument("--out", required=True)
    k = sub.add_parser("calibrate")
    k.add_argument("--per-class", type=int, default=200)
    k.add_argument("--seed", type=int, default=11)
    k.add_argument("--threshold", type=float, default=THRESHOLD)
    a = p.parse_args(argv)
    sys.path.insert(0, HERE)
    {"check": cmd_check, "calibrate": cmd_calibrate, "goldens": cmd_goldens}[a.cmd](a)


if __name__ == "__main__":
    main()
