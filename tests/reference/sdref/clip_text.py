"""CLIP text transformer (HF transformers CLIPTextModel semantics), built so
state_dict names are the HF names `text_model.*` (diffusers text_encoder/,
and `cond_stage_model.transformer.text_model.*` in SD 1.x single files).

Facts: transformers models/clip/modeling_clip.py (CLIPTextEmbeddings: token +
position embedding; CLIPEncoderLayer: pre-LN, residual around self-attention
and MLP; causal mask; q scaled by head_dim^-0.5; final_layer_norm;
layer_norm_eps 1e-5; hidden_act quick_gelu x*sigmoid(1.702x) for ViT-L/14).
SD 2.x OpenCLIP ViT-H (open_clip transformer.py, FrozenOpenCLIPEmbedder in
Stability-AI ldm/modules/encoders/modules.py) is the same math with exact GELU,
fused in_proj q|k|v, and by default the penultimate layer then ln_final."""
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import multi_head_attention


@dataclass
class CLIPTextConfig:
    vocab_size: int = 49408
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    max_position_embeddings: int = 77
    layer_norm_eps: float = 1e-5
    hidden_act: str = "quick_gelu"  # OpenCLIP: "gelu"

    def to_json(self):
        return asdict(self)


CLIP_L = CLIPTextConfig()
OPENCLIP_H = CLIPTextConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                            intermediate_size=4096, hidden_act="gelu")


def activation(name, x):
    if name == "quick_gelu":
        return x * torch.sigmoid(1.702 * x)
    if name == "gelu":
        return F.gelu(x)  # exact erf form (open_clip uses nn.GELU())
    raise ValueError(name)


class Embeddings(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.hidden_size, device=device)
        self.position_embedding = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size, device=device)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1])
        return self.token_embedding(ids) + self.position_embedding(pos)[None]


class SelfAttention(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        d = cfg.hidden_size
        self.heads = cfg.num_attention_heads
        self.k_proj = nn.Linear(d, d, device=device)
        self.v_proj = nn.Linear(d, d, device=device)
        self.q_proj = nn.Linear(d, d, device=device)
        self.out_proj = nn.Linear(d, d, device=device)

    def forward(self, x):
        o = multi_head_attention(self.q_proj(x), self.k_proj(x), self.v_proj(x), self.heads, causal=True)
        return self.out_proj(o)


class MLP(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        self.act = cfg.hidden_act
        self.fc1 = nn.Linear(cfg.hidden_size, cfg.intermediate_size, device=device)
        self.fc2 = nn.Linear(cfg.intermediate_size, cfg.hidden_size, device=device)

    def forward(self, x):
        return self.fc2(activation(self.act, self.fc1(x)))


class EncoderLayer(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        self.self_attn = SelfAttention(cfg, device=device)
        self.layer_norm1 = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps, device=device)
        self.mlp = MLP(cfg, device=device)
        self.layer_norm2 = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps, device=device)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        x = x + self.mlp(self.layer_norm2(x))
        return x


class Encoder(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        self.layers = nn.ModuleList([EncoderLayer(cfg, device=device) for _ in range(cfg.num_hidden_layers)])


class TextTransformer(nn.Module):
    def __init__(self, cfg, device=None):
        super().__init__()
        self.embeddings = Embeddings(cfg, device=device)
        self.encoder = Encoder(cfg, device=device)
        self.final_layer_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps, device=device)


class CLIPTextModel(nn.Module):
    def __init__(self, cfg: CLIPTextConfig, device=None):
        super().__init__()
        self.cfg = cfg
        self.text_model = TextTransformer(cfg, device=device)

    def hidden_states(self, ids):
        """ids [B, T] -> list of L + 1 states [B, T, D]: embeddings, then each layer's output
        (HF output_hidden_states)."""
        tm = self.text_model
        h = tm.embeddings(ids)
        states = [h]
        for layer in tm.encoder.layers:
            h = layer(h)
            states.append(h)
        return states

    def encode(self, ids, clip_skip=1):
        """A1111 clip skip: take hidden_states[-clip_skip] and apply final_layer_norm
        (clip_skip 1 == last_hidden_state)."""
        states = self.hidden_states(ids)
        return self.text_model.final_layer_norm(states[-clip_skip])


def openclip_state_dict(hf_sd):
    """HF-named text model tensors -> open_clip names (SD 2.x `cond_stage_model.model.`
    without prefix), the inverse of diffusers' convert_text_enc_state_dict_v20:
    q/k/v fused into attn.in_proj_weight/bias in the order q, k, v."""
    out = {}
    pre = "text_model."
    layers = sorted({int(k.split(".")[3]) for k in hf_sd if k.startswith(pre + "encoder.layers.")})
    out["token_embedding.weight"] = hf_sd[pre + "embeddings.token_embedding.weight"]
    out["positional_embedding"] = hf_sd[pre + "embeddings.position_embedding.weight"]
    for i in layers:
        s = f"{pre}encoder.layers.{i}."
        d = f"transformer.resblocks.{i}."
        out[d + "ln_1.weight"] = hf_sd[s + "layer_norm1.weight"]
        out[d + "ln_1.bias"] = hf_sd[s + "layer_norm1.bias"]
        out[d + "attn.in_proj_weight"] = torch.cat([hf_sd[s + f"self_attn.{p}_proj.weight"] for p in "qkv"], 0)
        out[d + "attn.in_proj_bias"] = torch.cat([hf_sd[s + f"self_attn.{p}_proj.bias"] for p in "qkv"], 0)
        out[d + "attn.out_proj.weight"] = hf_sd[s + "self_attn.out_proj.weight"]
        out[d + "attn.out_proj.bias"] = hf_sd[s + "self_attn.out_proj.bias"]
        out[d + "ln_2.weight"] = hf_sd[s + "layer_norm2.weight"]
        out[d + "ln_2.bias"] = hf_sd[s + "layer_norm2.bias"]
        out[d + "mlp.c_fc.weight"] = hf_sd[s + "mlp.fc1.weight"]
        out[d + "mlp.c_fc.bias"] = hf_sd[s + "mlp.fc1.bias"]
        out[d + "mlp.c_proj.weight"] = hf_sd[s + "mlp.fc2.weight"]
        out[d + "mlp.c_proj.bias"] = hf_sd[s + "mlp.fc2.bias"]
    out["ln_final.weight"] = hf_sd[pre + "final_layer_norm.weight"]
    out["ln_final.bias"] = hf_sd[pre + "final_layer_norm.bias"]
    return out
