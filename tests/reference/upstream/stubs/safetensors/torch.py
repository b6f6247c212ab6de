"""Stand-in for safetensors.torch: `load_file` (read-only). Format: u64
little-endian header length, JSON header, raw little-endian row-major bytes
(huggingface/safetensors docs). Saving is not needed by the generators."""
import json
import struct

import numpy as np
import torch

_DTYPES = {
    "F64": (np.dtype("<f8"), torch.float64),
    "F32": (np.dtype("<f4"), torch.float32),
    "F16": (np.dtype("<f2"), torch.float16),
    "BF16": (np.dtype("<i2"), torch.bfloat16),  # raw bits, reinterpreted below
    "I64": (np.dtype("<i8"), torch.int64),
    "I32": (np.dtype("<i4"), torch.int32),
    "U8": (np.dtype("u1"), torch.uint8),
}


def load_file(path, device="cpu"):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        np_dtype, torch_dtype = _DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[8 + n + b:8 + n + e], dtype=np_dtype).reshape(info["shape"]).copy()
        t = torch.from_numpy(arr)
        out[name] = t.view(torch.bfloat16) if torch_dtype == torch.bfloat16 else t
    return out


def save_file(*args, **kwargs):
    raise RuntimeError("safetensors stand-in: save_file is not implemented (the generators write their own files)")
