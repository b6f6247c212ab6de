"""AutoencoderKL (SD 1.x / 2.x VAE), built in the LDM module structure so the
state_dict names are the single-file names under `first_stage_model.`.

Architecture facts: CompVis stable-diffusion ldm/modules/diffusionmodules/model.py
(Encoder, Decoder, ResnetBlock, AttnBlock, Downsample with asymmetric (0,1,0,1)
zero pad then 3x3 stride-2 conv, Upsample nearest 2x + 3x3 conv, Normalize =
GroupNorm(32, eps=1e-6), swish) and ldm/models/autoencoder.py (quant_conv,
post_quant_conv, DiagonalGaussianDistribution: logvar clamped to [-30, 20]);
diffusers autoencoder_kl.py / vae.py (same math, other names)."""
from dataclasses import asdict, dataclass
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

GN_EPS = 1e-6  # model.py Normalize(); diffusers vae blocks use resnet_eps=1e-6 too
SCALE_FACTOR = 0.18215  # SD 1.x/2.x latent scale (v1-inference.yaml scale_factor)


@dataclass
class VAEConfig:
    ch: int = 128
    ch_mult: Tuple[int, ...] = (1, 2, 4, 4)
    num_res_blocks: int = 2
    in_channels: int = 3
    out_ch: int = 3
    z_channels: int = 4
    embed_dim: int = 4
    groups: int = 32

    def to_json(self):
        d = asdict(self)
        d["ch_mult"] = list(self.ch_mult)
        return d


SD_VAE = VAEConfig()


def swish(x):
    return x * torch.sigmoid(x)


class ResnetBlock(nn.Module):
    def __init__(self, cin, cout, groups, device=None):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=GN_EPS, device=device)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, device=device)
        self.norm2 = nn.GroupNorm(groups, cout, eps=GN_EPS, device=device)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, device=device)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1, device=device)
        else:
            self.nin_shortcut = None

    def forward(self, x):
        h = self.conv1(swish(self.norm1(x)))
        h = self.conv2(swish(self.norm2(h)))  # dropout 0 at inference
        s = x if self.nin_shortcut is None else self.nin_shortcut(x)
        return s + h


class AttnBlock(nn.Module):
    """Single-head self-attention over all pixels, q/k/v/proj_out 1x1 convs,
    scale 1/sqrt(C), residual."""

    def __init__(self, c, groups, device=None):
        super().__init__()
        self.norm = nn.GroupNorm(groups, c, eps=GN_EPS, device=device)
        self.q = nn.Conv2d(c, c, 1, device=device)
        self.k = nn.Conv2d(c, c, 1, device=device)
        self.v = nn.Conv2d(c, c, 1, device=device)
        self.proj_out = nn.Conv2d(c, c, 1, device=device)

    def forward(self, x):
        b, c, h, w = x.shape
        n = self.norm(x)
        q = self.q(n).reshape(b, c, h * w).transpose(1, 2)   # [B, HW, C]
        k = self.k(n).reshape(b, c, h * w)                   # [B, C, HW]
        v = self.v(n).reshape(b, c, h * w).transpose(1, 2)   # [B, HW, C]
        a = torch.softmax(torch.bmm(q, k) * (c ** -0.5), dim=-1)  # [B, HW(query), HW(key)]
        o = torch.bmm(a, v).transpose(1, 2).reshape(b, c, h, w)
        return x + self.proj_out(o)


class Downsample(nn.Module):
    def __init__(self, c, device=None):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=0, device=device)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1), mode="constant", value=0.0))  # pad right and bottom only


class Upsample(nn.Module):
    def __init__(self, c, device=None):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1, device=device)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Mid(nn.Module):
    def __init__(self, c, groups, device=None):
        super().__init__()
        self.block_1 = ResnetBlock(c, c, groups, device=device)
        self.attn_1 = AttnBlock(c, groups, device=device)
        self.block_2 = ResnetBlock(c, c, groups, device=device)

    def forward(self, x, dumps=None, prefix=""):
        x = self.block_1(x)
        if dumps is not None:
            dumps[prefix + "mid_block.resnets.0"] = x
        x = self.attn_1(x)
        if dumps is not None:
            dumps[prefix + "mid_block.attentions.0"] = x
        return self.block_2(x)


class Level(nn.Module):
    """One resolution level: `block` ModuleList, optional `downsample`/`upsample`
    (LDM names encoder.down.{i}.block.{j}, decoder.up.{i}.upsample)."""


class Encoder(nn.Module):
    def __init__(self, cfg: VAEConfig, device=None):
        super().__init__()
        L = len(cfg.ch_mult)
        self.conv_in = nn.Conv2d(cfg.in_channels, cfg.ch, 3, padding=1, device=device)
        self.down = nn.ModuleList()
        cin = cfg.ch
        for i in range(L):
            lv = Level()
            lv.block = nn.ModuleList()
            cout = cfg.ch * cfg.ch_mult[i]
            for _ in range(cfg.num_res_blocks):
                lv.block.append(ResnetBlock(cin, cout, cfg.groups, device=device))
                cin = cout
            if i != L - 1:
                lv.downsample = Downsample(cin, device=device)
            self.down.append(lv)
        self.mid = Mid(cin, cfg.groups, device=device)
        self.norm_out = nn.GroupNorm(cfg.groups, cin, eps=GN_EPS, device=device)
        self.conv_out = nn.Conv2d(cin, 2 * cfg.z_channels, 3, padding=1, device=device)

    def forward(self, x, dumps=None):
        h = self.conv_in(x)
        for i, lv in enumerate(self.down):
            for blk in lv.block:
                h = blk(h)
            if hasattr(lv, "downsample"):
                h = lv.downsample(h)
            if dumps is not None:
                dumps[f"encoder.down_blocks.{i}"] = h
        h = self.mid(h, dumps, "encoder.")
        if dumps is not None:
            dumps["encoder.mid_block"] = h
        return self.conv_out(swish(self.norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, cfg: VAEConfig, device=None):
        super().__init__()
        L = len(cfg.ch_mult)
        cin = cfg.ch * cfg.ch_mult[-1]
        self.conv_in = nn.Conv2d(cfg.z_channels, cin, 3, padding=1, device=device)
        self.mid = Mid(cin, cfg.groups, device=device)
        levels = [None] * L
        for i in reversed(range(L)):
            lv = Level()
            lv.block = nn.ModuleList()
            cout = cfg.ch * cfg.ch_mult[i]
            for _ in range(cfg.num_res_blocks + 1):
                lv.block.append(ResnetBlock(cin, cout, cfg.groups, device=device))
                cin = cout
            if i != 0:
                lv.upsample = Upsample(cin, device=device)
            levels[i] = lv
        self.up = nn.ModuleList(levels)  # up[i] is level i; run from L-1 down to 0
        self.norm_out = nn.GroupNorm(cfg.groups, cin, eps=GN_EPS, device=device)
        self.conv_out = nn.Conv2d(cin, cfg.out_ch, 3, padding=1, device=device)

    def forward(self, z, dumps=None):
        h = self.conv_in(z)
        if dumps is not None:
            dumps["decoder.conv_in"] = h
        h = self.mid(h, dumps, "decoder.")
        if dumps is not None:
            dumps["decoder.mid_block"] = h
        L = len(self.up)
        for u, i in enumerate(reversed(range(L))):
            lv = self.up[i]
            for blk in lv.block:
                h = blk(h)
            if hasattr(lv, "upsample"):
                h = lv.upsample(h)
            if dumps is not None:
                dumps[f"decoder.up_blocks.{u}"] = h  # diffusers numbering: up_blocks.0 is the deepest level
        return self.conv_out(swish(self.norm_out(h)))


class AutoencoderKL(nn.Module):
    def __init__(self, cfg: VAEConfig, device=None):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg, device=device)
        self.decoder = Decoder(cfg, device=device)
        self.quant_conv = nn.Conv2d(2 * cfg.z_channels, 2 * cfg.embed_dim, 1, device=device)
        self.post_quant_conv = nn.Conv2d(cfg.embed_dim, cfg.z_channels, 1, device=device)

    def encode_moments(self, image, dumps=None):
        """image [B, 3, H, W] in [-1, 1] -> moments [B, 2 embed_dim, H/8, W/8] (mean | logvar, unclamped)."""
        return self.quant_conv(self.encoder(image, dumps))

    def decode_latent(self, latent, dumps=None):
        """latent as the sampler leaves it -> image in [-1, 1] (before clamping):
        decoder(post_quant_conv(latent / 0.18215))."""
        z = latent / SCALE_FACTOR
        z = self.post_quant_conv(z)
        if dumps is not None:
            dumps["post_quant_conv"] = z
        return self.decoder(z, dumps)
