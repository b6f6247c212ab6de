"""Deterministic random weights for the tiny golden models.

Not the training init: every tensor gets non-trivial values so that a wrong
weight, a swapped half or an ignored affine parameter changes the output
(upstream zero-initialises conv_out / proj_out / out_layers.3, which would
make those paths invisible). Matrices ~ N(0, gain^2 / fan_in), norm scales
1 + 0.1 N, biases 0.1 N; query/key projections get gain 1.5 so attention
logits have a standard deviation of about 2 (softmax far from uniform, so
head splitting and the 1/sqrt(d) scale are tested)."""
import math

import torch

QK_SUFFIXES = ("to_q.weight", "to_k.weight", "q_proj.weight", "k_proj.weight",
               ".q.weight", ".k.weight")


def random_weights(named_shapes, seed, embedding_std=None):
    """named_shapes: iterable of (name, shape). Returns name -> float32 tensor,
    drawn in sorted-name order from one torch.Generator(seed), so the result
    depends only on the names, shapes and seed."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in sorted(named_shapes, key=lambda x: x[0]):
        shape = tuple(shape)
        z = torch.randn(shape, generator=g, dtype=torch.float32)
        if embedding_std is not None and ("embedding" in name) and len(shape) == 2:
            w = z * embedding_std
        elif name.endswith("bias"):
            w = 0.1 * z
        elif len(shape) <= 1:  # GroupNorm / LayerNorm scale
            w = 1.0 + 0.1 * z
        else:
            fan_in = math.prod(shape[1:])
            gain = 1.5 if name.endswith(QK_SUFFIXES) else 1.0
            w = z * (gain / math.sqrt(fan_in))
        out[name] = w
    return out


def load_into(model, weights):
    """Copy `weights` (name -> tensor) into model (all names must match)."""
    sd = model.state_dict()
    assert set(sd) == set(weights), (set(sd) ^ set(weights))
    with torch.no_grad():
        for k, v in sd.items():
            v.copy_(weights[k].to(v.dtype))


def scale_non_norm(weights, scale):
    """Every weight and bias times `scale`, except the norms' affine parameters
    (1-D weights, and the biases beside them). Activations then stay about
    `scale` in size, each norm sees a variance of about scale², and its eps
    (1e-5 or 1e-6) changes the output by percents: a golden made this way
    catches a wrong eps, which the O(1) goldens see only at the level of fp32
    rounding (4-6e-6 relative for a transformer GroupNorm eps of 1e-5 instead of 1e-6)."""
    out = {}
    for name, w in weights.items():
        stem = name[:-len(".bias")] if name.endswith(".bias") else None
        is_norm = w.dim() == 1 and (stem is None or weights.get(stem + ".weight", w).dim() == 1)
        out[name] = w if is_norm else w * scale
    return out
