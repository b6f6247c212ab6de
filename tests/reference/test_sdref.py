#!/usr/bin/python3
"""Sanity tests of the reference itself (not of the C++ engine):

    /usr/bin/python3 tests/reference/test_sdref.py

- safetensors writer/reader round trip (F32, F16, BF16 incl. rounding, I64);
- full-size SD 1.5 UNet: 686 tensors, 859,520,964 parameters (SD 2.1: 865,910,724);
- LDM <-> diffusers UNet names for SD 1.5 equal the table of diffusers
  scripts/convert_diffusers_to_original_stable_diffusion.py;
- for SD 1.5, SD 2.1 and every golden case, the diffusers names and shapes we
  write equal an independent enumeration that follows diffusers' own
  construction loop driven by our config.json (so names, shapes and config agree);
- the committed golden model files hold exactly the expected tensor names in
  their layout, and re-running the reference on them reproduces io.safetensors.
"""
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
DATA = os.path.normpath(os.path.join(HERE, "..", "data"))

import torch  # noqa: E402

from sdref import safetensors_io as st  # noqa: E402
from sdref.unet import SD15, SD21, UNet  # noqa: E402
from sdref.unet_names import LDM_PREFIX, diffusers_config, ldm_to_diffusers  # noqa: E402
from sdref import golden_clip, golden_unet, golden_vae  # noqa: E402
from sdref.clip_text import CLIP_L, CLIPTextModel, openclip_state_dict  # noqa: E402
from sdref.layers import multi_head_attention  # noqa: E402
from sdref.init import load_into  # noqa: E402
from sdref.vae import SD_VAE, AutoencoderKL  # noqa: E402
from sdref.vae_names import CKPT_PREFIX, ldm_to_diffusers_name  # noqa: E402
from sdref.vae_names import diffusers_config as vae_diffusers_config  # noqa: E402


def load_json(path):
    with open(path) as f:
        return json.load(f)


def diffusers_unet_shapes(c):
    """Expected diffusers UNet2DConditionModel state_dict shapes from a config
    dict, following the channel bookkeeping of diffusers unet_2d_condition.py
    (down/mid/up loops) and unet_2d_blocks.py (CrossAttnUpBlock2D:
    res_skip_channels = in_channels on the last layer, else out_channels;
    resnet_in_channels = prev_output_channel on the first layer)."""
    S = {}
    boc = c["block_out_channels"]
    L = len(boc)
    temb = boc[0] * 4
    depth = c.get("transformer_layers_per_block", 1)
    ctx = c["cross_attention_dim"]
    linear = c.get("use_linear_projection", False)

    def lin(p, o, i, bias=True):
        S[p + ".weight"] = [o, i]
        if bias:
            S[p + ".bias"] = [o]

    def conv(p, o, i, k):
        S[p + ".weight"] = [o, i, k, k]
        S[p + ".bias"] = [o]

    def norm(p, ch):
        S[p + ".weight"] = [ch]
        S[p + ".bias"] = [ch]

    def resnet(p, cin, cout):
        norm(p + ".norm1", cin)
        conv(p + ".conv1", cout, cin, 3)
        lin(p + ".time_emb_proj", cout, temb)
        norm(p + ".norm2", cout)
        conv(p + ".conv2", cout, cout, 3)
        if cin != cout:
            conv(p + ".conv_shortcut", cout, cin, 1)

    def transformer(p, ch):
        norm(p + ".norm", ch)
        if linear:
            lin(p + ".proj_in", ch, ch)
            lin(p + ".proj_out", ch, ch)
        else:
            conv(p + ".proj_in", ch, ch, 1)
            conv(p + ".proj_out", ch, ch, 1)
        for d in range(depth):
            b = f"{p}.transformer_blocks.{d}"
            for a, kv in (("attn1", ch), ("attn2", ctx)):
                lin(f"{b}.{a}.to_q", ch, ch, bias=False)
                lin(f"{b}.{a}.to_k", ch, kv, bias=False)
                lin(f"{b}.{a}.to_v", ch, kv, bias=False)
                lin(f"{b}.{a}.to_out.0", ch, ch)
            for n in ("norm1", "norm2", "norm3"):
                norm(f"{b}.{n}", ch)
            lin(f"{b}.ff.net.0.proj", 8 * ch, ch)
            lin(f"{b}.ff.net.2", ch, 4 * ch)

    conv("conv_in", boc[0], c["in_channels"], 3)
    lin("time_embedding.linear_1", temb, boc[0])
    lin("time_embedding.linear_2", temb, temb)
    out = boc[0]
    for i, typ in enumerate(c["down_block_types"]):
        inp, out = out, boc[i]
        for j in range(c["layers_per_block"]):
            resnet(f"down_blocks.{i}.resnets.{j}", inp if j == 0 else out, out)
            if typ.startswith("CrossAttn"):
                transformer(f"down_blocks.{i}.attentions.{j}", out)
        if i != L - 1:
            conv(f"down_blocks.{i}.downsamplers.0.conv", out, out, 3)
    resnet("mid_block.resnets.0", boc[-1], boc[-1])
    transformer("mid_block.attentions.0", boc[-1])
    resnet("mid_block.resnets.1", boc[-1], boc[-1])
    rev = list(reversed(boc))
    out = rev[0]
    for i, typ in enumerate(c["up_block_types"]):
        prev, out = out, rev[i]
        inp = rev[min(i + 1, L - 1)]
        n = c["layers_per_block"] + 1
        for j in range(n):
            skip = inp if j == n - 1 else out
            rin = prev if j == 0 else out
            resnet(f"up_blocks.{i}.resnets.{j}", rin + skip, out)
            if typ.startswith("CrossAttn"):
                transformer(f"up_blocks.{i}.attentions.{j}", out)
        if i != L - 1:
            conv(f"up_blocks.{i}.upsamplers.0.conv", out, out, 3)
    norm("conv_norm_out", boc[0])
    conv("conv_out", c["out_channels"], boc[0], 3)
    return S


def upstream_sd15_table():
    """The (LDM, diffusers) prefix table of diffusers
    scripts/convert_diffusers_to_original_stable_diffusion.py (4 levels,
    2 res blocks, no attention in down_blocks.3 / up_blocks.0), restated."""
    table = []
    for i in range(4):
        for j in range(2):
            table.append((f"input_blocks.{3 * i + j + 1}.0.", f"down_blocks.{i}.resnets.{j}."))
            if i < 3:
                table.append((f"input_blocks.{3 * i + j + 1}.1.", f"down_blocks.{i}.attentions.{j}."))
        for j in range(3):
            table.append((f"output_blocks.{3 * i + j}.0.", f"up_blocks.{i}.resnets.{j}."))
            if i > 0:
                table.append((f"output_blocks.{3 * i + j}.1.", f"up_blocks.{i}.attentions.{j}."))
        if i < 3:
            table.append((f"input_blocks.{3 * (i + 1)}.0.op.", f"down_blocks.{i}.downsamplers.0.conv."))
            table.append((f"output_blocks.{3 * i + 2}.{1 if i == 0 else 2}.", f"up_blocks.{i}.upsamplers.0."))
    table.append(("middle_block.1.", "mid_block.attentions.0."))
    for j in range(2):
        table.append((f"middle_block.{2 * j}.", f"mid_block.resnets.{j}."))
    whole = {"time_embedding.linear_1.weight": "time_embed.0.weight", "time_embedding.linear_1.bias": "time_embed.0.bias",
             "time_embedding.linear_2.weight": "time_embed.2.weight", "time_embedding.linear_2.bias": "time_embed.2.bias",
             "conv_in.weight": "input_blocks.0.0.weight", "conv_in.bias": "input_blocks.0.0.bias",
             "conv_norm_out.weight": "out.0.weight", "conv_norm_out.bias": "out.0.bias",
             "conv_out.weight": "out.2.weight", "conv_out.bias": "out.2.bias"}
    resnet = [("in_layers.0", "norm1"), ("in_layers.2", "conv1"), ("out_layers.0", "norm2"),
              ("out_layers.3", "conv2"), ("emb_layers.1", "time_emb_proj"), ("skip_connection", "conv_shortcut")]
    return table, whole, resnet


def upstream_convert(dnames):
    """diffusers name -> LDM name, applied in the script's order."""
    table, whole, resnet = upstream_sd15_table()
    out = {}
    for k in dnames:
        v = whole.get(k, k)
        if "resnets" in v:
            for sd, hf in resnet:
                v = v.replace(hf, sd)
        for sd, hf in table:
            v = v.replace(hf, sd)
        out[k] = v
    return out


def diffusers_vae_shapes(c):
    """Expected diffusers AutoencoderKL shapes from its config, following the
    channel loops of diffusers vae.py (Encoder: DownEncoderBlock2D with
    in = previous block's out; Decoder: UpDecoderBlock2D over reversed
    block_out_channels, num_layers = layers_per_block + 1)."""
    S = {}
    boc = c["block_out_channels"]
    L = len(boc)
    lat = c["latent_channels"]

    def conv(p, o, i, k):
        S[p + ".weight"] = [o, i, k, k]
        S[p + ".bias"] = [o]

    def norm(p, ch):
        S[p + ".weight"] = [ch]
        S[p + ".bias"] = [ch]

    def resnet(p, cin, cout):
        norm(p + ".norm1", cin)
        conv(p + ".conv1", cout, cin, 3)
        norm(p + ".norm2", cout)
        conv(p + ".conv2", cout, cout, 3)
        if cin != cout:
            conv(p + ".conv_shortcut", cout, cin, 1)

    def mid(p, ch):
        resnet(p + ".resnets.0", ch, ch)
        norm(p + ".attentions.0.group_norm", ch)
        for n in ("to_q", "to_k", "to_v", "to_out.0"):
            S[f"{p}.attentions.0.{n}.weight"] = [ch, ch]
            S[f"{p}.attentions.0.{n}.bias"] = [ch]
        resnet(p + ".resnets.1", ch, ch)

    conv("encoder.conv_in", boc[0], c["in_channels"], 3)
    out = boc[0]
    for i in range(L):
        inp, out = out, boc[i]
        for j in range(c["layers_per_block"]):
            resnet(f"encoder.down_blocks.{i}.resnets.{j}", inp if j == 0 else out, out)
        if i != L - 1:
            conv(f"encoder.down_blocks.{i}.downsamplers.0.conv", out, out, 3)
    mid("encoder.mid_block", boc[-1])
    norm("encoder.conv_norm_out", boc[-1])
    conv("encoder.conv_out", 2 * lat, boc[-1], 3)
    conv("decoder.conv_in", boc[-1], lat, 3)
    mid("decoder.mid_block", boc[-1])
    rev = list(reversed(boc))
    out = rev[0]
    for i in range(L):
        prev, out = out, rev[i]
        for j in range(c["layers_per_block"] + 1):
            resnet(f"decoder.up_blocks.{i}.resnets.{j}", prev if j == 0 else out, out)
        if i != L - 1:
            conv(f"decoder.up_blocks.{i}.upsamplers.0.conv", out, out, 3)
    norm("decoder.conv_norm_out", boc[0])
    conv("decoder.conv_out", c["out_channels"], boc[0], 3)
    conv("quant_conv", 2 * lat, 2 * lat, 1)
    conv("post_quant_conv", lat, lat, 1)
    return S


def upstream_vae_convert(dnames):
    """diffusers (legacy attention names) -> LDM, as diffusers
    scripts/convert_diffusers_to_original_stable_diffusion.py does for SD's
    4-level VAE (vae_conversion_map, then vae_conversion_map_attn)."""
    table = [("nin_shortcut", "conv_shortcut"), ("norm_out", "conv_norm_out"), ("mid.attn_1.", "mid_block.attentions.0.")]
    for i in range(4):
        for j in range(2):
            table.append((f"encoder.down.{i}.block.{j}.", f"encoder.down_blocks.{i}.resnets.{j}."))
        if i < 3:
            table.append((f"down.{i}.downsample.", f"down_blocks.{i}.downsamplers.0."))
            table.append((f"up.{3 - i}.upsample.", f"up_blocks.{i}.upsamplers.0."))
        for j in range(3):
            table.append((f"decoder.up.{3 - i}.block.{j}.", f"decoder.up_blocks.{i}.resnets.{j}."))
    for i in range(2):
        table.append((f"mid.block_{i + 1}.", f"mid_block.resnets.{i}."))
    attn = [("norm.", "group_norm."), ("q.", "query."), ("k.", "key."), ("v.", "value."), ("proj_out.", "proj_attn.")]
    out = {}
    for k in dnames:
        v = k
        for sd, hf in table:
            v = v.replace(hf, sd)
        if "attentions" in k:
            for sd, hf in attn:
                v = v.replace(hf, sd)
        out[k] = v
    return out


class SafetensorsIO(unittest.TestCase):
    def test_roundtrip(self):
        g = torch.Generator().manual_seed(0)
        a = torch.randn(3, 5, generator=g) * 100
        ids = torch.arange(12, dtype=torch.int64).reshape(3, 4)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.safetensors")
            st.write(p, {"a32": a, "a16": a, "abf": a, "ids": ids}, {"a16": "F16", "abf": "BF16"},
                     metadata={"k": "v"})
            with open(p, "rb") as f:
                n = int.from_bytes(f.read(8), "little")
            self.assertEqual((8 + n) % 8, 0)
            t, dts, meta = st.read(p)
        self.assertEqual(dts, {"a32": "F32", "a16": "F16", "abf": "BF16", "ids": "I64"})
        self.assertEqual(meta, {"k": "v"})
        self.assertTrue(torch.equal(t["a32"], a))
        self.assertTrue(torch.equal(t["a16"], a.half().float()))
        self.assertTrue(torch.equal(t["abf"], a.bfloat16().float()))  # our RNE == torch's
        self.assertTrue(torch.equal(st.round_to(a, "BF16"), a.bfloat16().float()))
        self.assertTrue(torch.equal(t["ids"], ids))


class FullSizeUNet(unittest.TestCase):
    def test_sd15_counts(self):
        sd = UNet(SD15, device="meta").state_dict()
        self.assertEqual(len(sd), 686)
        self.assertEqual(sum(v.numel() for v in sd.values()), 859_520_964)

    def test_sd21_counts(self):
        sd = UNet(SD21, device="meta").state_dict()
        self.assertEqual(len(sd), 686)
        self.assertEqual(sum(v.numel() for v in sd.values()), 865_910_724)

    def test_sd15_names_match_upstream_script(self):
        m = UNet(SD15, device="meta")
        mp = ldm_to_diffusers(m)
        back = upstream_convert(mp.values())
        for ldm, dif in mp.items():
            self.assertEqual(back[dif], ldm, dif)

    def test_diffusers_shapes_follow_diffusers_construction(self):
        for cfg in [SD15, SD21] + [c.cfg for c in golden_unet.CASES]:
            m = UNet(cfg, device="meta")
            mp = ldm_to_diffusers(m)
            ours = {mp[k]: list(v.shape) for k, v in m.state_dict().items()}
            expected = diffusers_unet_shapes(diffusers_config(cfg, 64))
            self.assertEqual(set(ours), set(expected))
            for k in ours:
                self.assertEqual(ours[k], expected[k], k)


class Attention(unittest.TestCase):
    def test_against_torch_multihead_attention(self):
        """Our head split / scale / causal mask == torch.nn.MultiheadAttention
        (the module open_clip uses), with identity projections."""
        g = torch.Generator().manual_seed(1)
        b, n, c, heads = 2, 9, 24, 3
        q, k, v = (torch.randn(b, n, c, generator=g, dtype=torch.float64) for _ in range(3))
        mha = torch.nn.MultiheadAttention(c, heads, bias=False, batch_first=True).double()
        with torch.no_grad():
            mha.in_proj_weight.copy_(torch.cat([torch.eye(c)] * 3).double())
            mha.out_proj.weight.copy_(torch.eye(c).double())
        for causal in (False, True):
            mask = torch.ones(n, n, dtype=torch.bool).triu(1) if causal else None
            ref, _ = mha(q, k, v, attn_mask=mask, need_weights=False)
            ours = multi_head_attention(q, k, v, heads, causal=causal)
            self.assertLess(float((ref - ours).abs().max()), 1e-12)


class TextEncoder(unittest.TestCase):
    def test_clip_l_counts(self):
        sd = CLIPTextModel(CLIP_L, device="meta").state_dict()
        self.assertEqual(len(sd), 196)
        self.assertEqual(sum(v.numel() for v in sd.values()), 123_060_480)

    def test_causal(self):
        m = CLIPTextModel(golden_clip.TINY_L).double()
        ids = torch.randint(0, 1000, (1, 77), generator=torch.Generator().manual_seed(3))
        ids2 = ids.clone()
        ids2[0, 40:] = 5
        a, b = m.encode(ids), m.encode(ids2)
        self.assertTrue(torch.equal(a[:, :40], b[:, :40]))
        self.assertFalse(torch.equal(a[:, 40:], b[:, 40:]))

    def test_openclip_layer_is_torch_mha(self):
        """One open_clip-named layer run through torch.nn.MultiheadAttention
        (in_proj_weight fused q|k|v) equals our HF-structured layer."""
        cfg = golden_clip.TINY_H
        m = CLIPTextModel(cfg).double()
        oc = openclip_state_dict(m.state_dict())
        layer = m.text_model.encoder.layers[0]
        mha = torch.nn.MultiheadAttention(cfg.hidden_size, cfg.num_attention_heads, batch_first=True).double()
        with torch.no_grad():
            mha.in_proj_weight.copy_(oc["transformer.resblocks.0.attn.in_proj_weight"])
            mha.in_proj_bias.copy_(oc["transformer.resblocks.0.attn.in_proj_bias"])
            mha.out_proj.weight.copy_(oc["transformer.resblocks.0.attn.out_proj.weight"])
            mha.out_proj.bias.copy_(oc["transformer.resblocks.0.attn.out_proj.bias"])
            x = torch.randn(2, 77, cfg.hidden_size, dtype=torch.float64)
            mask = torch.ones(77, 77, dtype=torch.bool).triu(1)
            ref, _ = mha(x, x, x, attn_mask=mask, need_weights=False)
            ours = layer.self_attn(x)
        self.assertLess(float((ref - ours).abs().max()), 1e-12)


class FullSizeVAE(unittest.TestCase):
    def test_sd_vae_counts(self):
        sd = AutoencoderKL(SD_VAE, device="meta").state_dict()
        self.assertEqual(len(sd), 248)
        self.assertEqual(sum(v.numel() for v in sd.values()), 83_653_863)

    def test_names_match_upstream_script(self):
        sd = AutoencoderKL(SD_VAE, device="meta").state_dict()
        legacy = {k: ldm_to_diffusers_name(k, 4, legacy=True)[0] for k in sd}
        back = upstream_vae_convert(legacy.values())
        for ldm, dif in legacy.items():
            self.assertEqual(back[dif], ldm, dif)

    def test_diffusers_shapes_follow_diffusers_construction(self):
        for cfg in [SD_VAE] + [c.cfg for c in golden_vae.CASES]:
            L = len(cfg.ch_mult)
            ours = {}
            for k, v in AutoencoderKL(cfg, device="meta").state_dict().items():
                dn, squeeze = ldm_to_diffusers_name(k, L)
                ours[dn] = list(v.shape[:2]) if squeeze else list(v.shape)
            self.assertEqual(ours, diffusers_vae_shapes(vae_diffusers_config(cfg, 256)))


class Goldens(unittest.TestCase):
    def test_clip_files(self):
        for case in golden_clip.CASES:
            cdir = os.path.join(DATA, "clip", case.name)
            m = CLIPTextModel(case.cfg)
            ref = m.state_dict()
            if case.layout == "ldm":
                tensors, dts, _ = st.read(os.path.join(cdir, "model.safetensors"))
                pre = golden_clip.LDM_CLIP_PREFIX
                self.assertEqual(dts.pop(pre + "text_model.embeddings.position_ids"), "I64")
                tensors.pop(pre + "text_model.embeddings.position_ids")
                w = {k[len(pre):]: v for k, v in tensors.items()}
            elif case.layout == "diffusers_folder":
                tensors, dts, _ = st.read(os.path.join(cdir, "model", "text_encoder", "model.safetensors"))
                cfg = load_json(os.path.join(cdir, "model", "text_encoder", "config.json"))
                self.assertEqual(cfg["num_hidden_layers"], case.cfg.num_hidden_layers)
                w = tensors
            else:
                tensors, dts, _ = st.read(os.path.join(cdir, "model.safetensors"))
                pre = golden_clip.LDM_OPENCLIP_PREFIX
                oc = {k[len(pre):]: v for k, v in tensors.items()}
                expected = openclip_state_dict(ref)
                self.assertEqual(set(oc) - {"text_projection", "logit_scale"}, set(expected))
                # undo the fusion to load our HF-structured model
                w = {}
                D = case.cfg.hidden_size
                for i in range(case.cfg.num_hidden_layers):
                    s_ = f"text_model.encoder.layers.{i}."
                    d_ = f"transformer.resblocks.{i}."
                    for j, p in enumerate("qkv"):
                        w[s_ + f"self_attn.{p}_proj.weight"] = oc[d_ + "attn.in_proj_weight"][j * D:(j + 1) * D]
                        w[s_ + f"self_attn.{p}_proj.bias"] = oc[d_ + "attn.in_proj_bias"][j * D:(j + 1) * D]
                    for a, b in (("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"),
                                 ("layer_norm2", "ln_2"), ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")):
                        for wb in ("weight", "bias"):
                            w[f"{s_}{a}.{wb}"] = oc[f"{d_}{b}.{wb}"]
                w["text_model.embeddings.token_embedding.weight"] = oc["token_embedding.weight"]
                w["text_model.embeddings.position_embedding.weight"] = oc["positional_embedding"]
                w["text_model.final_layer_norm.weight"] = oc["ln_final.weight"]
                w["text_model.final_layer_norm.bias"] = oc["ln_final.bias"]
            self.assertEqual(set(w), set(ref))
            self.assertEqual(set(dts.values()), {case.weight_dtype})
            m = m.double()
            load_into(m, {k: v.double() for k, v in w.items()})
            io, _, _ = st.read(os.path.join(cdir, "io.safetensors"))
            with torch.no_grad():
                h1 = m.encode(io["ids"], 1).float()
                h2 = m.encode(io["ids"], 2).float()
            if case.layout == "ldm_openclip":
                pairs = [(h2, io["hidden"]), (h1, io["hidden.last_layer"])]
            else:
                pairs = [(h1, io["hidden"]), (h2, io["hidden.clip_skip_2"])]
            for ours, gold in pairs:
                self.assertLess(float((ours - gold).abs().max()), 1e-6, case.name)
            self.assertGreater(float((h1 - h2).abs().max()), 0.1)

    def test_vae_files(self):
        for case in golden_vae.CASES:
            cdir = os.path.join(DATA, "vae", case.name)
            L = len(case.cfg.ch_mult)
            m = AutoencoderKL(case.cfg)
            legacy = case.layout == "diffusers_legacy_folder"
            if case.layout.startswith("ldm"):
                tensors, dts, _ = st.read(os.path.join(cdir, "model.safetensors"))
                prefix = CKPT_PREFIX if case.layout == "ldm_checkpoint" else ""
                self.assertEqual(set(tensors), {prefix + k for k in m.state_dict()})
                w = {k[len(prefix):]: v for k, v in tensors.items()}
            else:
                tensors, dts, _ = st.read(os.path.join(cdir, "model", "vae", "diffusion_pytorch_model.safetensors"))
                cfg = load_json(os.path.join(cdir, "model", "vae", "config.json"))
                expected = diffusers_vae_shapes(cfg)
                if legacy:
                    ren = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}
                    for a, b in ren.items():
                        for part in ("encoder", "decoder"):
                            for wb in ("weight", "bias"):
                                expected[f"{part}.mid_block.attentions.0.{b}.{wb}"] = \
                                    expected.pop(f"{part}.mid_block.attentions.0.{a}.{wb}")
                self.assertEqual({k: list(v.shape) for k, v in tensors.items()}, expected)
                w = {}
                for k, ref in m.state_dict().items():
                    dn, squeeze = ldm_to_diffusers_name(k, L, legacy)
                    w[k] = tensors[dn].reshape(ref.shape)
            self.assertEqual(set(dts.values()), {case.weight_dtype})
            m = m.double()
            load_into(m, {k: v.double() for k, v in w.items()})
            dec, _, _ = st.read(os.path.join(cdir, "decode.safetensors"))
            enc, _, _ = st.read(os.path.join(cdir, "encode.safetensors"))
            with torch.no_grad():
                img = m.decode_latent(dec["latent"].double())
                mom = m.encode_moments(enc["image"].double())
            self.assertLess(float((img.float() - dec["image"]).abs().max()), 1e-6, case.name)
            self.assertLess(float((mom.float() - enc["moments"]).abs().max()), 1e-6, case.name)

    def test_unet_files(self):
        for case in golden_unet.CASES:
            cdir = os.path.join(DATA, "unet", case.name)
            meta = load_json(os.path.join(cdir, "case.json"))
            m = UNet(case.cfg)
            mp = ldm_to_diffusers(m)
            if case.layout == "ldm":
                path = os.path.join(cdir, "model.safetensors")
                expected = {LDM_PREFIX + k for k in mp}
            else:
                path = os.path.join(cdir, "model.safetensors") if case.layout == "diffusers" else \
                    os.path.join(cdir, "model", "unet", "diffusion_pytorch_model.safetensors")
                expected = set(mp.values())
            tensors, dts, _ = st.read(path)
            unet_keys = {k for k in tensors if k not in meta["extra_non_unet_keys"]}
            self.assertEqual(unet_keys, expected, case.name)
            self.assertEqual({dts[k] for k in unet_keys}, {case.weight_dtype})
            if case.layout == "diffusers_folder":
                cfg = load_json(os.path.join(cdir, "model", "unet", "config.json"))
                shapes = diffusers_unet_shapes(cfg)
                self.assertEqual({k: list(v.shape) for k, v in tensors.items()}, shapes)
            # recompute from the stored files
            inv = {v: k for k, v in mp.items()}
            w = {}
            for k, v in tensors.items():
                if k in unet_keys:
                    w[k[len(LDM_PREFIX):] if case.layout == "ldm" else inv[k]] = v.double()
            m = m.double()
            load_into(m, w)
            io, _, _ = st.read(os.path.join(cdir, "io.safetensors"))
            with torch.no_grad():
                eps = m(io["x"].double(), io["t"].double(), io["context"].double())
            err = float((eps.float() - io["eps"]).abs().max())
            self.assertLess(err, 1e-6, case.name)


if __name__ == "__main__":
    torch.set_num_threads(1)
    unittest.main(verbosity=2)
