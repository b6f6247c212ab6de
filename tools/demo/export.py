"""Writing and reading the shipped files (models/demo/):
- the single-file LDM checkpoint, F16, SD 1.x key layout:
  `model.diffusion_model.*` (UNet), `first_stage_model.*` (VAE),
  `cond_stage_model.transformer.text_model.*` (CLIP text model);
- the tokenizer folder (vocab.json + merges.txt) next to it;
- the kohya LoRA with sd-scripts' metadata (`ss_*`, `sshs_model_hash`).
Reading back gives float32 models holding exactly the F16 values, which is
what the C++ engine computes with.
"""
import hashlib
import json
import os
import shutil
import struct
import time

import torch_env
from demo_models import TE_CFG, UNET_CFG, VAE_CFG, make_text_encoder, make_unet, make_vae
from sdref import safetensors_io as st

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
TE_PREFIX = "cond_stage_model.transformer."
CHECKPOINT = "skingen-demo.safetensors"
LORA_EPOCH_NAME = "{}-{:06d}.safetensors"   # sd-scripts train_util EPOCH_FILE_NAME + extension


def checkpoint_tensors(unet, vae, te):
    out = {}
    for prefix, m in ((UNET_PREFIX, unet), (VAE_PREFIX, vae), (TE_PREFIX, te)):
        for k, v in m.state_dict().items():
            out[prefix + k] = v.detach().float()
    return out


def write_checkpoint(path, unet, vae, te, extra_meta=None):
    meta = {
        "modelspec.sai_model_spec": "1.0.0",
        "modelspec.architecture": "stable-diffusion-v1",
        "modelspec.implementation": "https://github.com/Stability-AI/generative-models",
        "modelspec.title": "skingen demo texture model",
        "modelspec.description": "Tiny SD 1.x-architecture texture model trained by tools/demo/train.py on "
                                 "procedural seamless textures; see models/demo/README.md",
        "modelspec.resolution": "64x64",
        "modelspec.prediction_type": "epsilon",
        "skingen.demo.unet": json.dumps(UNET_CFG.to_json()),
        "skingen.demo.vae": json.dumps(VAE_CFG.to_json()),
        "skingen.demo.text_encoder": json.dumps(TE_CFG.to_json()),
    }
    meta.update(extra_meta or {})
    st.write(path, checkpoint_tensors(unet, vae, te), default_dtype="F16", metadata=meta)


def read_checkpoint(path):
    """-> (unet, vae, te) float32 models with the file's (F16) values; strict names."""
    tensors, _, meta = st.read(path)
    unet, vae, te = make_unet(), make_vae(), make_text_encoder()
    for prefix, m in ((UNET_PREFIX, unet), (VAE_PREFIX, vae), (TE_PREFIX, te)):
        sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        m.load_state_dict(sd, strict=True)
    n = sum(len(m.state_dict()) for m in (unet, vae, te))
    assert n == len(tensors), "checkpoint holds tensors no model uses"
    return unet.eval(), vae.eval(), te.eval()


def copy_tokenizer(dst_dir):
    src = os.path.join(torch_env.HERE, "tokenizer")
    os.makedirs(dst_dir, exist_ok=True)
    for f in ("vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(src, f), os.path.join(dst_dir, f))


def data_sha256(path):
    """sd-scripts addnet_hash_safetensors: sha256 of everything after the header."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        f.seek(8 + n)
        return hashlib.sha256(f.read()).hexdigest()


def legacy_hash(path):
    """sd-scripts addnet_hash_legacy: sha256 of 64 KiB at offset 1 MiB, 8 hex digits."""
    with open(path, "rb") as f:
        f.seek(0x100000)
        return hashlib.sha256(f.read(0x10000)).hexdigest()[:8]


def write_lora(out_dir, tensors, info, base_path):
    """tensors: kohya name -> F16 tensor (sorted). info: training facts (started_at in epoch
    seconds). Returns the path."""
    from lora_stage import ALPHA, CONV_ALPHA, CONV_RANK, OUTPUT_NAME, RANK
    path = os.path.join(out_dir, LORA_EPOCH_NAME.format(OUTPUT_NAME, info["epochs"]))
    now = str(time.time())
    meta = {
        "ss_session_id": "20240707",
        "ss_training_started_at": str(info["started_at"]),
        "ss_output_name": OUTPUT_NAME,
        "ss_learning_rate": str(info["lr"]),
        "ss_text_encoder_lr": str(info["lr"]),
        "ss_unet_lr": str(info["lr"]),
        "ss_num_train_images": str(info["images"]),
        "ss_num_reg_images": "0",
        "ss_num_batches_per_epoch": str(info["batches_per_epoch"]),
        "ss_num_epochs": str(info["epochs"]),
        "ss_epoch": str(info["epochs"]),
        "ss_steps": str(info["steps"]),
        "ss_max_train_steps": str(info["steps"]),
        "ss_batch_size_per_device": str(info["batch"]),
        "ss_total_batch_size": str(info["batch"]),
        "ss_lr_warmup_steps": "50",
        "ss_lr_scheduler": "cosine",
        "ss_network_module": "networks.lora",
        "ss_network_dim": str(RANK),
        "ss_network_alpha": str(ALPHA),
        "ss_network_dropout": "None",
        "ss_network_args": json.dumps({"conv_dim": str(CONV_RANK), "conv_alpha": "%g" % CONV_ALPHA}),
        "ss_mixed_precision": "no",
        "ss_full_fp16": "False",
        "ss_v2": "False",
        "ss_base_model_version": "sd_v1",
        "ss_clip_skip": "None",
        "ss_max_token_length": "None",
        "ss_cache_latents": "True",
        "ss_seed": str(info.get("seed", 3)),
        "ss_noise_offset": "None",
        "ss_min_snr_gamma": "5.0",
        "ss_caption_dropout_rate": "0.1",
        "ss_optimizer": "torch.optim.adamw.AdamW(weight_decay=0.01)",
        "ss_max_grad_norm": "1.0",
        "ss_resolution": "(64, 64)",
        "ss_flip_aug": "False",
        "ss_color_aug": "False",
        "ss_sd_model_name": os.path.basename(base_path),
        "ss_new_sd_model_hash": file_sha256(base_path),
        "ss_training_comment": "skingen demo skin LoRA: tools/demo/train.py (see models/demo/README.md)",
        "ss_sd_scripts_commit_hash": "(not sd-scripts: tools/demo/lora_stage.py writes the same format)",
        "ss_training_finished_at": now,
    }
    st.write(path, tensors, default_dtype="F16", metadata=meta)
    # sd-scripts stores the hashes of the tensor bytes in the metadata; they do not change
    # when the header does, so write once more with them.
    meta["sshs_model_hash"] = data_sha256(path)
    meta["sshs_legacy_hash"] = legacy_hash(path)
    st.write(path, tensors, default_dtype="F16", metadata=meta)
    assert data_sha256(path) == meta["sshs_model_hash"]
    return path


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_lora(path):
    tensors, _, meta = st.read(path)
    return tensors, meta
