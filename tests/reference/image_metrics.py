#!/usr/bin/python3
"""Reference values for skingen's image comparison (engine/image_compare.*).

Written from the definitions, not from skingen's code:
  PSNR = 10 log10(255^2 / MSE), MSE over every channel value (inf when 0).
  SSIM: Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 13(4) 2004, eq. (13), on
  BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B (float64, unrounded), with the
  11x11 Gaussian window of sigma 1.5 normalised in 2-D (MATLAB's
  fspecial('gaussian', 11, 1.5) in the authors' ssim_index.m), K1 = 0.01,
  K2 = 0.03, L = 255, averaged over every window fully inside the image
  (filter2(..., 'valid'), mean2). The window sums are taken directly in 2-D
  here (skingen filters separably), so the two share no code path.

Run:  /usr/bin/python3 tests/reference/image_metrics.py
Writes tests/data/image/compare_cases.json (small synthetic image pairs, their
pixels, and the expected metrics).
"""
import json
import math
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "image", "compare_cases.json")


def window():
    ax = np.arange(11, dtype=np.float64) - 5
    g = np.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2 * 1.5 ** 2))
    return g / g.sum()


def luma(img):
    img = img.astype(np.float64)
    return 0.299 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2]


def ssim(a, b):
    x, y = luma(a), luma(b)
    h, w = x.shape
    if h < 11 or w < 11:
        return None
    win = window()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for i in range(h - 10):
        for j in range(w - 10):
            px, py = x[i:i + 11, j:j + 11], y[i:i + 11, j:j + 11]
            mx, my = (win * px).sum(), (win * py).sum()
            vx = (win * (px - mx) ** 2).sum()
            vy = (win * (py - my) ** 2).sum()
            cxy = (win * (px - mx) * (py - my)).sum()
            vals.append((2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2)))
    return float(np.mean(vals))


def metrics(a, b):
    d = np.abs(a.astype(np.int64) - b.astype(np.int64))
    mse = float((d.astype(np.float64) ** 2).mean())
    return {
        "max_abs_diff": int(d.max()),
        "differing_pixels": int((d.max(axis=2) > 0).sum()),
        "mse": mse,
        "psnr": None if mse == 0 else 10 * math.log10(255.0 ** 2 / mse),  # None = inf
        "ssim": ssim(a, b),
    }


def cases():
    rng = np.random.RandomState(2004)
    u8 = lambda v: np.clip(np.rint(v), 0, 255).astype(np.uint8)
    out = []

    a = rng.randint(0, 256, (13, 16, 3)).astype(np.uint8)
    out.append(("identical_random_16x13", a, a.copy()))

    a = rng.randint(0, 256, (20, 24, 3)).astype(np.uint8)
    out.append(("random_plus_noise_24x20", a, u8(a + rng.normal(0, 5, a.shape))))

    yy, xx = np.mgrid[0:14, 0:18]
    g = np.stack([xx * 10, yy * 12, (xx + yy) * 5], axis=2).astype(np.uint8)  # max 200: +10 never clips
    out.append(("gradient_offset_10_18x14", g, g + 10))  # MSE = 100, PSNR = 28.1308 dB by hand

    out.append(("constant_100_vs_150_12x12", np.full((12, 12, 3), 100, np.uint8), np.full((12, 12, 3), 150, np.uint8)))

    yy, xx = np.mgrid[0:22, 0:22]
    chk = (((xx // 3 + yy // 3) % 2) * 200 + 20).astype(np.float64)
    chk3 = np.repeat(chk[..., None], 3, axis=2)
    blur = chk3.copy()
    blur[1:-1, 1:-1] = sum(chk3[1 + dy:21 + dy, 1 + dx:21 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9
    out.append(("checker_vs_box_blur_22x22", u8(chk3), u8(blur)))

    a = rng.randint(0, 256, (16, 16, 3)).astype(np.uint8)
    b = a.copy()
    b[7, 9, 1] ^= 0x40
    out.append(("one_pixel_16x16", a, b))

    a = rng.randint(0, 256, (11, 11, 3)).astype(np.uint8)
    out.append(("inverted_11x11", a, (255 - a).astype(np.uint8)))

    a = rng.randint(30, 220, (30, 12, 3)).astype(np.uint8)
    b = u8(a.astype(np.float64) * 0.9 + 12)
    out.append(("contrast_change_12x30", a, b))

    a = rng.randint(0, 256, (8, 9, 3)).astype(np.uint8)
    out.append(("too_small_for_ssim_9x8", a, u8(a + 3.0)))
    return out


def main():
    result = []
    for name, a, b in cases():
        result.append({
            "name": name, "width": int(a.shape[1]), "height": int(a.shape[0]),
            "a": a.reshape(-1).tolist(), "b": b.reshape(-1).tolist(),
            "expect": metrics(a, b),
        })
    with open(OUT, "w") as f:
        json.dump({"generator": "tests/reference/image_metrics.py", "cases": result}, f, separators=(",", ":"))
        f.write("\n")
    for r in result:
        print(r["name"], r["expect"])


if __name__ == "__main__":
    main()
