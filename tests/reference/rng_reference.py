#!/usr/bin/python3
"""Known outputs for engine/rng (tests/engine/test_rng.cpp).

--rng cpu:    torch.manual_seed(seed) then torch.randn(shape) on CPU, with
              successive draws from the same generator. PyTorch 1.13 (Debian
              python3-torch), whose AVX2 normal kernel is what x86 users get.
--rng philox: an independent NumPy transcription of A1111's
              modules/rng_philox.py (Philox-4x32-10 + Box-Muller in float64).

Run:  /usr/bin/python3 tests/reference/rng_reference.py
Writes tests/data/rng/rng_golden.safetensors. Each case is a list of shapes
drawn in order from one generator; tensor "<case>/<k>" is draw k. The case
list is JSON in metadata key "cases".
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "rng", "rng_golden.safetensors")

BIG_SEED = 18446744073709551557  # largest prime below 2**64
SEEDS = [0, 1, 42, 2**32 + 5, BIG_SEED]

# Per seed: fewer than 16 elements (scalar double path), exactly 16, a
# non-multiple of 16 (last block recomputed), and successive draws that mix
# both paths (the cached second Box-Muller value survives between calls).
SMALL_CASES = [[[7]], [[16]], [[3, 33]], [[3], [5], [20], [1], [4, 5, 5], [2]]]
LATENT = [[1, 4, 64, 64]]


# ---- A1111 rng_philox.py, transcribed ----
PHILOX_M = [0xD2511F53, 0xCD9E8D57]
PHILOX_W = [0x9E3779B9, 0xBB67AE85]
TWO_POW32_INV = np.array([2.3283064e-10], dtype=np.float32)
TWO_POW32_INV_2PI = np.array([2.3283064e-10 * 6.2831855], dtype=np.float32)


def _split(x):
    # (N,) uint64 -> (2, N) uint32: row 0 low words, row 1 high words
    return x.view(np.uint32).reshape(-1, 2).transpose(1, 0)


def _philox_round(counter, key):
    v1 = _split(counter[0].astype(np.uint64) * np.uint64(PHILOX_M[0]))
    v2 = _split(counter[2].astype(np.uint64) * np.uint64(PHILOX_M[1]))
    counter[0] = v2[1] ^ counter[1] ^ key[0]
    counter[1] = v2[0]
    counter[2] = v1[1] ^ counter[3] ^ key[1]
    counter[3] = v1[0]


class Philox:
    def __init__(self, seed):
        self.seed = seed
        self.offset = 0

    def randn(self, shape):
        n = int(np.prod(shape))
        counter = np.zeros((4, n), dtype=np.uint32)
        counter[0] = self.offset
        counter[2] = np.arange(n, dtype=np.uint32)
        self.offset += 1
        key = _split(np.full(n, self.seed, dtype=np.uint64)).copy()
        for _ in range(9):
            _philox_round(counter, key)
            key[0] = key[0] + np.uint32(PHILOX_W[0])
            key[1] = key[1] + np.uint32(PHILOX_W[1])
        _philox_round(counter, key)
        x, y = counter[0], counter[1]
        u = x * TWO_POW32_INV + TWO_POW32_INV / 2  # uint32 * float32 array -> float64
        v = y * TWO_POW32_INV_2PI + TWO_POW32_INV_2PI / 2
        assert u.dtype == np.float64
        s = np.sqrt(-2.0 * np.log(u))
        return (s * np.sin(v)).astype(np.float32).reshape(shape)


def draws(rng, seed, shapes):
    if rng == "cpu":
        torch.manual_seed(seed)
        return [torch.randn(s).numpy() for s in shapes]
    g = Philox(seed)
    return [g.randn(s) for s in shapes]


def main():
    # A1111's docstring example, an answer independent of this transcription.
    expected = np.array([[-0.92466259, -0.42534415, -2.6438457, 0.14518388],
                         [-0.12086647, -0.57972564, -0.62285122, -0.32838709],
                         [-1.07454231, -0.36314407, -1.67105067, 2.26550497]])
    assert np.allclose(Philox(0).randn((3, 4)), expected, atol=1e-7), "philox transcription disagrees with A1111"

    cases = []
    tensors = []
    for rng in ["cpu", "philox"]:
        for seed in SEEDS:
            shape_lists = list(SMALL_CASES)
            if seed == 0 or (rng == "cpu" and seed == 42):
                shape_lists.append(LATENT)
            for shapes in shape_lists:
                name = f"{rng}/{seed}/{'x'.join(str(d) for d in shapes[0])}" + (f"+{len(shapes) - 1}" if len(shapes) > 1 else "")
                cases.append({"name": name, "rng": rng, "seed": str(seed), "shapes": shapes})
                for k, arr in enumerate(draws(rng, seed, shapes)):
                    tensors.append((f"{name}/{k}", arr.astype(np.float32)))
    safetensors_io.write(OUT, tensors, {"cases": json.dumps(cases), "torch": torch.__version__,
                                        "numpy": np.__version__})
    print(f"wrote {len(cases)} cases, {len(tensors)} tensors to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
