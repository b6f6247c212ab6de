"""Helpers shared by the golden writers."""
import json
import os

import torch


def rel_l2(a, b):
    a = a.double()
    b = b.double()
    return float((a - b).norm() / b.norm())


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(path + ".tmp", path)


def dir_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def shapes(d):
    return {k: list(v.shape) for k, v in d.items()}


GOLDEN_PRECISION = ("reference run in float64 (torch.float64) on the stored weight values "
                    "(F16/BF16 weights widened exactly) and the stored F32 inputs; results rounded "
                    "to F32 once at the end, so the golden's own error is ~1e-7 relative")
