#!/usr/bin/python3
"""Whole-pipeline goldens for the `skingen generate` features that go beyond
txt2img from stored embeddings (tests/e2e/test_generate_features.cpp,
tests/models/test_prompt_encoder.cpp, `skingen regress` via manifest.json):

  prompts through the text encoder with A1111 emphasis `(word:1.3)` / `[word]`,
  BREAK and prompts longer than 75 tokens; --clip-skip; img2img with
  --init-image / --strength (σ schedules and timestep spacings); SD 2.x
  (OpenCLIP text encoder, v-prediction, linear proj_in / proj_out); --vae;
  --rng philox; --tile x and --tile y.

    /usr/bin/python3 tests/reference/make_feature_goldens.py [--out tests/data/pipeline_features] [--no-fp32]

Writes under tests/data/pipeline_features/:
  sd1.safetensors         tiny SD 1.x checkpoint, LDM single file, F16: UNet (2 levels of 32
                          channels, mid-block attention, 8 heads, conv proj, context 128), the
                          whole 2x VAE, CLIP-L-style text encoder (width 128, 3 layers, 2 heads,
                          quick_gelu) under cond_stage_model.transformer.text_model.*
  sd2.safetensors         tiny SD 2.x checkpoint: UNet with linear proj_in / proj_out,
                          attention on level 0 and the mid block, head width 16, context 128,
                          trained (here: used) as v-prediction; the 2x VAE; OpenCLIP-style text
                          encoder (cond_stage_model.model.*, fused in_proj, exact GELU)
  vae_alt.safetensors     a standalone LDM VAE (encoder.*, decoder.*, no prefix) for --vae
  tokenizer/              vocab.json + merges.txt: a copy of models/demo/tokenizer (791 tokens),
                          found next to the checkpoints
  init_32x32.png          the img2img input
  conditioning.safetensors  per prompt of cases.json "conditioning": `NAME.cond` [1, 77·n, 128]
                          (A1111 conditioning), `NAME.ids` [n, 77]
  cases/NAME.{safetensors,png}  the final latent (--save-latent) and the image of each case
  cases.json              arguments ({dir} = this folder), tolerances, the float32 PyTorch
                          deviation, and per case `if_ignored`: how far the golden latent lies
                          from the same run with the feature left out (what a test can catch)
  manifest.json           the same cases for `skingen regress`

Deterministic: regenerating into an empty folder reproduces the files byte for byte.
Reference: float64 UNet / VAE / text encoder on the stored F16 weights, float32 sampler
arithmetic as upstream (sampling_upstream.py), see sdref/pipeline_features.py for the
upstream conventions each feature follows.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from sdref import pipeline as P  # noqa: E402
from sdref import pipeline_features as PF  # noqa: E402
from sdref import safetensors_io as st  # noqa: E402
from sdref.clip_text import CLIPTextConfig, CLIPTextModel, openclip_state_dict  # noqa: E402
from sdref.golden_common import rel_l2, write_json  # noqa: E402
from sdref.init import load_into, random_weights  # noqa: E402
from sdref.unet import UNetConfig  # noqa: E402
from sdref.unet_names import LDM_PREFIX  # noqa: E402
from sdref.vae import AutoencoderKL, VAEConfig  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SEED = 7301
WEIGHT_DTYPE = "F16"
CLIP_PREFIX = "cond_stage_model.transformer."
OPENCLIP_PREFIX = "cond_stage_model.model."
VAE_PREFIX = "first_stage_model."

# Text width 128 = two 64-wide heads, the head width of CLIP ViT-L/14 (768 / 12)
# and OpenCLIP ViT-H/14 (1024 / 16), the rule skingen applies to unknown widths.
# Vocabulary: the demo tokenizer's 791 tokens (BOS 789, EOS 790).
TEXT_L = CLIPTextConfig(vocab_size=791, hidden_size=128, num_hidden_layers=3, num_attention_heads=2,
                        intermediate_size=256, hidden_act="quick_gelu")
TEXT_H = CLIPTextConfig(vocab_size=791, hidden_size=128, num_hidden_layers=3, num_attention_heads=2,
                        intermediate_size=256, hidden_act="gelu")
SD1_UNET = UNetConfig(model_channels=32, channel_mult=(1, 1), num_res_blocks=1, attention_levels=(),
                      num_heads=8, head_dim=None, transformer_depth=1, context_dim=128,
                      use_linear_in_transformer=False)
# SD 2.x: linear projections, fixed head width (num_head_channels). Real SD 2.x
# heads are 64 wide; 16 keeps the model tiny, so the cases give
# --unet-config '{"head_dim": 16}' (heads 2 at level 0, 4 in the 64-channel
# mid block), which every head-count rule then leaves alone.
SD2_UNET = UNetConfig(model_channels=32, channel_mult=(1, 2), num_res_blocks=1, attention_levels=(0,),
                      num_heads=None, head_dim=16, transformer_depth=1, context_dim=128,
                      use_linear_in_transformer=True)
SD2_ARGS = ["--prediction", "v", "--unet-config", '{"head_dim": 16}']
VAE = VAEConfig(ch=32, ch_mult=(1, 1), num_res_blocks=1)
DOWNSCALE = 2 ** (len(VAE.ch_mult) - 1)
# About 10x the largest error measured (skingen, AVX-512, and this reference in float32):
# latents sd1 2.3e-6 / 1.8e-6, sd2 7.3e-6 / 7.1e-6 (v-prediction latents are small and the
# text conditioning's fp32 rounding reaches them through every cross-attention);
# conditioning 4.4e-7 / 6.4e-7.
TOLERANCES = {"latent_rel_l2": {"sd1": 2.5e-5, "sd2": 7.5e-5}, "png_max_abs_diff": 1, "conditioning_rel_l2": 5e-6}

# ---------------------------------------------------------------- prompts

LONG_PROMPT = ("(green reptile scales:1.3), [blurry], seamless texture of speckled snake skin, polished, "
               "wet, macro photo, highly detailed dragon hide with iridescent overlapping plates, "
               "(deep cracks:0.7), rusty copper patina, mossy granite, woven carpet fibres, furry pelt, "
               "desert sand dunes, scaly leather, elephant wrinkles BREAK ((dark background)), [[noise]]")
SHORT_PROMPT = "(rusty metal plate:1.2), [scratches]"
SD2_PROMPT = ("(speckled snake skin:1.4), seamless, [wet] BREAK polished granite, (moss:0.6), "
              "furry carpet, desert sand")
NEGATIVE = "blurry, (text:1.1)"

# name -> (model, prompt, clip skip as given on the command line; 0 = the model's default)
CONDITIONING = {
    "sd1_long": ("sd1", LONG_PROMPT, 0),
    "sd1_long_clip_skip_2": ("sd1", LONG_PROMPT, 2),
    "sd1_short": ("sd1", SHORT_PROMPT, 0),
    "sd1_plain": ("sd1", "rusty metal plate", 0),
    "sd1_empty": ("sd1", "", 0),
    "sd1_negative": ("sd1", NEGATIVE, 0),
    "sd2_prompt": ("sd2", SD2_PROMPT, 0),
    "sd2_empty": ("sd2", "", 0),
}


def case_list():
    def c(name, feature, model, prompt, sampler, schedule, steps, size=(32, 32), negative=NEGATIVE, cfg=6.0,
          **kw):
        return dict(name=name, feature=feature, model=model, prompt=prompt, negative=negative, sampler=sampler,
                    schedule=schedule, steps=steps, size=size, cfg=cfg, clip_skip=kw.pop("clip_skip", 0),
                    rng=kw.pop("rng", "cpu"), tile=kw.pop("tile", "none"), vae=kw.pop("vae", None),
                    strength=kw.pop("strength", None), **kw)
    out = [
        # Prompt: 3 chunks (BREAK, > 75 tokens) against a 1-chunk negative: separate UNet passes.
        c("sd1-prompt-euler_a-normal", "prompt", "sd1", LONG_PROMPT, "euler_a", "normal", 6),
        # Short prompt and negative: one doubled batch; a spacing schedule.
        c("sd1-prompt-short-dpmpp_2m-leading", "prompt", "sd1", SHORT_PROMPT, "dpmpp_2m", "leading", 5),
        c("sd1-clip_skip_2-heun-karras", "clip_skip", "sd1", LONG_PROMPT, "heun", "karras", 4, clip_skip=2),
        c("sd1-philox-euler_a-karras", "rng_philox", "sd1", SHORT_PROMPT, "euler_a", "karras", 6, rng="philox"),
        c("sd1-tile_x-euler-karras", "tile", "sd1", SHORT_PROMPT, "euler", "karras", 5, size=(48, 32), tile="x"),
        c("sd1-tile_y-dpmpp_2m-normal", "tile", "sd1", SHORT_PROMPT, "dpmpp_2m", "normal", 5, size=(32, 48),
          tile="y"),
        c("sd1-vae-euler-normal", "vae", "sd1", SHORT_PROMPT, "euler", "normal", 5, vae="vae_alt"),
        c("sd1-vae-img2img-dpmpp_2m-karras", "vae", "sd1", SHORT_PROMPT, "dpmpp_2m", "karras", 6, vae="vae_alt",
          strength=0.6),
        c("sd1-img2img-euler-normal", "img2img", "sd1", SHORT_PROMPT, "euler", "normal", 6, strength=0.6),
        c("sd1-img2img-euler_a-karras", "img2img", "sd1", SHORT_PROMPT, "euler_a", "karras", 8, strength=0.45),
        c("sd1-img2img-ddim-leading", "img2img", "sd1", SHORT_PROMPT, "ddim", "leading", 6, strength=0.5),
        c("sd1-img2img-dpmpp_2m-trailing", "img2img", "sd1", SHORT_PROMPT, "dpmpp_2m", "trailing", 6,
          strength=0.7),
        c("sd2-vpred-euler-normal", "sd2", "sd2", SD2_PROMPT, "euler", "normal", 5, negative=""),
        c("sd2-vpred-dpmpp_2m-karras", "sd2", "sd2", SD2_PROMPT, "dpmpp_2m", "karras", 6, size=(48, 32),
          negative=""),
        c("sd2-vpred-ddim-trailing", "sd2", "sd2", SD2_PROMPT, "ddim", "trailing", 5, negative=""),
        c("sd2-vpred-img2img-euler_a-normal", "sd2", "sd2", SHORT_PROMPT, "euler_a", "normal", 6, strength=0.6),
    ]
    for i, x in enumerate(out):
        x["seed"] = 500 + 7 * i
    return out


def skingen_args(c):
    w, h = c["size"]
    a = ["--model", f"{{dir}}/{c['model']}.safetensors", "--prompt", c["prompt"], "--negative", c["negative"],
         "--seed", str(c["seed"]), "--steps", str(c["steps"]), "--cfg", f"{c['cfg']:g}", "--sampler", c["sampler"],
         "--schedule", c["schedule"], "--size", f"{w}x{h}"]
    if c["tile"] != "none":
        a += ["--tile", c["tile"]]
    if c["clip_skip"]:
        a += ["--clip-skip", str(c["clip_skip"])]
    if c["rng"] != "cpu":
        a += ["--rng", c["rng"]]
    if c["vae"]:
        a += ["--vae", f"{{dir}}/{c['vae']}.safetensors"]
    if c["strength"] is not None:
        a += ["--init-image", f"{{dir}}/init_{w}x{h}.png", "--strength", f"{c['strength']:g}"]
    if c["model"] == "sd2":
        a += SD2_ARGS
    return a


# Per feature: the variants of a case that leave the feature out (see if_ignored in cases.json).
def ignored_variants(c):
    v = {}
    f = c["feature"]
    if f in ("prompt", "sd2", "clip_skip"):
        v["emphasis ignored (every weight 1)"] = {"emphasis": False}
    if f == "prompt" and c["prompt"] == LONG_PROMPT:
        v["only the first 75-token chunk"] = {"first_chunk_only": True}
    if f == "clip_skip":
        v["clip skip 1"] = {"clip_skip": 1}
    if f == "rng_philox":
        v["--rng cpu"] = {"rng": "cpu"}
    if f == "tile":
        v["no tiling"] = {"tile": "none"}
        v["the other axis"] = {"tile": "y" if c["tile"] == "x" else "x"}
        v["both axes"] = {"tile": "xy"}
    if f == "vae":
        v["the checkpoint's VAE"] = {"vae": None}
    if c["strength"] is not None:
        v["txt2img (init image ignored)"] = {"strength": None}
        v["img2img starting one step later"] = {"start_shift": 1}
    if c["model"] == "sd2":
        v["epsilon instead of v-prediction"] = {"v_prediction": False}
        v["last layer instead of the penultimate"] = {"clip_skip": 1}
        v["padding with EOS instead of 0"] = {"pad_eos": True}
    return v


# ---------------------------------------------------------------- weights and files

def rounded(d):
    return {k: st.round_to(v, WEIGHT_DTYPE) for k, v in d.items()}


def unet_weights(cfg, seed):
    return rounded(random_weights([(k, v.shape) for k, v in P.PipelineUNet(cfg).state_dict().items()], seed))


def vae_weights(seed, encoder_gain):
    """The whole AutoencoderKL. decoder.conv_out × 0.5 keeps most decoded values
    inside [-1, 1]; encoder.conv_out × encoder_gain gives latents of about unit
    variance after × 0.18215, as SD's VAE does (else the noise would swamp the
    init image)."""
    w = random_weights([(k, v.shape) for k, v in AutoencoderKL(VAE).state_dict().items()], seed)
    w["decoder.conv_out.weight"] = w["decoder.conv_out.weight"] * 0.5
    w["encoder.conv_out.weight"] = w["encoder.conv_out.weight"] * encoder_gain
    w["encoder.conv_out.bias"] = w["encoder.conv_out.bias"] * encoder_gain
    return rounded(w)


def text_weights(cfg, seed):
    names = [(k, v.shape) for k, v in CLIPTextModel(cfg).state_dict().items()]
    return rounded(random_weights(names, seed, embedding_std=1.0))


def write_sd1(path, unet_w, vae_w, te_w):
    t = {LDM_PREFIX + k: v for k, v in unet_w.items()}
    t.update({VAE_PREFIX + k: v for k, v in vae_w.items()})
    t.update({CLIP_PREFIX + k: v for k, v in te_w.items()})
    t[CLIP_PREFIX + "text_model.embeddings.position_ids"] = torch.arange(77)[None, :]  # real SD 1.x files carry it
    st.write(path, dict(sorted(t.items())), default_dtype=WEIGHT_DTYPE)


def write_sd2(path, unet_w, vae_w, te_w, seed):
    t = {LDM_PREFIX + k: v for k, v in unet_w.items()}
    t.update({VAE_PREFIX + k: v for k, v in vae_w.items()})
    oc = openclip_state_dict(te_w)
    g = torch.Generator().manual_seed(seed)
    width = TEXT_H.hidden_size
    oc["text_projection"] = st.round_to(torch.randn(width, width, generator=g) / width ** 0.5, WEIGHT_DTYPE)
    oc["logit_scale"] = st.round_to(torch.tensor(4.6052), WEIGHT_DTYPE)  # unused by SD, present in real files
    t.update({OPENCLIP_PREFIX + k: v for k, v in oc.items()})
    st.write(path, dict(sorted(t.items())), default_dtype=WEIGHT_DTYPE)


def init_image(w, h):
    """A smooth colour field with stripes and a bright square: structure the
    VAE encoder sees at several scales."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(2 * np.pi * x / w) * np.cos(2 * np.pi * y / (h / 2))
    g = 40 + 170 * x / (w - 1)
    b = 230 - 150 * y / (h - 1) + 20 * ((x + y) % 6 < 3)
    img = np.stack([r, g, b], axis=-1)
    img[h // 4:h // 2, w // 4:w // 2] = [250, 240, 200]
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def save_png(path, u8):
    tmp = path + ".tmp.png"
    Image.fromarray(u8, "RGB").save(tmp)
    os.replace(tmp, path)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- the reference runs

class Models:
    """Builds (and caches) the reference modules per dtype."""

    def __init__(self, weights):
        self.w = weights
        self.cache = {}

    def get(self, kind, name, dtype):
        key = (kind, name, dtype)
        if key not in self.cache:
            w = {k: v.to(dtype) for k, v in self.w[name].items()}
            if kind == "unet":
                m = P.PipelineUNet(SD1_UNET if name == "sd1_unet" else SD2_UNET).to(dtype)
            elif kind == "vae":
                m = AutoencoderKL(VAE).to(dtype)
            else:
                m = CLIPTextModel(TEXT_L if name == "sd1_te" else TEXT_H).to(dtype)
            load_into(m, w)
            self.cache[key] = m.eval()
        return self.cache[key]


def conditioning(models, tok, model, prompt, clip_skip, dtype, emphasis=True, first_chunk_only=False,
                 pad_eos=False):
    sd2 = model == "sd2"
    te = models.get("te", "sd2_te" if sd2 else "sd1_te", dtype)
    skip = clip_skip or (2 if sd2 else 1)
    chunks = PF.prompt_chunks(tok, prompt, pad_id=0 if sd2 and not pad_eos else None)
    if first_chunk_only:
        chunks = chunks[:1]
    return PF.encode_chunks(te, chunks, skip, emphasis).float(), chunks


def run_case(c, models, tok, images, dtype, **variant):
    """(final latent float32 [1, 4, h, w], uint8 image) of case c (with a variant's changes)."""
    c = dict(c, **{k: v for k, v in variant.items() if k in ("clip_skip", "rng", "tile", "vae", "strength")})
    text = {k: variant[k] for k in ("emphasis", "first_chunk_only", "pad_eos") if k in variant}
    cond, _ = conditioning(models, tok, c["model"], c["prompt"], c["clip_skip"], dtype, **text)
    uncond = None
    if c["cfg"] != 1.0:
        uncond, _ = conditioning(models, tok, c["model"], c["negative"], c["clip_skip"], dtype,
                                 **{k: v for k, v in text.items() if k == "pad_eos"})
    unet = models.get("unet", f"{c['model']}_unet", dtype)
    vae = models.get("vae", c["vae"] or f"{c['model']}_vae", dtype)
    PF.set_axis_tiling(unet, c["tile"])
    PF.set_axis_tiling(vae, c["tile"])
    w, h = c["size"]
    shape = (4, h // DOWNSCALE, w // DOWNSCALE)
    draw = PF.noise_stream(c["rng"], c["seed"], shape)
    noise = draw()
    x0 = None
    if c["strength"] is not None:
        x0 = PF.encode_mean(vae, PF.image_to_unit(images[(w, h)]), dtype)
    v_pred = variant.get("v_prediction", c["model"] == "sd2")
    eps = PF.guided_eps(unet, cond, uncond, c["cfg"], dtype)
    lat = PF.sample(eps, c["sampler"], c["schedule"], c["steps"], v_pred, noise, draw, x0, c["strength"],
                    variant.get("start_shift", 0))
    return lat, PF.decode_u8(vae, lat, dtype)


def check_axis_tiling():
    """set_axis_tiling("xy") is PyTorch's circular padding mode, and "none" is zero padding."""
    g = torch.Generator().manual_seed(1)
    conv = torch.nn.Conv2d(3, 5, 3, padding=1).double()
    x = torch.randn(1, 3, 6, 7, generator=g, dtype=torch.float64)
    with torch.no_grad():
        want_zero = conv(x)
        conv.padding_mode = "circular"
        want_circ = conv(x)
        conv.padding_mode = "zeros"
        PF.set_axis_tiling(conv, "xy")
        assert torch.allclose(conv(x), want_circ, rtol=0, atol=1e-13)
        PF.set_axis_tiling(conv, "none")
        assert torch.allclose(conv(x), want_zero, rtol=0, atol=1e-13)
        PF.set_axis_tiling(conv, "x")  # wraps columns only: the first column sees the last, the top row sees zeros
        y = conv(x)
        assert torch.allclose(y[..., 1:-1, :], want_circ[..., 1:-1, :], rtol=0, atol=1e-13)
        assert not torch.allclose(y[..., 0, :], want_circ[..., 0, :])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "pipeline_features"))
    ap.add_argument("--no-fp32", action="store_true", help="skip the informative float32 PyTorch runs")
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = args.out
    os.makedirs(os.path.join(out, "cases"), exist_ok=True)
    check_axis_tiling()

    tok_dir = os.path.join(out, "tokenizer")
    os.makedirs(tok_dir, exist_ok=True)
    for f in ("vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(ROOT, "models", "demo", "tokenizer", f), os.path.join(tok_dir, f))
    tok = PF.FolderTokenizer(tok_dir)
    assert (tok.ids["<|startoftext|>"], tok.ids["<|endoftext|>"]) == (789, 790)

    weights = {
        "sd1_unet": unet_weights(SD1_UNET, SEED),
        "sd1_vae": vae_weights(SEED + 1, 4.0),
        "sd1_te": text_weights(TEXT_L, SEED + 2),
        "sd2_unet": unet_weights(SD2_UNET, SEED + 3),
        "sd2_vae": vae_weights(SEED + 4, 4.0),
        "sd2_te": text_weights(TEXT_H, SEED + 5),
        "vae_alt": vae_weights(SEED + 6, 4.0),
    }
    write_sd1(os.path.join(out, "sd1.safetensors"), weights["sd1_unet"], weights["sd1_vae"], weights["sd1_te"])
    write_sd2(os.path.join(out, "sd2.safetensors"), weights["sd2_unet"], weights["sd2_vae"], weights["sd2_te"],
              SEED + 7)
    st.write(os.path.join(out, "vae_alt.safetensors"), dict(sorted(weights["vae_alt"].items())),
             default_dtype=WEIGHT_DTYPE)
    models = Models(weights)

    images = {(32, 32): init_image(32, 32)}
    save_png(os.path.join(out, "init_32x32.png"), images[(32, 32)])
    for key in ("sd1_vae", "vae_alt"):
        x0 = PF.encode_mean(models.get("vae", key, torch.float64), PF.image_to_unit(images[(32, 32)]),
                            torch.float64)
        print(f"{key}: init latent std {float(x0.std()):.3f}")

    # Prompt → conditioning goldens.
    cond_tensors, cond_list = {}, []
    for name, (model, prompt, skip) in CONDITIONING.items():
        z, chunks = conditioning(models, tok, model, prompt, skip, torch.float64)
        cond_tensors[name + ".cond"] = z
        cond_tensors[name + ".ids"] = torch.tensor([ch["ids"] for ch in chunks], dtype=torch.int64)
        entry = {"name": name, "model": f"{model}.safetensors", "prompt": prompt, "clip_skip": skip,
                 "chunks": len(chunks),
                 "weights": sorted({w for ch in chunks for w in ch["weights"]})}
        plain, _ = conditioning(models, tok, model, prompt, skip, torch.float64, emphasis=False)
        entry["if_ignored"] = {"emphasis ignored (every weight 1)": rel_l2(plain, z)}
        if not args.no_fp32:
            z32, _ = conditioning(models, tok, model, prompt, skip, torch.float32)
            entry["fp32_pytorch_rel_l2"] = rel_l2(z32, z)
        cond_list.append(entry)
        print(f"conditioning {name}: {len(chunks)} chunk(s), {entry}", flush=True)
    st.write(os.path.join(out, "conditioning.safetensors"), cond_tensors, dtypes={
        k: "I32" for k in cond_tensors if k.endswith(".ids")})

    listed = []
    for c in case_list():
        t0 = time.time()
        lat, u8 = run_case(c, models, tok, images, torch.float64)
        entry = {"name": c["name"], "feature": c["feature"], "args": skingen_args(c),
                 "latent": f"cases/{c['name']}.safetensors", "png": f"cases/{c['name']}.png",
                 "latent_rel_l2_tolerance": TOLERANCES["latent_rel_l2"][c["model"]]}
        st.write(os.path.join(out, entry["latent"]), {"latent": lat})
        save_png(os.path.join(out, entry["png"]), u8)
        entry["latent_rms"] = float(lat.double().pow(2).mean().sqrt())
        entry["saturated_fraction"] = float(((u8 == 0) | (u8 == 255)).mean())
        entry["if_ignored"] = {}
        for label, change in ignored_variants(c).items():
            lat_v, u8_v = run_case(c, models, tok, images, torch.float64, **change)
            entry["if_ignored"][label] = {
                "latent_rel_l2": rel_l2(lat_v, lat),
                "png_max_abs_diff": int(np.abs(u8_v.astype(np.int32) - u8.astype(np.int32)).max())}
        if not args.no_fp32:
            l32, p32 = run_case(c, models, tok, images, torch.float32)
            d = np.abs(p32.astype(np.int32) - u8.astype(np.int32))
            entry["fp32_pytorch"] = {"latent_rel_l2": rel_l2(l32, lat), "png_max_abs_diff": int(d.max()),
                                     "png_differing_values": int((d > 0).sum())}
        if c["vae"]:
            entry["vae_sha256"] = sha256(os.path.join(out, c["vae"] + ".safetensors"))
        listed.append(entry)
        print(f"{c['name']}: latent rms {entry['latent_rms']:.2f}, saturated {entry['saturated_fraction']:.2f}, "
              f"{entry.get('fp32_pytorch')}, if ignored {entry['if_ignored']}, {time.time() - t0:.1f} s", flush=True)

    write_json(os.path.join(out, "manifest.json"), {"cases": [
        {"name": e["name"], "args": [a.replace("{dir}/", "") for a in e["args"]], "reference": e["png"],
         "max_diff": TOLERANCES["png_max_abs_diff"]} for e in listed]})
    write_json(os.path.join(out, "cases.json"), {
        "about": __doc__.strip().splitlines()[0],
        "regenerate": "/usr/bin/python3 tests/reference/make_feature_goldens.py",
        "run": ("skingen generate ARGS --out OUT.png --save-latent OUT.safetensors, with {dir} replaced by this "
                "folder; compare the saved latent with `latent` and the PNG's pixels with `png`"),
        "tolerances": TOLERANCES,
        "tolerance_notes": {
            "latent_rel_l2": ("||latent - golden||_2 / ||golden||_2 over the final latent, per model (each case's "
                              "latent_rel_l2_tolerance); about 10x the largest error measured: sd1 2.3e-6 (skingen) "
                              "and 1.8e-6 (this reference in float32), sd2 7.3e-6 and 7.1e-6"),
            "png_max_abs_diff": "largest |a - b| over all 8-bit values (float64 golden vs an fp32 engine: a value "
                                "next to a rounding boundary may land one step away)",
            "conditioning_rel_l2": ("relative L2 of the [1, 77n, 128] prompt conditioning; about 10x the largest "
                                    "error measured: 4.4e-7 (skingen), 6.4e-7 (this reference in float32)"),
        },
        "models": {
            "sd1": {"unet": SD1_UNET.to_json(), "text_encoder": TEXT_L.to_json(), "vae": VAE.to_json(),
                    "layout": "LDM single file: model.diffusion_model.*, first_stage_model.*, "
                              "cond_stage_model.transformer.text_model.* (+ position_ids I64)",
                    "prediction": "epsilon"},
            "sd2": {"unet": SD2_UNET.to_json(), "text_encoder": TEXT_H.to_json(), "vae": VAE.to_json(),
                    "layout": "LDM single file: model.diffusion_model.*, first_stage_model.*, cond_stage_model.model.* "
                              "(OpenCLIP: fused in_proj, text_projection and logit_scale unused)",
                    "prediction": "v_prediction (--prediction v)", "heads": "head width 16 (--unet-config)",
                    "text": "penultimate layer then ln_final; pad id 0"},
            "vae_alt": "standalone LDM VAE (encoder.*, decoder.*, quant_conv, post_quant_conv), same architecture",
            "weight_dtype": WEIGHT_DTYPE, "seed": SEED,
            "tokenizer": "tokenizer/ = models/demo/tokenizer (BOS 789, EOS 790)",
        },
        "reference": ("UNet, VAE and text encoders in float64 on the stored F16 weights; timestep features rounded "
                      "in float32; sampler arithmetic and CFG in float32 (sampling_upstream.py); noise from "
                      "torch.Generator(seed) or A1111's Philox(seed): the first draw is the initial noise, "
                      "ancestral steps continue the stream; conventions in sdref/pipeline_features.py"),
        "if_ignored_note": ("the same run with the feature left out, against the golden: latent relative L2 and "
                            "PNG max abs difference (the VAE changes only the PNG); a test catches the omission "
                            "when either is far above its tolerance"),
        "conditioning": cond_list,
        "cases": listed,
    })


if __name__ == "__main__":
    main()
