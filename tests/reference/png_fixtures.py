#!/usr/bin/python3
"""PNG fixtures written by PIL (the writer A1111 uses), for skingen's PNG reader.

Each image is 7x5 with pixels from a formula; `png_fixtures.json` lists the
RGB8 pixels skingen's reader must return (alpha dropped, gray replicated,
palette looked up, 16-bit samples reduced to their high byte as stb_image
does in stbi__convert_16_to_8) and the text chunks with their decoded text.
It also holds the float -> 8-bit golden for diffusers' conversion:
  torch: (x / 2 + 0.5).clamp(0, 1)   (VaeImageProcessor.denormalize)
  numpy: (images * 255).round().astype("uint8")   (numpy_to_pil)
for float32 inputs around every rounding boundary.

Run:  /usr/bin/python3 tests/reference/png_fixtures.py
"""
import json
import os

import numpy as np
import torch
from PIL import Image, PngImagePlugin

HERE = os.path.dirname(__file__)
DATA = os.path.join(HERE, "..", "data", "image")

# A real-looking A1111 infotext (format of A1111 v1.10 create_infotext).
PARAMETERS = (
    "stone wall texture, seamless, (moss:1.2), <lora:skin_4-000015:0.8>\n"
    "Negative prompt: blurry, text, watermark\n"
    "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234567890, Size: 512x512, "
    "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Lora hashes: \"skin_4-000015: 0123456789ab\", "
    "Version: v1.10.1"
)
ZTXT = "Comment with Latin-1: café, naïve"          # PIL writes zTXt (Latin-1) for add_text(zip=True)
ITXT = "日本語のテクスチャ, 石の壁"                       # not Latin-1: PIL writes a compressed iTXt


def rgb_formula():
    img = np.zeros((5, 7, 3), np.uint8)
    for y in range(5):
        for x in range(7):
            img[y, x] = [(x * 37 + y * 11) % 256, (x * 5 + y * 73) % 256, (x * y * 13 + 7) % 256]
    return img


def fixtures():
    rgb = rgb_formula()
    out = []

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", PARAMETERS)
    info.add_text("ztext-key", ZTXT, zip=True)
    info.add_text("itxt-key", ITXT, zip=True)
    out.append(("pil_rgb8_texts.png", Image.fromarray(rgb, "RGB"), info, rgb,
                [["parameters", PARAMETERS], ["ztext-key", ZTXT], ["itxt-key", ITXT]]))

    alpha = (np.arange(35).reshape(5, 7) * 7).astype(np.uint8)
    rgba = np.dstack([rgb, alpha])
    out.append(("pil_rgba8.png", Image.fromarray(rgba, "RGBA"), None, rgb, []))

    gray = rgb[..., 0]
    out.append(("pil_gray8.png", Image.fromarray(gray, "L"), None, np.dstack([gray] * 3), []))

    g16 = np.array([[x * 9000 + y * 1000 + 77 for x in range(7)] for y in range(5)], np.uint16)
    hi = (g16 >> 8).astype(np.uint8)
    out.append(("pil_gray16.png", Image.fromarray(g16, "I;16"), None, np.dstack([hi] * 3), []))

    pal = Image.fromarray(rgb, "RGB").quantize(colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    pal_rgb = np.array(pal.convert("RGB"))
    out.append(("pil_palette.png", pal, None, pal_rgb, []))
    return out


def u8_golden():
    xs = []
    for k in range(256):
        # x such that (x/2+0.5)*255 lands near k + 0.5, the rounding boundary, and its fp32 neighbours.
        c = np.float32(2.0 * (k + 0.5) / 255.0 - 1.0)
        xs += [c, np.nextafter(c, np.float32(-2)), np.nextafter(c, np.float32(2)), np.float32(2.0 * k / 255.0 - 1.0)]
    xs += [np.float32(v) for v in (-1.0, 1.0, 0.0, -3.5, 7.0, 1e-8, -1e-8, 0.99999994, -0.99999994)]
    x = torch.tensor(np.array(xs, np.float32))
    y = (x / 2 + 0.5).clamp(0, 1).numpy()
    out = (y * 255).round().astype("uint8")
    return [[int(np.float32(v).view(np.uint32)), int(o)] for v, o in zip(xs, out)]


def main():
    os.makedirs(DATA, exist_ok=True)
    meta = []
    for name, img, info, expect, texts in fixtures():
        img.save(os.path.join(DATA, name), pnginfo=info)
        meta.append({"file": name, "width": 7, "height": 5,
                     "rgb": expect.reshape(-1).tolist(), "texts": texts})
    with open(os.path.join(DATA, "png_fixtures.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "tests/reference/png_fixtures.py", "fixtures": meta,
                   "u8_golden": u8_golden()}, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
