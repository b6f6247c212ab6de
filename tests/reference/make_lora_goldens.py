#!/usr/bin/python3
"""Regenerate the LoRA goldens under tests/data/lora/ (deterministic: fixed seeds).

    /usr/bin/python3 tests/reference/make_lora_goldens.py [--out tests/data] [--case NAME ...]

See tests/reference/README_lora.md."""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

from sdref import golden_lora  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.normpath(os.path.join(HERE, "..", "data")))
    ap.add_argument("--case", action="append", help="only these case names")
    args = ap.parse_args()
    torch.set_num_threads(1)  # summation order independent of the machine's core count
    golden_lora.write_all(args.out, only=args.case)


if __name__ == "__main__":
    main()
