"""Process setup shared by the training and rendering scripts.

- import paths: this folder (data, classifier, tokenizer) and
  tests/reference (sdref model definitions, samplers, safetensors I/O);
- BLAS check: Debian's python3-torch sends every nn.Linear / matmul to
  whatever libblas.so.3 resolves to; the reference netlib BLAS is ~20x slower
  than OpenBLAS (PLAN.md §0). Training refuses to run without OpenBLAS;
  rendering (float64, small) does not need it;
- threads: torch defaults to 1 here; training uses 2;
- CPU-time accounting: the machine is shared, so wall time overstates the
  cost; every stage reports process CPU time too.
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
REF = os.path.join(ROOT, "tests", "reference")
for p in (HERE, REF):
    if p not in sys.path:
        sys.path.insert(0, p)

# libgomp's default active spin-wait is disastrous on a shared machine: with
# 2 threads a VAE step took 10-70 s wall (3.6-12.5 s CPU) instead of 2-3.6 s
# wall (1.2 s CPU) with passive waiting. Must be set before libgomp loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"


def blas_in_use():
    torch.randn(4, 4) @ torch.randn(4, 4)  # make sure libblas is mapped
    with open("/proc/self/maps") as f:
        libs = {ln.split()[-1] for ln in f if "blas" in ln}
    return ", ".join(sorted(libs)) or "none"


def setup(threads=2, need_openblas=True):
    torch.set_num_threads(threads)
    blas = blas_in_use()
    if need_openblas and "openblas" not in blas:
        sys.exit("BLAS in use: %s\nTraining needs OpenBLAS: apt-get install libopenblas0-openmp and run with\n"
                 "  LD_LIBRARY_PATH=%s /usr/bin/python3 ..." % (blas, OPENBLAS_DIR))
    return blas


def save_checkpoint(path, opt, gen, rng, **state):
    """Writes `state` with the optimiser and both random generators (torch
    Generator `gen`, numpy Generator `rng`) to path.tmp, then renames it over
    path: an interrupted save leaves the previous checkpoint whole."""
    tmp = path + ".tmp"
    torch.save(dict(state, opt=opt.state_dict(), gen=gen.get_state(), rng=rng.bit_generator.state), tmp)
    os.replace(tmp, path)


def load_checkpoint(path, opt, gen, rng):
    """None when path does not exist; otherwise restores the optimiser and the
    generators written by save_checkpoint and returns the whole dict (the
    caller restores its models and step from it)."""
    if not os.path.exists(path):
        return None
    ck = torch.load(path)
    opt.load_state_dict(ck["opt"])
    gen.set_state(ck["gen"])
    rng.bit_generator.state = ck["rng"]
    return ck


class Clock:
    """Wall and process CPU time since construction (CPU time includes all threads)."""

    def __init__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()

    def wall(self):
        return time.perf_counter() - self.w0

    def cpu(self):
        return time.process_time() - self.c0

    def __str__(self):
        return "wall %.1f min, CPU %.1f min" % (self.wall() / 60, self.cpu() / 60)
