"""Full-size name tables (no weights): tests/data/keys/*.json.

Each file lists every tensor of a real-size module in both layouts with its
shape, built from the meta-device reference models: a C++ test can check its
layout translation and config detection on the real architecture without a
multi-GB checkpoint."""
import json
import os

from .clip_text import CLIP_L, OPENCLIP_H, CLIPTextModel, openclip_state_dict
from .unet import SD15, SD21, UNet
from .unet_names import LDM_PREFIX, ldm_to_diffusers
from .vae import SD_VAE, AutoencoderKL
from .vae_names import CKPT_PREFIX, ldm_to_diffusers_name


def _write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        f.write("{\n")
        items = list(obj.items())
        for i, (k, v) in enumerate(items):
            if k == "tensors":
                f.write(f'  "{k}": [\n')
                for j, row in enumerate(v):
                    f.write("    " + json.dumps(row) + ("," if j + 1 < len(v) else "") + "\n")
                f.write("  ]")
            else:
                f.write(f"  {json.dumps(k)}: {json.dumps(v)}")
            f.write(",\n" if i + 1 < len(items) else "\n")
        f.write("}\n")
    os.replace(path + ".tmp", path)


def write_all(out_root, log=print):
    d = os.path.join(out_root, "keys")
    for name, cfg, src in (("sd15_unet", SD15, "CompVis v1-inference.yaml"),
                           ("sd21_unet", SD21, "Stability-AI v2-inference-v.yaml")):
        m = UNet(cfg, device="meta")
        mp = ldm_to_diffusers(m)
        sd = m.state_dict()
        rows = [[LDM_PREFIX + k, mp[k], list(v.shape)] for k, v in sd.items()]
        _write(os.path.join(d, name + ".json"), {
            "model": name, "config": cfg.to_json(), "config_source": src,
            "columns": ["ldm single-file name", "diffusers unet/ name", "shape"],
            "num_tensors": len(rows), "num_parameters": sum(v.numel() for v in sd.values()), "tensors": rows})
        log(f"keys/{name}.json: {len(rows)} tensors")

    m = AutoencoderKL(SD_VAE, device="meta")
    rows = []
    for k, v in m.state_dict().items():
        dn, squeeze = ldm_to_diffusers_name(k, len(SD_VAE.ch_mult))
        legacy, _ = ldm_to_diffusers_name(k, len(SD_VAE.ch_mult), legacy=True)
        rows.append([CKPT_PREFIX + k, dn, legacy, list(v.shape), list(v.shape[:2]) if squeeze else list(v.shape)])
    _write(os.path.join(d, "sd_vae.json"), {
        "model": "sd_vae", "config": SD_VAE.to_json(),
        "columns": ["ldm name in a full checkpoint (a standalone VAE file drops 'first_stage_model.')",
                    "diffusers vae/ name", "legacy diffusers name", "ldm shape", "diffusers shape"],
        "num_tensors": len(rows), "num_parameters": sum(v.numel() for v in m.state_dict().values()), "tensors": rows})
    log(f"keys/sd_vae.json: {len(rows)} tensors")

    m = CLIPTextModel(CLIP_L, device="meta")
    sd = m.state_dict()
    rows = [["cond_stage_model.transformer." + k, k, list(v.shape)] for k, v in sd.items()]
    _write(os.path.join(d, "clip_l_text.json"), {
        "model": "clip_l_text", "config": CLIP_L.to_json(),
        "columns": ["ldm name (SD 1.x)", "diffusers text_encoder/ (HF) name", "shape"],
        "extra_buffers": {"cond_stage_model.transformer.text_model.embeddings.position_ids": [1, 77]},
        "num_tensors": len(rows), "num_parameters": sum(v.numel() for v in sd.values()), "tensors": rows})
    log(f"keys/clip_l_text.json: {len(rows)} tensors")

    m = CLIPTextModel(OPENCLIP_H, device="meta")
    oc = openclip_state_dict(m.state_dict())
    rows = [["cond_stage_model.model." + k, list(v.shape)] for k, v in oc.items()]
    rows += [["cond_stage_model.model.text_projection", [1024, 1024]], ["cond_stage_model.model.logit_scale", []]]
    _write(os.path.join(d, "openclip_h_text.json"), {
        "model": "openclip_h_text", "config": OPENCLIP_H.to_json(),
        "columns": ["ldm name (SD 2.x)", "shape"],
        "note": "in_proj_weight/bias = q|k|v of the HF layout stacked along dim 0; text_projection and "
                "logit_scale are not used for SD conditioning",
        "num_tensors": len(rows), "tensors": rows})
    log(f"keys/openclip_h_text.json: {len(rows)} tensors")
