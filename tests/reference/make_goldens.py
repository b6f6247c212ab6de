#!/usr/bin/python3
"""Regenerate the PyTorch goldens under tests/data/ (deterministic: fixed seeds).

    /usr/bin/python3 tests/reference/make_goldens.py [--out tests/data] [unet] [vae] [clip] [keys]

With no part named, everything is regenerated. See tests/reference/README.md."""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

from sdref import golden_unet  # noqa: E402

PARTS = ["unet", "vae", "clip", "keys"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("parts", nargs="*", metavar="PART", help="one of %s (default: all)" % ", ".join(PARTS))
    ap.add_argument("--out", default=os.path.normpath(os.path.join(HERE, "..", "data")),
                    help="output root (default: tests/data)")
    ap.add_argument("--case", action="append", help="only these case names")
    args = ap.parse_args()
    bad = [p for p in args.parts if p not in PARTS]
    if bad:
        ap.error(f"unknown part {bad[0]!r}; choose from {', '.join(PARTS)}")
    parts = args.parts or PARTS
    torch.set_num_threads(1)  # summation order independent of the machine's core count

    def want(name):
        return not args.case or name in args.case

    if "unet" in parts:
        for c in golden_unet.CASES:
            if want(c.name):
                golden_unet.write_case(c, args.out)
    if "vae" in parts:
        from sdref import golden_vae
        for c in golden_vae.CASES:
            if want(c.name):
                golden_vae.write_case(c, args.out)
    if "clip" in parts:
        from sdref import golden_clip
        for c in golden_clip.CASES:
            if want(c.name):
                golden_clip.write_case(c, args.out)
    if "keys" in parts:
        from sdref import golden_keys
        golden_keys.write_all(args.out)


if __name__ == "__main__":
    main()
