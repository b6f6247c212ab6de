"""The texture classes: one periodic generator per class (see noise.py).

Each generator takes (rng, grid) and returns (rgb float [S, S, 3] roughly in
[0, 1], colour word, size fraction in [0, 1] or None).  The colour word is
drawn first and the colour is built from it, so captions match the image;
the size fraction (where the class has a feature size) places the drawn
size in its range and becomes "fine"/"large" in captions.
Feature sizes are in pixels: a larger image holds more features, as a
convolutional model generating a larger image would.
"""
import numpy as np

import noise as nz

# Colour words -> base RGB.  Shared across classes so the vocabulary stays small.
COLOURS = {
    "green": (0.30, 0.50, 0.18), "olive": (0.45, 0.45, 0.22), "brown": (0.45, 0.30, 0.18),
    "dark": (0.16, 0.13, 0.11), "grey": (0.52, 0.52, 0.50), "black": (0.10, 0.10, 0.10),
    "white": (0.90, 0.89, 0.86), "red": (0.62, 0.16, 0.12), "orange": (0.85, 0.45, 0.12),
    "yellow": (0.85, 0.72, 0.22), "beige": (0.82, 0.73, 0.58), "tan": (0.70, 0.52, 0.34),
    "pink": (0.88, 0.58, 0.62), "purple": (0.45, 0.25, 0.52), "blue": (0.20, 0.32, 0.62),
    "golden": (0.80, 0.60, 0.25),
}
# Human skin tones (also colour words in captions).
SKIN = {
    "pale": (0.94, 0.80, 0.72), "fair": (0.90, 0.70, 0.58), "tan": (0.78, 0.55, 0.40),
    "olive": (0.70, 0.54, 0.38), "brown": (0.52, 0.34, 0.23), "dark": (0.32, 0.20, 0.14),
}


def pick(rng, words, table=COLOURS, spread=0.04):
    """Draw a colour word and a jittered RGB of that colour."""
    w = words[rng.integers(len(words))]
    base = np.asarray(table[w])
    rgb = base * rng.uniform(0.88, 1.12) * (1 + spread * rng.standard_normal(3))
    return w, np.clip(rgb, 0.02, 1.0)


def frac(v, lo, hi):
    return (v - lo) / (hi - lo)


def reptile_scales(rng, g):
    word, c = pick(rng, ["green", "brown", "olive", "grey", "yellow", "dark"])
    size = rng.uniform(6.0, 12.0)
    n = max(2, int(round(g.S / size)))
    f1, f2, v = nz.worley(rng, g, n, n + (n % 2), jitter=0.35, hexagonal=True)
    edge = f2 - f1
    inside = nz.smoothstep(0.3, 1.8, edge)
    dome = np.clip(1.0 - f1 / (0.7 * size), 0.0, 1.0)
    shade = (0.75 + 0.35 * v) * (0.7 + 0.45 * dome) + 0.04 * nz.lowpass(rng, g, 1.0)
    img = nz.tint(shade * (0.25 + 0.75 * inside), c)
    return img, word, frac(size, 6.0, 12.0)


def snake_skin(rng, g):
    word, c = pick(rng, ["brown", "green", "tan", "grey", "yellow", "black"])
    size = rng.uniform(4.0, 7.0)
    n = max(2, int(round(g.S / size)))
    f1, f2, v = nz.worley(rng, g, n, 2 * ((n + 1) // 2), jitter=0.15, hexagonal=True,
                          metric="l1", stretch=1.6)
    inside = nz.smoothstep(0.2, 1.2, f2 - f1)
    # Large saddle-shaped blotches with a pale rim, like a python.
    b = nz.lowpass(rng, g, rng.uniform(6.0, 10.0))
    blotch = nz.smoothstep(0.3, 0.7, b)
    rim = np.exp(-((b - 0.1) / 0.25) ** 2)
    shade = (0.85 + 0.2 * v) * (0.35 + 0.65 * inside)
    dark = c * 0.3 if word != "black" else np.array([0.55, 0.5, 0.4])
    col = nz.ramp(blotch, c, dark)
    col = col * (1 + 0.35 * rim[..., None])
    return col * shade[..., None], word, frac(size, 4.0, 7.0)


def _skin_base(rng, g, tone):
    low = nz.lowpass(rng, g, 12.0)
    red = nz.lowpass(rng, g, 5.0)
    img = tone[None, None, :] * (1 + 0.04 * low[..., None])
    img = img + 0.025 * np.clip(red, 0, None)[..., None] * np.array([1.0, -0.5, -0.4])
    # Fine skin lines: a faint network from two crossing ridged streak fields.
    a = rng.uniform(0, np.pi)
    lines = (np.abs(nz.aniso(rng, g, 8.0, 0.8, a)) < 0.15) | (np.abs(nz.aniso(rng, g, 8.0, 0.8, a + 1.4)) < 0.15)
    img = img * (1 - 0.05 * lines[..., None])
    return img + 0.012 * nz.lowpass(rng, g, 0.6)[..., None]


def _pores(rng, g, spacing, radius, depth):
    n = max(2, int(round(g.S / spacing)))
    f1, _, v = nz.worley(rng, g, n, n, jitter=0.9)
    return depth * (0.6 + 0.4 * v) * np.exp(-(f1 / radius) ** 2)


def human_skin(rng, g):
    word, tone = pick(rng, list(SKIN), SKIN, spread=0.03)
    spacing = rng.uniform(3.5, 6.0)
    img = _skin_base(rng, g, tone)
    pores = _pores(rng, g, spacing, rng.uniform(0.6, 1.0), rng.uniform(0.25, 0.4))
    return img * (1 - pores[..., None]), word, frac(spacing, 3.5, 6.0)


def freckled_skin(rng, g):
    word, tone = pick(rng, ["pale", "fair", "tan"], SKIN, spread=0.03)
    img = _skin_base(rng, g, tone)
    img = img * (1 - _pores(rng, g, 5.0, 0.6, 0.15)[..., None])
    size = rng.uniform(1.2, 2.6)
    n = max(2, int(round(g.S / (size * 2.6))))
    f1, _, v = nz.worley(rng, g, n, n, jitter=1.0)
    cluster = nz.smoothstep(-0.6, 0.8, nz.lowpass(rng, g, 10.0))
    radius = size * (0.5 + 0.7 * v)
    spot = np.exp(-(f1 / radius) ** 2) * (v > 0.25) * cluster * rng.uniform(0.5, 0.8)
    freckle = tone * np.array([0.72, 0.50, 0.34])
    img = img * (1 - spot[..., None]) + freckle[None, None, :] * spot[..., None]
    return img, word, frac(size, 1.2, 2.6)


def elephant_skin(rng, g):
    word, c = pick(rng, ["grey", "dark", "brown"], {"grey": (0.50, 0.48, 0.46),
                                                     "dark": (0.30, 0.29, 0.28),
                                                     "brown": (0.48, 0.40, 0.34)})
    size = rng.uniform(9.0, 16.0)
    n = max(2, int(round(g.S / size)))
    x, y = nz.warp_coords(rng, g, size * 0.3, size * 0.8)
    f1, f2, v = nz.worley(rng, g, n, n, jitter=0.9, x=x, y=y)
    crack = np.exp(-((f2 - f1) / 1.0) ** 2)
    a = rng.uniform(0, np.pi)
    w1 = np.abs(nz.aniso(rng, g, 10.0, 1.0, a))
    w2 = np.abs(nz.aniso(rng, g, 10.0, 1.0, a + np.pi / 2))
    wrinkle = np.exp(-(w1 / 0.25) ** 2) + np.exp(-(w2 / 0.25) ** 2)
    h = nz.smoothstep(0, 3, f2 - f1) - 0.3 * wrinkle
    shade = nz.relief(h, 0.25) * (0.9 + 0.15 * v) * (1 - 0.55 * crack) * (1 - 0.18 * np.clip(wrinkle, 0, 1))
    return nz.tint(shade, c), word, frac(size, 9.0, 16.0)


def leather(rng, g):
    word, c = pick(rng, ["brown", "black", "tan", "red", "dark", "beige"])
    size = rng.uniform(2.5, 5.0)
    n = max(2, int(round(g.S / size)))
    f1, f2, v = nz.worley(rng, g, n, n, jitter=0.9)
    h = nz.smoothstep(0.0, size * 0.45, f2 - f1) + 0.1 * v
    crease = np.abs(nz.lowpass(rng, g, 6.0))
    shade = nz.relief(h, 0.3) * (0.92 + 0.08 * nz.lowpass(rng, g, 10.0)) * (1 - 0.2 * np.exp(-(crease / 0.1) ** 2))
    col = np.maximum(c, 0.14)                            # black leather still shows its grain
    return nz.tint(shade * (0.6 + 0.4 * h), col), word, frac(size, 2.5, 5.0)


def fur(rng, g):
    word, c = pick(rng, ["brown", "white", "grey", "orange", "black", "golden"])
    length = rng.uniform(8.0, 16.0)
    angle = rng.uniform(0, np.pi)
    x, y = nz.warp_coords(rng, g, 1.5, 16.0)
    s = nz.sample(nz.aniso(rng, g, length, 0.45, angle), x, y)
    s2 = nz.aniso(rng, g, length * 0.5, 1.5, angle + 0.15)
    strands = 0.55 + 0.25 * s + 0.1 * s2
    shade = np.clip(strands, 0.05, 1.2) * (0.9 + 0.1 * nz.lowpass(rng, g, 12.0))
    img = nz.tint(shade, c)
    if word in ("black", "dark"):
        img = img + 0.12 * np.clip(s, 0, None)[..., None]
    return img, word, frac(length, 8.0, 16.0)


def tree_bark(rng, g):
    word, c = pick(rng, ["brown", "grey", "dark", "red"], {"brown": (0.42, 0.30, 0.20),
                                                           "grey": (0.50, 0.48, 0.44),
                                                           "dark": (0.24, 0.18, 0.14),
                                                           "red": (0.50, 0.26, 0.18)})
    width = rng.uniform(3.0, 6.0)
    angle = np.pi / 2 + rng.uniform(-0.12, 0.12)       # bark runs vertically
    x, y = nz.warp_coords(rng, g, 1.0, 10.0)
    n = nz.sample(nz.aniso(rng, g, 40.0, width, angle), x, y)
    ridge = 1.0 - np.abs(n)
    h = ridge ** 2 + 0.2 * nz.lowpass(rng, g, 1.5)
    shade = nz.relief(h, 0.3) * (0.35 + 0.75 * nz.smoothstep(0.1, 0.7, ridge))
    return nz.tint(shade, c), word, frac(width, 3.0, 6.0)


def marble(rng, g):
    word, c = pick(rng, ["white", "grey", "black", "green", "pink", "beige"])
    kx, ky = rng.integers(1, 3), rng.integers(-2, 3)
    turb = nz.fractal(rng, g, 1.8, 2.5)
    phase = 2 * np.pi * (kx * g.x + ky * g.y) / g.S + rng.uniform(1.5, 3.0) * turb
    width = rng.uniform(0.08, 0.2)
    vein = np.exp(-(np.sin(phase) / width) ** 2)
    vein2 = np.exp(-(nz.lowpass(rng, g, 6.0) / 0.05) ** 2) * 0.5
    v = np.clip(vein + vein2, 0, 1) * (0.7 + 0.3 * nz.lowpass(rng, g, 3.0).clip(-1, 1))
    vc = np.array([0.35, 0.35, 0.35]) if word in ("white", "beige", "pink") else np.array([0.88, 0.88, 0.86])
    base = c * (1 + 0.05 * nz.lowpass(rng, g, 8.0))[..., None]
    return base * (1 - v[..., None]) + vc * v[..., None], word, frac(width, 0.08, 0.2)


def granite(rng, g):
    word = ["grey", "pink", "black", "beige"][rng.integers(4)]
    minerals = {"grey": [(0.75, 0.75, 0.73), (0.45, 0.45, 0.45), (0.12, 0.12, 0.12)],
                "pink": [(0.85, 0.60, 0.55), (0.88, 0.86, 0.84), (0.15, 0.13, 0.13)],
                "black": [(0.12, 0.12, 0.13), (0.25, 0.25, 0.26), (0.70, 0.70, 0.70)],
                "beige": [(0.82, 0.74, 0.60), (0.62, 0.55, 0.45), (0.20, 0.17, 0.14)]}[word]
    grain = rng.uniform(1.4, 2.8)
    n = nz.lowpass(rng, g, grain)
    q = np.quantile(n, [0.5, 0.85])
    idx = (n > q[0]).astype(int) + (n > q[1]).astype(int)
    order = rng.permutation(3) if word == "grey" else np.arange(3)
    pal = np.asarray(minerals) * rng.uniform(0.9, 1.1)
    img = pal[order][idx]
    img = img * (1 + 0.06 * nz.lowpass(rng, g, 0.8))[..., None]
    return img, word, frac(grain, 1.4, 2.8)


def fabric(rng, g):
    word, c = pick(rng, ["red", "blue", "green", "beige", "grey", "white", "black", "yellow", "purple"])
    period = rng.uniform(4.0, 8.0)
    k = max(2, 2 * int(round(g.S / period / 2)))        # even: over-under repeats
    p = g.S / k
    u, v = g.x / p, g.y / p
    i, j = np.floor(u).astype(int), np.floor(v).astype(int)
    twill = rng.random() < 0.4
    top_warp = ((i + j) % 4 < 2) if twill and k % 4 == 0 else ((i + j) % 2 == 0)
    warp_prof = np.sin(np.pi * (u - i)) ** 0.6
    weft_prof = np.sin(np.pi * (v - j)) ** 0.6
    prof = np.where(top_warp, warp_prof, weft_prof)
    c2 = c * rng.uniform(0.8, 1.0)
    col = np.where(top_warp[..., None], c[None, None, :], c2[None, None, :])
    fib = nz.aniso(rng, g, 4.0, 0.6, 0.0)
    fib2 = nz.aniso(rng, g, 4.0, 0.6, np.pi / 2)
    shade = (0.45 + 0.6 * prof) * (1 + 0.06 * np.where(top_warp, fib2, fib))
    return col * shade[..., None], word, frac(period, 4.0, 8.0)


def cells(rng, g):
    word = ["pink", "purple", "green", "blue"][rng.integers(4)]
    cyto, nucleus, membrane = {
        "pink": ((0.92, 0.62, 0.72), (0.38, 0.20, 0.50), (0.75, 0.40, 0.58)),
        "purple": ((0.70, 0.55, 0.80), (0.25, 0.12, 0.38), (0.50, 0.32, 0.62)),
        "green": ((0.55, 0.78, 0.38), (0.25, 0.40, 0.15), (0.85, 0.92, 0.70)),
        "blue": ((0.62, 0.72, 0.92), (0.15, 0.20, 0.50), (0.35, 0.45, 0.80)),
    }[word]
    size = rng.uniform(8.0, 14.0)
    n = max(2, int(round(g.S / size)))
    f1, f2, v = nz.worley(rng, g, n, n, jitter=0.8)
    mem = np.exp(-((f2 - f1) / 0.9) ** 2)
    nuc = nz.smoothstep(size * 0.22, size * 0.14, f1 + 0.6 * nz.lowpass(rng, g, 2.0)) * (v > 0.15)
    base = nz.ramp(0.5 + 0.3 * (v - 0.5) + 0.1 * nz.lowpass(rng, g, 2.0), np.asarray(cyto) * 0.85,
                   np.asarray(cyto) * 1.05)
    img = base * (1 - nuc[..., None]) + np.asarray(nucleus) * nuc[..., None]
    img = img * (1 - mem[..., None]) + np.asarray(membrane) * mem[..., None]
    return img, word, frac(size, 8.0, 14.0)


def moss(rng, g):
    word, c = pick(rng, ["green", "olive", "dark", "yellow"], {"green": (0.30, 0.52, 0.15),
                                                               "olive": (0.42, 0.45, 0.18),
                                                               "dark": (0.14, 0.26, 0.08),
                                                               "yellow": (0.58, 0.62, 0.20)})
    clump = rng.uniform(8.0, 16.0)
    n = max(2, int(round(g.S / 2.5)))
    f1, _, v = nz.worley(rng, g, n, n, jitter=1.0)
    dome = np.clip(1 - f1 / 2.0, 0, 1) * (0.5 + 0.5 * v)
    low = nz.lowpass(rng, g, clump)
    h = 0.8 * low + dome + 0.2 * nz.lowpass(rng, g, 0.6)
    shade = nz.relief(h, 0.2) * (0.55 + 0.35 * nz.smoothstep(-1.5, 1.5, low) + 0.3 * dome)
    img = nz.tint(shade, c) + 0.15 * (dome * (v > 0.7))[..., None] * np.array([0.6, 0.7, 0.1])
    return img, word, frac(clump, 8.0, 16.0)


def sand(rng, g):
    word, c = pick(rng, ["beige", "golden", "grey", "white", "orange"],
                   {"beige": (0.80, 0.70, 0.52), "golden": (0.82, 0.64, 0.36),
                    "grey": (0.60, 0.58, 0.55), "white": (0.90, 0.88, 0.82),
                    "orange": (0.78, 0.48, 0.28)})
    wl = rng.uniform(8.0, 16.0)
    k = max(1, int(round(g.S / wl)))
    kx, ky = (k, rng.integers(-1, 2)) if rng.random() < 0.5 else (rng.integers(-1, 2), k)
    phase = 2 * np.pi * (kx * g.x + ky * g.y) / g.S + 1.5 * nz.lowpass(rng, g, 10.0)
    ripple = np.sin(phase + 0.6 * np.sin(phase))         # asymmetric dune profile
    h = 2.0 * ripple + 0.5 * nz.lowpass(rng, g, 0.5)
    shade = nz.relief(h, 0.15) * (0.9 + 0.08 * ripple)
    grains = nz.lowpass(rng, g, 0.5)
    return nz.tint(shade * (1 + 0.06 * grains), c), word, frac(wl, 8.0, 16.0)


def rust(rng, g):
    word, c = pick(rng, ["orange", "brown", "red"], {"orange": (0.72, 0.36, 0.12),
                                                      "brown": (0.45, 0.24, 0.12),
                                                      "red": (0.58, 0.20, 0.10)})
    metal = np.array([0.55, 0.56, 0.58]) * rng.uniform(0.8, 1.1)
    patch = rng.uniform(5.0, 10.0)
    n = nz.fractal(rng, g, 1.3, 0.8) * 0.6 + nz.lowpass(rng, g, patch)
    cover = nz.smoothstep(rng.uniform(-0.8, -0.2), 0.4, n)
    pits = nz.smoothstep(1.3, 2.2, nz.lowpass(rng, g, 0.7))
    r = c * (0.75 + 0.35 * nz.unit(nz.fractal(rng, g, 1.0, 0.7)))[..., None]
    m = metal * (1 + 0.05 * nz.aniso(rng, g, 16.0, 0.8, 0.0))[..., None]
    img = m * (1 - cover[..., None]) + r * cover[..., None]
    return img * (1 - 0.5 * pits[..., None]), word, frac(patch, 5.0, 10.0)


# Class table: name -> (generator, caption nouns, skin?).
# "Skin" = human skin (pores, freckles): the skin LoRA's training subset.
# Elephant, reptile and snake skin are animal hides, not in the subset, so the
# LoRA's pull ("towards skin") is measured as moving to a *human* skin label.
CLASSES = {
    "reptile_scales": (reptile_scales, ["reptile scales", "lizard scales", "scaly reptile skin"], False),
    "snake_skin": (snake_skin, ["snake skin", "snakeskin", "python skin pattern"], False),
    "human_skin": (human_skin, ["human skin with pores", "skin pores", "skin texture with pores"], True),
    "freckled_skin": (freckled_skin, ["skin with freckles", "freckled human skin", "freckled skin"], True),
    "elephant_skin": (elephant_skin, ["wrinkled elephant skin", "elephant hide", "cracked elephant skin"], False),
    "leather": (leather, ["leather", "pebbled leather", "grainy leather"], False),
    "fur": (fur, ["fur", "animal fur", "furry pelt"], False),
    "tree_bark": (tree_bark, ["tree bark", "bark of a tree", "rough bark"], False),
    "marble": (marble, ["marble", "veined marble", "polished marble"], False),
    "granite": (granite, ["granite", "speckled granite stone", "granite stone"], False),
    "fabric": (fabric, ["woven fabric", "cloth weave", "fabric weave"], False),
    "cells": (cells, ["biological cells", "cells under a microscope", "cell tissue"], False),
    "moss": (moss, ["moss", "moss carpet", "mossy ground"], False),
    "sand": (sand, ["sand", "sand with ripples", "desert sand"], False),
    "rust": (rust, ["rust", "rusty metal", "corroded metal"], False),
}
NAMES = list(CLASSES)
SKIN_CLASSES = [k for k, v in CLASSES.items() if v[2]]
