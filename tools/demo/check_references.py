#!/usr/bin/python3
"""Runs every case of a reference manifest (tests/data/demo/manifest.json)
through `skingen generate` and prints the max pixel difference to the
reference PNG (what `skingen regress` checks in make test: tests/e2e/test_regress_data.cpp).

Usage: check_references.py [--manifest tests/data/demo/manifest.json] [--skingen build/skingen]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def read_png(path):
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifest", default=os.path.join(ROOT, "tests", "data", "demo", "manifest.json"))
    p.add_argument("--skingen", default=os.path.join(ROOT, "build", "skingen"))
    a = p.parse_args()
    base = os.path.dirname(os.path.abspath(a.manifest))
    cases = json.load(open(a.manifest))["cases"]
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for c in cases:
            out = os.path.join(tmp, c["name"] + ".png")
            r = subprocess.run([os.path.abspath(a.skingen), "generate"] + c["args"] + ["--quiet", "--out", out],
                               cwd=base, capture_output=True, text=True)
            if r.returncode:
                print("%-28s FAILED: %s" % (c["name"], r.stderr.strip()))
                bad += 1
                continue
            d = np.abs(read_png(out) - read_png(os.path.join(base, c["reference"])))
            ok = d.max() <= c["max_diff"]
            bad += not ok
            print("%-28s max pixel diff %d, mean %.4f, pixels > 0: %d  %s" %
                  (c["name"], d.max(), d.mean(), int((d > 0).sum()), "ok" if ok else "FAIL"), flush=True)
    print("%d/%d cases within max_diff" % (len(cases) - bad, len(cases)))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
