"""UNet tensor names in both layouts and the diffusers config.json.

The model is built in the LDM structure (unet.py), so its state_dict names
are the LDM names. The diffusers names come from the block table the
constructor records while it runs the upstream construction loop
(UNet.block_names), plus the resnet-internal renaming of diffusers
scripts/convert_diffusers_to_original_stable_diffusion.py
(unet_conversion_map_resnet)."""
from .unet import UNet, UNetConfig

LDM_PREFIX = "model.diffusion_model."

# (LDM, diffusers) names inside a resnet block (convert script, unet_conversion_map_resnet)
RESNET_INNER = [
    ("in_layers.0", "norm1"),
    ("in_layers.2", "conv1"),
    ("emb_layers.1", "time_emb_proj"),
    ("out_layers.0", "norm2"),
    ("out_layers.3", "conv2"),
    ("skip_connection", "conv_shortcut"),
]


def ldm_to_diffusers(model: UNet):
    """dict: LDM state_dict name (without model.diffusion_model.) -> diffusers name."""
    blocks = sorted(model.block_names, key=lambda b: -len(b[0]))  # longest prefix first
    out = {}
    for name in model.state_dict().keys():
        for ldm, dif, kind in blocks:
            if name.startswith(ldm + "."):
                rest = name[len(ldm) + 1:]
                if kind == "resnet":
                    for a, b in RESNET_INNER:
                        if rest.startswith(a + "."):
                            rest = b + rest[len(a):]
                            break
                    else:
                        raise KeyError(f"unmapped resnet tensor {name}")
                out[name] = f"{dif}.{rest}"
                break
        else:
            raise KeyError(f"no block owns {name}")
    assert len(set(out.values())) == len(out), "diffusers names are not unique"
    return out


def diffusers_config(cfg: UNetConfig, sample_size):
    """config.json of a diffusers UNet2DConditionModel equivalent to cfg.
    Note diffusers' historical naming: `attention_head_dim` holds the number of
    heads (per level when a list), see unet_2d_condition.py
    ('num_attention_heads = num_attention_heads or attention_head_dim')."""
    L = len(cfg.channel_mult)
    chans = [cfg.channels(l) for l in range(L)]
    if cfg.head_dim is not None:
        heads = [c // cfg.head_dim for c in chans]
    else:
        heads = cfg.num_heads
    down = ["CrossAttnDownBlock2D" if l in cfg.attention_levels else "DownBlock2D" for l in range(L)]
    up = ["CrossAttnUpBlock2D" if l in cfg.attention_levels else "UpBlock2D" for l in reversed(range(L))]
    return {
        "_class_name": "UNet2DConditionModel",
        "_diffusers_version": "0.21.4",
        "act_fn": "silu",
        "addition_embed_type": None,
        "addition_embed_type_num_heads": 64,
        "addition_time_embed_dim": None,
        "attention_head_dim": heads,
        "attention_type": "default",
        "block_out_channels": chans,
        "center_input_sample": False,
        "class_embed_type": None,
        "class_embeddings_concat": False,
        "conv_in_kernel": 3,
        "conv_out_kernel": 3,
        "cross_attention_dim": cfg.context_dim,
        "cross_attention_norm": None,
        "down_block_types": down,
        "downsample_padding": 1,
        "dropout": 0.0,
        "dual_cross_attention": False,
        "encoder_hid_dim": None,
        "encoder_hid_dim_type": None,
        "flip_sin_to_cos": True,
        "freq_shift": 0,
        "in_channels": cfg.in_channels,
        "layers_per_block": cfg.num_res_blocks,
        "mid_block_only_cross_attention": None,
        "mid_block_scale_factor": 1,
        "mid_block_type": "UNetMidBlock2DCrossAttn",
        "norm_eps": 1e-05,
        "norm_num_groups": cfg.groups,
        "num_attention_heads": None,
        "num_class_embeds": None,
        "only_cross_attention": False,
        "out_channels": cfg.out_channels,
        "projection_class_embeddings_input_dim": None,
        "resnet_out_scale_factor": 1.0,
        "resnet_skip_time_act": False,
        "resnet_time_scale_shift": "default",
        "sample_size": sample_size,
        "time_cond_proj_dim": None,
        "time_embedding_act_fn": None,
        "time_embedding_dim": None,
        "time_embedding_type": "positional",
        "timestep_post_act": None,
        "transformer_layers_per_block": cfg.transformer_depth,
        "up_block_types": up,
        "upcast_attention": False,
        "use_linear_projection": cfg.use_linear_in_transformer,
    }
