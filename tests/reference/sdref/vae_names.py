"""VAE tensor names: LDM (state_dict of vae.py; `first_stage_model.` prefix in a
full checkpoint, no prefix in a standalone VAE file such as
vae-ft-mse-840000-ema-pruned) and diffusers AutoencoderKL, both current
(mid attention to_q/to_k/to_v/to_out.0 linears, [C, C] weights) and legacy
(query/key/value/proj_attn, also [C, C]). Mapping facts: diffusers
scripts/convert_diffusers_to_original_stable_diffusion.py (vae_conversion_map,
vae_conversion_map_attn, reshape_weight_for_sd) and diffusers vae.py."""
import re

from .vae import SCALE_FACTOR, VAEConfig

CKPT_PREFIX = "first_stage_model."

ATTN_NEW = {"norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"}
ATTN_LEGACY = {"norm": "group_norm", "q": "query", "k": "key", "v": "value", "proj_out": "proj_attn"}


def ldm_to_diffusers_name(name, num_levels, legacy=False):
    """LDM VAE name (no prefix) -> (diffusers name, squeeze) where squeeze says
    the [C, C, 1, 1] conv weight becomes a [C, C] linear weight."""
    attn = ATTN_LEGACY if legacy else ATTN_NEW
    m = re.match(r"^(encoder|decoder)\.mid\.attn_1\.(norm|q|k|v|proj_out)\.(weight|bias)$", name)
    if m:
        part, layer, wb = m.groups()
        return f"{part}.mid_block.attentions.0.{attn[layer]}.{wb}", (wb == "weight" and layer != "norm")
    m = re.match(r"^(encoder|decoder)\.mid\.block_([12])\.(.*)$", name)
    if m:
        part, i, rest = m.groups()
        return f"{part}.mid_block.resnets.{int(i) - 1}.{_resnet(rest)}", False
    m = re.match(r"^encoder\.down\.(\d+)\.block\.(\d+)\.(.*)$", name)
    if m:
        i, j, rest = m.groups()
        return f"encoder.down_blocks.{i}.resnets.{j}.{_resnet(rest)}", False
    m = re.match(r"^encoder\.down\.(\d+)\.downsample\.conv\.(.*)$", name)
    if m:
        i, rest = m.groups()
        return f"encoder.down_blocks.{i}.downsamplers.0.conv.{rest}", False
    m = re.match(r"^decoder\.up\.(\d+)\.block\.(\d+)\.(.*)$", name)
    if m:  # diffusers numbers decoder up blocks from the deepest level
        i, j, rest = m.groups()
        return f"decoder.up_blocks.{num_levels - 1 - int(i)}.resnets.{j}.{_resnet(rest)}", False
    m = re.match(r"^decoder\.up\.(\d+)\.upsample\.conv\.(.*)$", name)
    if m:
        i, rest = m.groups()
        return f"decoder.up_blocks.{num_levels - 1 - int(i)}.upsamplers.0.conv.{rest}", False
    m = re.match(r"^(encoder|decoder)\.norm_out\.(.*)$", name)
    if m:
        return f"{m.group(1)}.conv_norm_out.{m.group(2)}", False
    if re.match(r"^(encoder|decoder)\.(conv_in|conv_out)\.", name) or \
            re.match(r"^(quant_conv|post_quant_conv)\.", name):
        return name, False
    raise KeyError(f"unmapped VAE tensor {name}")


def _resnet(rest):
    return rest.replace("nin_shortcut", "conv_shortcut")


def diffusers_config(cfg: VAEConfig, sample_size):
    L = len(cfg.ch_mult)
    return {
        "_class_name": "AutoencoderKL",
        "_diffusers_version": "0.21.4",
        "act_fn": "silu",
        "block_out_channels": [cfg.ch * m for m in cfg.ch_mult],
        "down_block_types": ["DownEncoderBlock2D"] * L,
        "force_upcast": True,
        "in_channels": cfg.in_channels,
        "latent_channels": cfg.z_channels,
        "latents_mean": None,
        "latents_std": None,
        "layers_per_block": cfg.num_res_blocks,
        "mid_block_add_attention": True,
        "norm_num_groups": cfg.groups,
        "out_channels": cfg.out_ch,
        "sample_size": sample_size,
        "scaling_factor": SCALE_FACTOR,
        "shift_factor": None,
        "up_block_types": ["UpDecoderBlock2D"] * L,
        "use_post_quant_conv": True,
        "use_quant_conv": True,
    }
