"""SD 1.x / 2.x UNet (LDM UNetModel == diffusers UNet2DConditionModel),
built in the LDM module structure so that state_dict() names are exactly the
single-file checkpoint names (`input_blocks.1.0.in_layers.0.weight`, ...).
The diffusers names are derived from the same construction loop (unet_names.py).

Architecture facts: CompVis/Stability-AI stable-diffusion
ldm/modules/diffusionmodules/openaimodel.py (UNetModel, ResBlock, Downsample,
Upsample), ldm/modules/attention.py (SpatialTransformer, BasicTransformerBlock,
CrossAttention, GEGLU); diffusers unet_2d_condition.py, unet_2d_blocks.py,
resnet.py, transformer_2d.py, attention.py (same math, other names)."""
from dataclasses import dataclass, field, asdict
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import geglu, multi_head_attention, timestep_features


@dataclass
class UNetConfig:
    in_channels: int = 4
    out_channels: int = 4
    model_channels: int = 320
    channel_mult: Tuple[int, ...] = (1, 2, 4, 4)
    num_res_blocks: int = 2
    attention_levels: Tuple[int, ...] = (0, 1, 2)  # level l <=> LDM attention_resolutions 2**l
    num_heads: Optional[int] = 8          # SD 1.x: fixed head count ...
    head_dim: Optional[int] = None        # ... SD 2.x: fixed head width (num_head_channels 64)
    transformer_depth: int = 1
    context_dim: int = 768
    use_linear_in_transformer: bool = False
    groups: int = 32

    def channels(self, level):
        return self.model_channels * self.channel_mult[level]

    def heads_at(self, ch):
        """(heads, dim_head) of a transformer on `ch` channels (openaimodel.py:
        num_head_channels == -1 -> dim_head = ch // num_heads, else
        num_heads = ch // num_head_channels)."""
        if self.head_dim is not None:
            assert ch % self.head_dim == 0
            return ch // self.head_dim, self.head_dim
        assert ch % self.num_heads == 0
        return self.num_heads, ch // self.num_heads

    def to_json(self):
        d = asdict(self)
        d["channel_mult"] = list(self.channel_mult)
        d["attention_levels"] = list(self.attention_levels)
        return d


SD15 = UNetConfig()
SD21 = UNetConfig(num_heads=None, head_dim=64, context_dim=1024, use_linear_in_transformer=True)

RESNET_EPS = 1e-5        # normalization() in openaimodel util.py: GroupNorm32(32, ch), torch default eps
TRANSFORMER_GN_EPS = 1e-6  # attention.py Normalize(): GroupNorm(32, eps=1e-6)
LAYERNORM_EPS = 1e-5     # nn.LayerNorm default in BasicTransformerBlock


class ResBlock(nn.Module):
    """in_layers = [GroupNorm, SiLU, conv3x3]; emb_layers = [SiLU, Linear];
    out_layers = [GroupNorm, SiLU, Dropout, conv3x3]; skip 1x1 conv when the
    channel count changes (use_conv=False)."""

    def __init__(self, cin, cout, temb, groups, device=None):
        super().__init__()
        self.in_layers = nn.Sequential(nn.GroupNorm(groups, cin, eps=RESNET_EPS, device=device), nn.SiLU(),
                                       nn.Conv2d(cin, cout, 3, padding=1, device=device))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(temb, cout, device=device))
        self.out_layers = nn.Sequential(nn.GroupNorm(groups, cout, eps=RESNET_EPS, device=device), nn.SiLU(),
                                        nn.Identity(),  # Dropout(0) at inference
                                        nn.Conv2d(cout, cout, 3, padding=1, device=device))
        self.skip_connection = nn.Conv2d(cin, cout, 1, device=device) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.in_layers(x)                              # [B, cout, H, W]
        h = h + self.emb_layers(emb)[:, :, None, None]     # time projection broadcast over H, W
        h = self.out_layers(h)
        return self.skip_connection(x) + h


class CrossAttention(nn.Module):
    def __init__(self, dim, context_dim, heads, dim_head, device=None):
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.to_q = nn.Linear(dim, inner, bias=False, device=device)
        self.to_k = nn.Linear(context_dim, inner, bias=False, device=device)
        self.to_v = nn.Linear(context_dim, inner, bias=False, device=device)
        self.to_out = nn.Sequential(nn.Linear(inner, dim, device=device), nn.Identity())

    def forward(self, x, context=None):
        ctx = x if context is None else context
        o = multi_head_attention(self.to_q(x), self.to_k(ctx), self.to_v(ctx), self.heads)
        return self.to_out(o)


class GEGLU(nn.Module):
    def __init__(self, dim_in, dim_out, device=None):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2, device=device)

    def forward(self, x):
        return geglu(x, self.proj)


class FeedForward(nn.Module):
    """net = [GEGLU(dim, 4 dim), Dropout, Linear(4 dim, dim)]."""

    def __init__(self, dim, device=None):
        super().__init__()
        inner = 4 * dim
        self.net = nn.Sequential(GEGLU(dim, inner, device=device), nn.Identity(),
                                 nn.Linear(inner, dim, device=device))

    def forward(self, x):
        return self.net(x)


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, dim_head, context_dim, device=None):
        super().__init__()
        self.attn1 = CrossAttention(dim, dim, heads, dim_head, device=device)
        self.ff = FeedForward(dim, device=device)
        self.attn2 = CrossAttention(dim, context_dim, heads, dim_head, device=device)
        self.norm1 = nn.LayerNorm(dim, eps=LAYERNORM_EPS, device=device)
        self.norm2 = nn.LayerNorm(dim, eps=LAYERNORM_EPS, device=device)
        self.norm3 = nn.LayerNorm(dim, eps=LAYERNORM_EPS, device=device)

    def forward(self, x, context):
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), context)
        x = x + self.ff(self.norm3(x))
        return x


class SpatialTransformer(nn.Module):
    """norm -> proj_in (1x1 conv, or linear after flattening) -> blocks ->
    proj_out -> + input (Transformer2DModel)."""

    def __init__(self, ch, heads, dim_head, depth, context_dim, use_linear, groups, device=None):
        super().__init__()
        inner = heads * dim_head
        self.use_linear = use_linear
        self.norm = nn.GroupNorm(groups, ch, eps=TRANSFORMER_GN_EPS, device=device)
        if use_linear:
            self.proj_in = nn.Linear(ch, inner, device=device)
        else:
            self.proj_in = nn.Conv2d(ch, inner, 1, device=device)
        self.transformer_blocks = nn.ModuleList(
            [BasicTransformerBlock(inner, heads, dim_head, context_dim, device=device) for _ in range(depth)])
        if use_linear:
            self.proj_out = nn.Linear(inner, ch, device=device)
        else:
            self.proj_out = nn.Conv2d(inner, ch, 1, device=device)

    def forward(self, x, context):
        b, c, h, w = x.shape
        x_in = x
        x = self.norm(x)
        if not self.use_linear:
            x = self.proj_in(x)                                  # [B, inner, H, W]
        x = x.permute(0, 2, 3, 1).reshape(b, h * w, -1)          # [B, HW, C]
        if self.use_linear:
            x = self.proj_in(x)
        for blk in self.transformer_blocks:
            x = blk(x, context)
        if self.use_linear:
            x = self.proj_out(x)
        x = x.reshape(b, h, w, -1).permute(0, 3, 1, 2)           # [B, C, H, W]
        if not self.use_linear:
            x = self.proj_out(x)
        return x + x_in


class Downsample(nn.Module):
    def __init__(self, ch, device=None):
        super().__init__()
        self.op = nn.Conv2d(ch, ch, 3, stride=2, padding=1, device=device)

    def forward(self, x):
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, ch, device=None):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1, device=device)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class TimestepSequential(nn.ModuleList):
    """One LDM block: a list of layers, each fed (x, emb, context) as it needs.
    `names` holds, per layer, the diffusers path used for debug dumps."""

    def forward(self, x, emb, context, names=None, dumps=None):
        for i, layer in enumerate(self):
            if isinstance(layer, ResBlock):
                x = layer(x, emb)
            elif isinstance(layer, SpatialTransformer):
                x = layer(x, context)
            else:
                x = layer(x)
            if dumps is not None and names is not None:
                dumps[names[i]] = x
        return x


class UNet(nn.Module):
    # Sinusoidal time features (float64 in the goldens); a subclass may swap in
    # upstream's float32 rounding (sdref/pipeline.py).
    time_features = staticmethod(timestep_features)

    def __init__(self, cfg: UNetConfig, device=None):
        super().__init__()
        self.cfg = cfg
        mc = cfg.model_channels
        temb = 4 * mc
        L = len(cfg.channel_mult)
        nrb = cfg.num_res_blocks
        self.time_embed = nn.Sequential(nn.Linear(mc, temb, device=device), nn.SiLU(),
                                        nn.Linear(temb, temb, device=device))

        def transformer(ch):
            heads, dh = cfg.heads_at(ch)
            return SpatialTransformer(ch, heads, dh, cfg.transformer_depth, cfg.context_dim,
                                      cfg.use_linear_in_transformer, cfg.groups, device=device)

        # blocks: list of (ldm prefix, diffusers prefix, kind) for every module
        # that owns weights; kind is "resnet", "attention" or "plain".
        self.block_names = [("time_embed.0", "time_embedding.linear_1", "plain"),
                            ("time_embed.2", "time_embedding.linear_2", "plain")]
        # per input/output block: diffusers names of its layers (for dumps)
        self.in_dump_names, self.out_dump_names = [], []
        # index of the input / output block that ends each diffusers down / up block
        self.down_block_end, self.up_block_end = [], []

        self.input_blocks = nn.ModuleList([TimestepSequential([nn.Conv2d(cfg.in_channels, mc, 3, padding=1,
                                                                         device=device)])])
        self.block_names.append(("input_blocks.0.0", "conv_in", "plain"))
        self.in_dump_names.append(["conv_in"])
        chans = [mc]     # skip channels, pushed in the order of input_blocks
        ch = mc
        for level in range(L):
            for i in range(nrb):
                k = len(self.input_blocks)
                cout = cfg.channels(level)
                layers = [ResBlock(ch, cout, temb, cfg.groups, device=device)]
                names = [f"down_blocks.{level}.resnets.{i}"]
                self.block_names.append((f"input_blocks.{k}.0", names[0], "resnet"))
                ch = cout
                if level in cfg.attention_levels:
                    layers.append(transformer(ch))
                    names.append(f"down_blocks.{level}.attentions.{i}")
                    self.block_names.append((f"input_blocks.{k}.1", names[1], "attention"))
                self.input_blocks.append(TimestepSequential(layers))
                self.in_dump_names.append(names)
                chans.append(ch)
            if level != L - 1:
                k = len(self.input_blocks)
                self.input_blocks.append(TimestepSequential([Downsample(ch, device=device)]))
                n = f"down_blocks.{level}.downsamplers.0"
                self.in_dump_names.append([n])
                self.block_names.append((f"input_blocks.{k}.0.op", n + ".conv", "plain"))
                chans.append(ch)
            self.down_block_end.append(len(self.input_blocks) - 1)

        heads_ch = ch
        self.middle_block = TimestepSequential([ResBlock(ch, ch, temb, cfg.groups, device=device),
                                                transformer(heads_ch),
                                                ResBlock(ch, ch, temb, cfg.groups, device=device)])
        self.mid_dump_names = ["mid_block.resnets.0", "mid_block.attentions.0", "mid_block.resnets.1"]
        self.block_names += [("middle_block.0", "mid_block.resnets.0", "resnet"),
                             ("middle_block.1", "mid_block.attentions.0", "attention"),
                             ("middle_block.2", "mid_block.resnets.1", "resnet")]

        self.output_blocks = nn.ModuleList()
        for up, level in enumerate(reversed(range(L))):
            for i in range(nrb + 1):
                k = len(self.output_blocks)
                skip = chans.pop()
                cout = cfg.channels(level)
                layers = [ResBlock(ch + skip, cout, temb, cfg.groups, device=device)]
                names = [f"up_blocks.{up}.resnets.{i}"]
                self.block_names.append((f"output_blocks.{k}.0", names[0], "resnet"))
                ch = cout
                if level in cfg.attention_levels:
                    layers.append(transformer(ch))
                    names.append(f"up_blocks.{up}.attentions.{i}")
                    self.block_names.append((f"output_blocks.{k}.1", names[-1], "attention"))
                if level != 0 and i == nrb:
                    j = len(layers)
                    layers.append(Upsample(ch, device=device))
                    names.append(f"up_blocks.{up}.upsamplers.0")
                    self.block_names.append((f"output_blocks.{k}.{j}", names[-1], "plain"))
                self.output_blocks.append(TimestepSequential(layers))
                self.out_dump_names.append(names)
            self.up_block_end.append(len(self.output_blocks) - 1)
        assert not chans

        self.out = nn.Sequential(nn.GroupNorm(cfg.groups, ch, eps=RESNET_EPS, device=device), nn.SiLU(),
                                 nn.Conv2d(mc, cfg.out_channels, 3, padding=1, device=device))
        self.block_names += [("out.0", "conv_norm_out", "plain"), ("out.2", "conv_out", "plain")]

    def forward(self, x, t, context, dumps=None, fine=False):
        """x [B, in, h, w], t [B] (0..999 scale, fractional allowed), context
        [B, T, context_dim] -> [B, out, h, w]. If `dumps` is a dict, it is filled
        with diffusers-named block outputs (NCHW): time_emb, conv_in,
        down_blocks.i, mid_block, up_blocks.i; with fine=True also every
        resnets.j / attentions.j / downsamplers.0 / upsamplers.0 output."""
        fine_d = dumps if fine else None   # block-internal outputs go straight into `dumps`, in execution order
        emb = self.time_embed(self.time_features(t.to(x.dtype), self.cfg.model_channels))  # [B, 4 mc]
        if dumps is not None:
            dumps["time_emb"] = emb
        hs = []
        h = x
        for k, blk in enumerate(self.input_blocks):
            h = blk(h, emb, context, self.in_dump_names[k], fine_d)
            hs.append(h)
            if dumps is not None:
                if k == 0:
                    dumps["conv_in"] = h
                if k in self.down_block_end:
                    dumps[f"down_blocks.{self.down_block_end.index(k)}"] = h
        h = self.middle_block(h, emb, context, self.mid_dump_names, fine_d)
        if dumps is not None:
            dumps["mid_block"] = h
        for k, blk in enumerate(self.output_blocks):
            h = torch.cat([h, hs.pop()], dim=1)   # skip concatenated after the running state
            h = blk(h, emb, context, self.out_dump_names[k], fine_d)
            if dumps is not None and k in self.up_block_end:
                dumps[f"up_blocks.{self.up_block_end.index(k)}"] = h
        out = self.out(h)
        return out
