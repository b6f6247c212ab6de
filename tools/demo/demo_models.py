"""The demo model's architecture: configs for the sdref reference modules
(tests/reference/sdref, whose state_dict names are the real SD 1.x
single-file names), the SD noise schedule, and circular padding.

Sizes: PLAN.md §2 (and models/demo/README.md for what was finally trained).
"""
import math

import torch
import torch.nn as nn

import torch_env  # noqa: F401  (import paths)
from sdref.clip_text import CLIPTextConfig, CLIPTextModel
from sdref.unet import UNet, UNetConfig
from sdref.vae import AutoencoderKL, VAEConfig, SCALE_FACTOR

VOCAB = 791  # tools/demo/tokenizer: 789 merges-derived tokens + BOS 789 + EOS 790

# f = 2 (64x64 px <-> 32x32x4 latents, 3x compression). The f = 4 VAE of the first
# shipped model (16x16x4, 12x) lost the fine detail the classes differ by: the
# texture classifier recognised only 28.7 % of its reconstructions.
VAE_CFG = VAEConfig(ch=64, ch_mult=(1, 2), num_res_blocks=1, z_channels=4, embed_dim=4, groups=32)
# width 128 -> 2 heads of 64: the CLIP rule heads = width / 64 that the engine applies
# f = 2^(levels - 1): what the engine derives from the level count (models/vae_config.hpp)
VAE_FACTOR = 2 ** (len(VAE_CFG.ch_mult) - 1)
TE_CFG = CLIPTextConfig(vocab_size=VOCAB, hidden_size=128, num_hidden_layers=4, num_attention_heads=2,
                        intermediate_size=512, max_position_embeddings=77, hidden_act="quick_gelu")
# 32x32 latents, four levels (32, 16, 8, 4) as in SD: attention only at level 2 (8x8) and in the
# mid block (4x4). Attention at 16x16 (256 tokens, 8 heads of 8 channels) made the training step
# 2.4x slower (2.25 s against 0.93 s, batch 32, measured side by side).
UNET_CFG = UNetConfig(in_channels=4, out_channels=4, model_channels=32, channel_mult=(1, 2, 2, 2), num_res_blocks=2,
                      attention_levels=(2,), num_heads=8, transformer_depth=1, context_dim=128,
                      use_linear_in_transformer=False, groups=32)


def make_vae():
    return AutoencoderKL(VAE_CFG)


def make_text_encoder():
    return CLIPTextModel(TE_CFG)


def make_unet():
    return UNet(UNET_CFG)


def nparams(m):
    return sum(p.numel() for p in m.parameters())


# ------------------------------------------------------------------ tiling

def set_tiling(model, circular):
    """A1111 apply_circular: every padded conv pads circularly (or with zeros).
    Convs without padding (1x1, the VAE encoder's stride-2 conv after its
    explicit asymmetric zero pad) are unaffected either way."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and m.padding != (0, 0):
            m.padding_mode = "circular" if circular else "zeros"


# ------------------------------------------------------------------ noise schedule

def alphas_cumprod(num=1000, beta_start=0.00085, beta_end=0.012):
    """SD scaled_linear schedule (LDM register_schedule: linspace of sqrt(beta),
    squared, in float64), as float64."""
    betas = torch.linspace(beta_start ** 0.5, beta_end ** 0.5, num, dtype=torch.float64) ** 2
    return torch.cumprod(1.0 - betas, dim=0)


def init_for_training(model):
    """Upstream initialisations that matter for training from scratch:
    LDM zero-initialises the last conv of every ResBlock, the transformers'
    proj_out and the UNet's output conv (zero_module in openaimodel.py /
    attention.py), so every block starts as the identity."""
    from sdref.unet import ResBlock, SpatialTransformer
    for m in model.modules():
        if isinstance(m, ResBlock):
            nn.init.zeros_(m.out_layers[3].weight)
            nn.init.zeros_(m.out_layers[3].bias)
        if isinstance(m, SpatialTransformer):
            nn.init.zeros_(m.proj_out.weight)
            nn.init.zeros_(m.proj_out.bias)
    if isinstance(model, UNet):
        nn.init.zeros_(model.out[2].weight)
        nn.init.zeros_(model.out[2].bias)


def init_text_encoder(te):
    """HF CLIPPreTrainedModel._init_weights (factor 1): token embeddings N(0, 0.02),
    position embeddings N(0, 0.01), projections std width^-0.5 scaled by layer count."""
    cfg = te.cfg
    d, L = cfg.hidden_size, cfg.num_hidden_layers
    tm = te.text_model
    nn.init.normal_(tm.embeddings.token_embedding.weight, std=0.02)
    nn.init.normal_(tm.embeddings.position_embedding.weight, std=0.01)
    in_std = d ** -0.5 * (2 * L) ** -0.5
    out_std = d ** -0.5
    fc_std = (2 * d) ** -0.5
    for layer in tm.encoder.layers:
        a = layer.self_attn
        for p in (a.q_proj, a.k_proj, a.v_proj):
            nn.init.normal_(p.weight, std=in_std)
        nn.init.normal_(a.out_proj.weight, std=out_std)
        nn.init.normal_(layer.mlp.fc1.weight, std=fc_std)
        nn.init.normal_(layer.mlp.fc2.weight, std=in_std)
        for p in (a.q_proj, a.k_proj, a.v_proj, a.out_proj, layer.mlp.fc1, layer.mlp.fc2):
            nn.init.zeros_(p.bias)


__all__ = ["VAE_CFG", "VAE_FACTOR", "TE_CFG", "UNET_CFG", "SCALE_FACTOR", "make_vae", "make_text_encoder", "make_unet",
           "set_tiling", "alphas_cumprod", "nparams", "init_for_training", "init_text_encoder", "math"]
