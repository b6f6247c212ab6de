"""Minimal safetensors writer and reader (huggingface/safetensors format:
u64 little-endian header length, JSON header, raw little-endian row-major
bytes; the header is padded with spaces so the data starts 8-byte aligned,
as the reference writer does).

Only what the goldens need: F64, F32, F16, BF16, I64, I32, U8."""
import json
import os
import struct

import numpy as np
import torch

# safetensors dtype name -> (numpy dtype used for the raw bytes, element size)
_NP = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # stored as raw 16-bit patterns
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "U8": np.dtype("u1"),
}


def f32_to_bf16_bits(a):
    """float32 array -> uint16 bfloat16 bit patterns, round to nearest even
    (what torch's .to(torch.bfloat16) does for finite values)."""
    u = np.ascontiguousarray(a, dtype="<f4").view("<u4").astype(np.uint64)
    lsb = (u >> 16) & 1
    rounded = (u + 0x7FFF + lsb) >> 16
    return rounded.astype("<u2")


def bf16_bits_to_f32(bits):
    return (bits.astype("<u4") << 16).view("<f4")


def _to_bytes(t, dtype):
    """torch tensor -> bytes in the given safetensors dtype."""
    t = t.detach().cpu().contiguous()
    if dtype in ("F64", "F32", "F16"):
        np_t = t.to({"F64": torch.float64, "F32": torch.float32, "F16": torch.float16}[dtype]).numpy()
        return np_t.astype(_NP[dtype], copy=False).tobytes()
    if dtype == "BF16":
        return f32_to_bf16_bits(t.to(torch.float32).numpy()).tobytes()
    if dtype in ("I64", "I32", "U8"):
        np_t = t.numpy().astype(_NP[dtype])
        return np_t.tobytes()
    raise ValueError(f"unsupported dtype {dtype}")


def round_to(t, dtype):
    """Round a float tensor to the values it has once stored as `dtype`,
    returned as float32 (F32 is a no-op, F16/BF16 round to nearest even)."""
    t = t.detach().to(torch.float32)
    if dtype == "F32":
        return t.clone()
    if dtype == "F16":
        return t.to(torch.float16).to(torch.float32)
    if dtype == "BF16":
        return torch.from_numpy(bf16_bits_to_f32(f32_to_bf16_bits(t.numpy())).copy()).reshape(t.shape)
    raise ValueError(dtype)


def write(path, tensors, dtypes=None, default_dtype="F32", metadata=None):
    """Write `tensors` (name -> torch tensor, in the given order) to `path`.
    `dtypes` maps a name to its safetensors dtype; others get default_dtype
    (integer tensors keep I64 unless told otherwise)."""
    dtypes = dtypes or {}
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        if name in dtypes:
            dt = dtypes[name]
        elif not t.is_floating_point():
            dt = "I64"
        else:
            dt = default_dtype
        b = _to_bytes(t, dt)
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    tmp = path + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read(path, as_float32=True):
    """Read a safetensors file -> (dict name -> torch tensor, dtype map, metadata).
    Floating tensors are returned as float32 (exact for F16/BF16/F32) unless
    as_float32 is False (then F64 stays double)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out, dts = {}, {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = info["dtype"]
        raw = np.frombuffer(data[base + b: base + e], dtype=_NP[dt]).reshape(info["shape"])
        if dt == "BF16":
            arr = bf16_bits_to_f32(raw)
        elif dt in ("F16", "F32") or (dt == "F64" and as_float32):
            arr = raw.astype(np.float32)
        else:
            arr = raw.copy()
        out[name] = torch.from_numpy(np.array(arr))
        dts[name] = dt
    return out, dts, meta
