#!/usr/bin/env python3
"""Byte-level BPE in exactly the CLIP format, trained on the demo captions.

Usage:
  bpe.py train --out DIR [--vocab-size 1000] [--captions N] [--seed S]
      writes DIR/vocab.json and DIR/merges.txt, then checks round trips
  bpe.py encode --tokenizer DIR TEXT...     ids with BOS/EOS, one JSON array per text
  bpe.py known-ids --tokenizer DIR --out FILE
      known answers of this encoder on DIR for the C++ tokenizer's tests
      (same layout as tests/data/clip/vocab/known_ids.json)
  bpe.py check-clip [--clip-dir tests/data/clip/vocab]
      runs this file's encoder on OpenAI's real merges and compares with
      known_ids.json (validates the encoder, hence the format)

Format (openai/CLIP clip/simple_tokenizer.py; HF CLIPTokenizer reads the same):
- symbols are bytes mapped by bytes_to_unicode() (printable Latin-1 kept,
  the other bytes moved to U+0100 + n);
- vocabulary order: the 256 byte symbols in bytes_to_unicode() order, the
  same 256 with "</w>" appended, one entry per merge in merge order, then
  "<|startoftext|>" and "<|endoftext|>" (so BOS = size-2, EOS = size-1; with
  OpenAI's full merges these are 49406 and 49407);
- merges.txt: first line "#version: 0.2", then one "left right" per line;
- text: html-unescaped, whitespace runs collapsed, stripped, lower-cased, then
  split with CLIP's pattern; the last symbol of each word carries "</w>".
  (ftfy.fix_text is skipped: the demo captions are plain ASCII.)
"""
import argparse
import html
import json
import os
import sys

try:
    import regex as re_mod            # Debian python3-regex: \p{L}, \p{N} as upstream
    PAT = re_mod.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
                         re_mod.IGNORECASE)
except ImportError:                     # same classes via the stdlib: letters = [^\W\d_]
    import re as re_mod
    PAT = re_mod.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+""",
                         re_mod.IGNORECASE)

HERE = os.path.dirname(os.path.abspath(__file__))
BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def bytes_to_unicode():
    """CLIP/GPT-2 byte -> printable symbol table (ordered as upstream)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def clean(text):
    text = html.unescape(html.unescape(text)).strip()
    return re_mod.sub(r"\s+", " ", text).strip().lower()


BYTE_SYMBOLS = bytes_to_unicode()


def pre_tokens(text):
    """Cleaned text split as CLIP does, each piece as byte symbols."""
    enc = BYTE_SYMBOLS
    return ["".join(enc[b] for b in t.encode("utf-8")) for t in PAT.findall(clean(text))]


def word_symbols(token):
    return tuple(token[:-1]) + (token[-1] + "</w>",)


def train(texts, vocab_size, min_freq=2):
    """Merges learned from word frequencies, most frequent pair first
    (ties broken by the pair's text, so the result is deterministic)."""
    freq = {}
    for t in texts:
        for tok in pre_tokens(t):
            if tok in (BOS, EOS):
                continue
            w = word_symbols(tok)
            freq[w] = freq.get(w, 0) + 1
    merges = []
    budget = vocab_size - 512 - 2
    while len(merges) < budget:
        pairs = {}
        for w, f in freq.items():
            for p in zip(w[:-1], w[1:]):
                pairs[p] = pairs.get(p, 0) + f
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < min_freq:
            break
        merges.append(best)
        joined = best[0] + best[1]
        nf = {}
        for w, f in freq.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(joined)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nf[tuple(out)] = nf.get(tuple(out), 0) + f
        freq = nf
    return merges


def build_vocab(merges):
    v = list(bytes_to_unicode().values())
    v = v + [s + "</w>" for s in v]
    v += ["".join(m) for m in merges]
    v += [BOS, EOS]
    return {s: i for i, s in enumerate(v)}


def save(out_dir, merges):
    os.makedirs(out_dir, exist_ok=True)
    vocab = build_vocab(merges)
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        # As HF CLIPTokenizer.save_vocabulary writes it.
        f.write(json.dumps(vocab, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(a + " " + b + "\n")
    return vocab


class Tokenizer:
    """CLIP's encode/decode procedure, written from simple_tokenizer.py."""

    def __init__(self, vocab, merges):
        self.encoder = vocab
        self.decoder = {i: s for s, i in vocab.items()}
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.byte_decoder = {c: b for b, c in bytes_to_unicode().items()}
        self.bos, self.eos = vocab[BOS], vocab[EOS]
        self.cache = {}

    @staticmethod
    def load(dir_):
        with open(os.path.join(dir_, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        return Tokenizer(vocab, read_merges(os.path.join(dir_, "merges.txt")))

    def bpe(self, token):
        if token in (BOS, EOS):
            return [token]
        if token in self.cache:
            return self.cache[token]
        word = list(word_symbols(token))
        while len(word) > 1:
            pairs = set(zip(word[:-1], word[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = out
        self.cache[token] = word
        return word

    def tokens(self, text):
        return [s for t in pre_tokens(text) for s in self.bpe(t)]

    def encode(self, text):
        """BOS + ids + EOS, no padding or truncation."""
        return [self.bos] + [self.encoder[s] for s in self.tokens(text)] + [self.eos]

    def decode(self, ids):
        s = "".join(self.decoder[i] for i in ids if i not in (self.bos, self.eos))
        b = bytearray(self.byte_decoder[c] for c in s)       # "</w>" is made of byte symbols too
        return b.decode("utf-8", errors="replace").replace("</w>", " ").strip()


def read_merges(path, limit=None):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    # The first line is the version header (OpenAI's reads "...txt#version: 0.2").
    lines = [ln for ln in lines[1:] if ln.strip()]
    return [tuple(ln.split()) for ln in lines[:limit]]


def check_round_trips(tok, texts):
    """Every token is in the vocabulary, decoding gives the cleaned text back
    (up to CLIP's space after each word) and re-encoding gives the same ids."""
    bad = 0
    for t in texts:
        ids = tok.encode(t)
        pieces = "".join(tok.decoder[i].replace("</w>", "") for i in ids[1:-1])
        if pieces != "".join(pre_tokens(t)) or tok.encode(tok.decode(ids)) != ids:
            bad += 1
    return bad


def demo_captions(n, seed):
    sys.path.insert(0, HERE)
    import numpy as np
    from classes import CLASSES, NAMES
    from textures import caption
    # Captions only (no images): same caption function and colour words.
    from classes import COLOURS, SKIN
    words = sorted(set(COLOURS) | set(SKIN))
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        cls = NAMES[i % len(NAMES)]
        out.append(caption(rng, cls, words[rng.integers(len(words))], rng.random()))
    assert all(c in CLASSES for c in NAMES)
    return out


def cmd_train(a):
    texts = demo_captions(a.captions, a.seed)
    merges = train(texts, a.vocab_size)
    vocab = save(a.out, merges)
    tok = Tokenizer.load(a.out)
    extra = ["A photo of a CAT!!", "skin_4 texture, 8k, (detailed:1.2)", "it's a dragon's hide; 2 colours",
             "ünïcödé 日本 ✓", "", "   lots   of   space  ", "x" * 300]
    bad = check_round_trips(tok, texts + extra)
    lens = [len(tok.encode(t)) for t in texts]
    words = {w for t in texts for w in pre_tokens(t)}
    single = sum(len(tok.bpe(w)) == 1 for w in words)
    print("vocab %d (%d merges), %d distinct caption words, %d of them one token; "
          "caption length %d..%d tokens incl. BOS/EOS; round-trip failures: %d"
          % (len(vocab), len(merges), len(words), single, min(lens), max(lens), bad))
    if bad:
        sys.exit(1)


def cmd_encode(a):
    tok = Tokenizer.load(a.tokenizer)
    for t in a.text:
        print(json.dumps(tok.encode(t)))


KNOWN_PROMPTS = [
    "green reptile scales, seamless texture", "close-up of pale human skin with pores",
    "Macro photo of FINE purple biological cells, high detail", "", "a photo of a cat",
    "skin_4 texture, 8k, (detailed:1.2)", "it's a dragon's hide; 2 colours!!",
    "  tan   freckled\thuman skin\n", "ünïcödé 日本 ✓", "rust" * 30,
]


def cmd_known_ids(a):
    tok = Tokenizer.load(a.tokenizer)
    cases = [{"prompt": p, "ids": tok.encode(p)} for p in KNOWN_PROMPTS]
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump({"about": "tools/demo/bpe.py encoder on %s: BOS + tokens + EOS, no padding, "
                            "no truncation, no prompt-weight parsing (BOS %d, EOS %d)"
                            % (os.path.relpath(a.tokenizer, os.path.join(HERE, "..", "..")), tok.bos, tok.eos),
                   "cases": cases}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote %d cases to %s" % (len(cases), a.out))


def cmd_check_clip(a):
    import gzip
    path = os.path.join(a.clip_dir, "bpe_simple_vocab_16e6.txt.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = [tuple(m.split()) for m in lines[1:49152 - 256 - 2 + 1]]   # as upstream slices it
    tok = Tokenizer(build_vocab(merges), merges)
    with open(os.path.join(a.clip_dir, "known_ids.json")) as f:
        cases = json.load(f)["cases"]
    ok = 0
    for c in cases:
        got = tok.encode(c["prompt"])
        ok += got == c["ids"]
        if got != c["ids"]:
            print("MISMATCH %r: %s vs %s" % (c["prompt"], got, c["ids"]))
    print("real CLIP merges: %d/%d known answers match (BOS %d, EOS %d)" % (ok, len(cases), tok.bos, tok.eos))
    if ok != len(cases):
        sys.exit(1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--out", required=True)
    t.add_argument("--vocab-size", type=int, default=1000)
    t.add_argument("--captions", type=int, default=30000)
    t.add_argument("--seed", type=int, default=3)
    e = sub.add_parser("encode")
    e.add_argument("--tokenizer", required=True)
    e.add_argument("text", nargs="+")
    k = sub.add_parser("known-ids")
    k.add_argument("--tokenizer", required=True)
    k.add_argument("--out", required=True)
    c = sub.add_parser("check-clip")
    c.add_argument("--clip-dir", default=os.path.join(HERE, "..", "..", "tests", "data", "clip", "vocab"))
    a = p.parse_args(argv)
    {"train": cmd_train, "encode": cmd_encode, "known-ids": cmd_known_ids, "check-clip": cmd_check_clip}[a.cmd](a)


if __name__ == "__main__":
    main()
