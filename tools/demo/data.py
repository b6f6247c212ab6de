"""Training data for the demo model: generator textures, labels, captions and
token ids, generated once and cached (uint8, under /tmp by default).

Deterministic: image i of the training seed is textures.generate(seed, i)
whatever the worker split. Token ids follow the engine's SD 1.x prompt rule
(engine/prompt_chunks.hpp): BOS + tokens + EOS, filled with EOS to 77; the
empty prompt is BOS + 76 EOS.
"""
import json
import os
from multiprocessing import Pool

import numpy as np

import bpe
from classes import NAMES
from textures import batch

TRAIN_SEED = 5151         # never used by the classifier (1001 train, 2002 held out)
CONTEXT = 77
TOKENIZER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tokenizer")


def _chunk(args):
    seed, start, n, size = args
    imgs, labels, caps = batch(seed, start, n, size)
    return imgs, labels, caps


def generate(seed, n, size=64, workers=2, chunk=500):
    jobs = [(seed, s, min(chunk, n - s), size) for s in range(0, n, chunk)]
    with Pool(workers) as p:
        parts = p.map(_chunk, jobs)
    imgs = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    caps = [c for p in parts for c in p[2]]
    return imgs, labels, caps


def load(cache_dir, seed=TRAIN_SEED, n=45000, size=64):
    """(imgs uint8 [n, S, S, 3], labels int [n], captions list) from the cache or freshly made."""
    os.makedirs(cache_dir, exist_ok=True)
    base = os.path.join(cache_dir, "textures_s%d_n%d_%dpx" % (seed, n, size))
    if not os.path.exists(base + ".npz"):
        imgs, labels, caps = generate(seed, n, size)
        np.savez(base + ".tmp.npz", imgs=imgs, labels=labels)
        with open(base + ".json.tmp", "w") as f:
            json.dump(caps, f)
        os.replace(base + ".json.tmp", base + ".json")
        os.replace(base + ".tmp.npz", base + ".npz")
    d = np.load(base + ".npz")
    with open(base + ".json") as f:
        caps = json.load(f)
    return d["imgs"], d["labels"], caps


class PromptIds:
    """Prompt -> 77 token ids as the engine builds them for an SD 1.x model."""

    def __init__(self, tokenizer_dir=TOKENIZER_DIR):
        self.tok = bpe.Tokenizer.load(tokenizer_dir)
        self.cache = {}

    def __call__(self, text):
        if text not in self.cache:
            ids = self.tok.encode(text)              # BOS ... EOS
            body = ids[1:-1][:CONTEXT - 2]            # one chunk: 75 tokens at most
            ids = [self.tok.bos] + body + [self.tok.eos]
            ids += [self.tok.eos] * (CONTEXT - len(ids))
            self.cache[text] = ids
        return self.cache[text]

    def batch(self, texts):
        return np.asarray([self(t) for t in texts], dtype=np.int64)


def class_prompts():
    """One plain prompt per class, as used for the quality measurement."""
    from classes import CLASSES
    return {c: CLASSES[c][1][0] + ", seamless texture" for c in NAMES}
