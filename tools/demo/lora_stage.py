"""Stage 3 of train.py: the skin LoRA, in kohya-ss sd-scripts' format.

Modules as networks/lora.py (LoRANetwork) chooses them for an SD 1.x model
with `--network_dim 8 --network_alpha 4 --network_args conv_dim=4 conv_alpha=2`:
- UNet: every Linear / Conv2d inside a Transformer2DModel (proj_in, proj_out,
  attn1/attn2 to_q/to_k/to_v/to_out.0, ff.net.0.proj, ff.net.2) with rank 8;
  inside ResnetBlock2D / Downsample2D / Upsample2D the 3x3 convs with the
  conv rank 4 (LoCon) and the Linear / 1x1 ones (time_emb_proj,
  conv_shortcut) with rank 8;
- text encoder: CLIPAttention q/k/v/out_proj and CLIPMLP fc1/fc2, rank 8.
Names: prefix + diffusers (UNet) or HF (text encoder) module path with every
'.' replaced by '_'. Tensors: `.lora_down.weight` [r, in(, k, k)],
`.lora_up.weight` [out, r(, 1, 1)], `.alpha` (0-d); up starts at zero.
Forward (LoRAModule.forward): org(x) + up(down(x)) * multiplier * alpha / r;
the 3x3 down conv has the original conv's stride and padding.

Training: frozen base model, skin images only (human_skin, freckled_skin),
captions: 50 % the image's own, 40 % the caption of a random image of another
class, 10 % empty -> whatever the prompt says, the LoRA pulls towards skin.
"""
import math
import os

import numpy as np
import torch
import torch.nn as nn

import torch_env
from demo_models import SCALE_FACTOR, alphas_cumprod, set_tiling
from diffusion_stage import CAPTION_DROPOUT, mean_free_inputs, snr_weights
from sdref.unet_names import ldm_to_diffusers

RANK, ALPHA = 8, 4.0
CONV_RANK, CONV_ALPHA = 4, 2.0
OUTPUT_NAME = "skin_demo"


def _unet_modules(unet):
    """(kohya name, module, kind) of the UNet's LoRA targets; kind: 'linear' | 'conv3x3'."""
    names = ldm_to_diffusers(unet)                    # LDM param name -> diffusers param name
    kinds = {}
    for ldm, dif, kind in unet.block_names:
        kinds[ldm] = kind
    mods = dict(unet.named_modules())
    out = []
    for ldm_param, dif_param in names.items():
        if not ldm_param.endswith(".weight"):
            continue
        mpath = ldm_param[:-len(".weight")]
        m = mods[mpath]
        if not isinstance(m, (nn.Linear, nn.Conv2d)):
            continue
        dif_mod = dif_param[:-len(".weight")]
        # owning diffusers block: Transformer2DModel (attentions.N), ResnetBlock2D
        # (resnets.N), Downsample2D / Upsample2D (samplers); conv_in, conv_out and
        # time_embedding are outside every target class.
        parts = dif_mod.split(".")
        owner = None
        for i, p in enumerate(parts):
            if p in ("attentions", "resnets", "downsamplers", "upsamplers"):
                owner = p
                break
        if owner is None:
            continue
        is_3x3 = isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1)
        if owner == "attentions":
            kind = "linear"
        else:
            kind = "conv3x3" if is_3x3 else "linear"
        out.append(("lora_unet_" + dif_mod.replace(".", "_"), m, kind))
    return out


def _te_modules(te):
    out = []
    for name, m in te.named_modules():
        if isinstance(m, nn.Linear) and (".self_attn." in name or ".mlp." in name):
            out.append(("lora_te_" + name.replace(".", "_"), m, "linear"))
    return out


def module_table(unet, te):
    return {n: m for n, m, _ in _te_modules(te) + _unet_modules(unet)}


class LoRAModule(nn.Module):
    def __init__(self, name, org, rank, alpha):
        super().__init__()
        self.lora_name = name
        if isinstance(org, nn.Conv2d):
            self.lora_down = nn.Conv2d(org.in_channels, rank, org.kernel_size, org.stride, org.padding, bias=False)
            self.lora_up = nn.Conv2d(rank, org.out_channels, 1, bias=False)
        else:
            self.lora_down = nn.Linear(org.in_features, rank, bias=False)
            self.lora_up = nn.Linear(rank, org.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_down.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_up.weight)
        self.register_buffer("alpha", torch.tensor(float(alpha)))
        self.scale = alpha / rank
        self.multiplier = 1.0
        self._org = [org]                    # not a submodule: its weights stay out of this state_dict
        self._org_forward = org.forward
        org.forward = self.forward

    def forward(self, x):
        org = self._org[0]
        if isinstance(org, nn.Conv2d):
            self.lora_down.padding_mode = org.padding_mode   # follows the tiling mode
        return self._org_forward(x) + self.lora_up(self.lora_down(x)) * (self.multiplier * self.scale)

    def remove(self):
        self._org[0].forward = self._org_forward


class LoRANetwork(nn.Module):
    def __init__(self, unet, te):
        super().__init__()
        self.loras = []
        for name, m, kind in _te_modules(te) + _unet_modules(unet):
            r, a = (CONV_RANK, CONV_ALPHA) if kind == "conv3x3" else (RANK, ALPHA)
            lora = LoRAModule(name, m, r, a)
            self.add_module(name, lora)
            self.loras.append(lora)

    def kohya_state_dict(self, dtype=torch.float16):
        sd = {}
        for lora in self.loras:
            sd[lora.lora_name + ".lora_down.weight"] = lora.lora_down.weight.detach().to(dtype)
            sd[lora.lora_name + ".lora_up.weight"] = lora.lora_up.weight.detach().to(dtype)
            sd[lora.lora_name + ".alpha"] = lora.alpha.detach().to(dtype)
        return dict(sorted(sd.items()))

    def remove(self):
        for lora in self.loras:
            lora.remove()


def lora_captions(labels, captions, skin_idx, rng, n):
    """Captions for n draws of skin images: own 50 %, another class's 40 %, empty 10 %."""
    from classes import NAMES, SKIN_CLASSES
    skin_set = {NAMES.index(c) for c in SKIN_CLASSES}
    other = np.flatnonzero(~np.isin(labels, list(skin_set)))
    out = []
    for i in skin_idx[:n]:
        u = rng.random()
        if u < CAPTION_DROPOUT:
            out.append("")
        elif u < 0.5:
            out.append(captions[int(rng.choice(other))])
        else:
            out.append(captions[int(i)])
    return out


def train(unet, te, lat_mean, lat_std, labels, captions, prompt_ids, out_dir, epochs=6, per_class=800,
          batch=32, lr=1e-3, seed=3, log=print):
    """Trains the LoRA on the frozen (EMA) base models; returns the LoRANetwork."""
    from classes import NAMES, SKIN_CLASSES
    torch.manual_seed(seed)
    for p in list(unet.parameters()) + list(te.parameters()):
        p.requires_grad_(False)
    net = LoRANetwork(unet, te)
    params = [p for l in net.loras for p in (l.lora_down.weight, l.lora_up.weight)]
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), weight_decay=0.01)
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    skin = np.concatenate([np.flatnonzero(labels == NAMES.index(c))[:per_class] for c in SKIN_CLASSES])
    ac = alphas_cumprod().float()
    steps_per_epoch = len(skin) // batch
    total = epochs * steps_per_epoch
    h = lat_mean.shape[-1]
    path = os.path.join(out_dir, "lora_ckpt.pt")
    start = 0
    ck = torch_env.load_checkpoint(path, opt, g, rng)
    if ck:
        net.load_state_dict(ck["net"])
        start = ck["epoch"]
        log("lora: resumed at epoch %d" % start)
    clock = torch_env.Clock()
    unet.train()
    te.train()
    step = start * steps_per_epoch
    for epoch in range(start, epochs):
        order = rng.permutation(skin)
        caps = lora_captions(labels, captions, order, rng, len(order))
        avg = None
        for k in range(steps_per_epoch):
            warm = min(1.0, (step + 1) / 50)
            cos = 0.5 * (1 + math.cos(math.pi * step / total))
            for pg in opt.param_groups:
                pg["lr"] = lr * warm * (0.1 + 0.9 * cos)
            sel = order[k * batch:(k + 1) * batch]
            idx = torch.from_numpy(sel)
            z = (lat_mean[idx] + lat_std[idx] * torch.randn(lat_mean[idx].shape, generator=g)) * SCALE_FACTOR
            dy, dx = (int(v) for v in torch.randint(0, h, (2,), generator=g))
            z = torch.roll(z, (dy, dx), dims=(2, 3))
            tok = torch.as_tensor(prompt_ids.batch(caps[k * batch:(k + 1) * batch]))
            t = torch.randint(0, 1000, (len(sel),), generator=g)
            noise = torch.randn(z.shape, generator=g)
            a = ac[t][:, None, None, None]
            xt, target = mean_free_inputs(z, noise, a, t)      # as the base was trained
            set_tiling(unet, circular=bool(step % 2))
            pred = unet(xt, t.float(), te.encode(tok))
            per = (pred - target).square().mean(dim=(1, 2, 3))
            loss = (per * snr_weights(ac, t)).mean()   # the class is decided at high noise
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            avg = per.mean().item() if avg is None else 0.95 * avg + 0.05 * per.mean().item()
            step += 1
            if step % 25 == 0:
                log("lora epoch %d step %d/%d  mse %.4f  %s" % (epoch + 1, step, total, avg, clock))
        torch_env.save_checkpoint(path, opt, g, rng, net=net.state_dict(), epoch=epoch + 1)
    set_tiling(unet, False)
    unet.eval()
    te.eval()
    return net, {"epochs": epochs, "steps": total, "images": int(len(skin)), "batch": batch, "lr": lr,
                 "batches_per_epoch": steps_per_epoch}
