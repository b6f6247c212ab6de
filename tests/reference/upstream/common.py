"""Shared helpers of the oracle generators: file paths, reading inputs,
writing goldens, the error metric."""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "data"))
OUT = os.path.join(DATA, "upstream")
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "stubs"))
import safetensors_io  # noqa: E402  (tests/reference/safetensors_io.py: F32/F64/I64/I32 writer)
from safetensors.torch import load_file  # noqa: E402,F401  (our stand-in reader, stubs/safetensors)


def rel_l2(a, b):
    """‖a − b‖₂ / ‖b‖₂ in float64 (b is the reference)."""
    a, b = a.double(), b.double()
    return float((a - b).norm() / b.norm())


def write_golden(path, tensors, meta):
    """tensors: dict name -> torch tensor (floating ones stored as F32); meta: JSON-able dict."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    items = []
    for name in sorted(tensors):
        t = tensors[name].detach()
        arr = t.to(torch.float32).numpy() if t.is_floating_point() else t.numpy()
        items.append((name, np.ascontiguousarray(arr)))
    safetensors_io.write(path, items, {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()})
    print(f"wrote {os.path.relpath(path, DATA)}: " + ", ".join(f"{n} {list(a.shape)}" for n, a in items))


def setup_torch():
    torch.set_num_threads(1)
    torch.manual_seed(0)
