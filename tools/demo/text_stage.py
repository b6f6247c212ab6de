"""Stage "text" of train.py: the text encoder is trained before the UNet, to
say what a caption predicts about its image, and then frozen, as SD's CLIP
text encoder is pretrained and frozen.

Why: trained jointly from scratch with the UNet, the encoder's outputs for
different class prompts stayed close for thousands of steps, and the UNet
learned to ignore them (the v2 model: epsilon changed by 2 % between two class
prompts at t = 400; 27 % of class-prompt outputs recognised).

Objective, from the mean of the encoder's 77 output vectors (the UNet
attends over all 77, and with causal attention the padding EOS positions see
the whole caption) through two linear heads that are thrown away:
- cross-entropy against the caption's class;
- MSE against the image's standardised texture features (features.py:
  colour, spectrum, local statistics), so that colour and scale words
  ("green", "fine", "large") are encoded too.
The empty prompt (10 % of the batch, as the UNet's caption dropout) is
trained towards the uniform class distribution and the mean feature vector.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_env
from demo_models import init_text_encoder, make_text_encoder
from features import features

EMPTY_FRACTION = 0.1


def image_features(imgs_u8):
    """Standardised feature matrix (float32 [N, D]) of uint8 images."""
    X = np.stack([features(im) for im in imgs_u8])
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    return torch.as_tensor(X, dtype=torch.float32)


def train(ids, labels, feats, empty_ids, n_classes, steps=500, batch=128, lr=1e-3, warmup=50, seed=4, log=print):
    """ids int64 [N, 77], labels int [N], feats float32 [N, D] -> the trained encoder (eval mode)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    te = make_text_encoder()
    init_text_encoder(te)
    width = te.cfg.hidden_size
    cls_head, feat_head = nn.Linear(width, n_classes), nn.Linear(width, feats.shape[1])
    params = list(te.parameters()) + list(cls_head.parameters()) + list(feat_head.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    ids, labels = torch.as_tensor(ids), torch.as_tensor(labels, dtype=torch.int64)
    empty = torch.as_tensor(empty_ids, dtype=torch.int64)
    uniform = torch.full((n_classes,), 1.0 / n_classes)
    clock = torch_env.Clock()
    te.train()
    for step in range(steps):
        p = min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / steps))
        for pg in opt.param_groups:
            pg["lr"] = lr * p
        idx = torch.randint(0, len(ids), (batch,), generator=g)
        tok, target_p, target_f = ids[idx].clone(), F.one_hot(labels[idx], n_classes).float(), feats[idx].clone()
        drop = torch.rand(batch, generator=g) < EMPTY_FRACTION
        tok[drop], target_p[drop], target_f[drop] = empty, uniform, 0.0
        pooled = te.encode(tok).mean(dim=1)
        ce = -(target_p * F.log_softmax(cls_head(pooled), dim=1)).sum(1).mean()
        mse = (feat_head(pooled) - target_f).square().mean()
        loss = ce + mse
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % 100 == 0:
            with torch.no_grad():
                acc = (cls_head(pooled).argmax(1) == labels[idx])[~drop].float().mean().item()
            log("text %5d/%d  ce %.3f  feature mse %.3f  class acc %.2f  %s" % (step + 1, steps, ce.item(),
                                                                                mse.item(), acc, clock))
    te.eval()
    return te


def separation(te, prompts):
    """Mean relative distance between the encodings of different prompts (diagnostic)."""
    with torch.no_grad():
        e = te.encode(prompts)
        d = [(e[i] - e[j]).norm().item() / e[i].norm().item() for i in range(len(e)) for j in range(len(e)) if i != j]
    return float(np.mean(d))
