#!/usr/bin/python3
"""Offline reference for the CLIP tokenizer tests.

An independent Python implementation of openai/CLIP `clip/simple_tokenizer.py`
as it behaves without ftfy (html.unescape twice, strip, `regex` whitespace
collapse, strip, lower; its pre-tokenisation pattern with IGNORECASE; byte
symbols; "</w>"; merges by rank). It reads the real merges list from
tests/data/clip/vocab/bpe_simple_vocab_16e6.txt.gz and writes
the expected ids of our own edge cases to tests/data/clip/edge_ids.json.

Needs python3-regex (Debian): apt-get install python3-regex.
Run:  /usr/bin/python3 tests/reference/clip_tokenizer_ref.py
"""
import gzip
import html
import json
import os
import sys

import regex

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VOCAB_DIR = os.path.join(ROOT, "tests", "data", "clip", "vocab")
VOCAB_GZ = os.path.join(VOCAB_DIR, "bpe_simple_vocab_16e6.txt.gz")
OUT = os.path.join(ROOT, "tests", "data", "clip", "edge_ids.json")

PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE)


def byte_alphabet():
    keep = [b for b in range(256) if 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255]
    rest = [b for b in range(256) if b not in keep]
    symbol = {b: chr(b) for b in keep}
    for n, b in enumerate(rest):
        symbol[b] = chr(256 + n)
    return keep + rest, symbol


class RefTokenizer:
    def __init__(self, gz_path):
        lines = gzip.open(gz_path).read().decode("utf-8").split("\n")
        pairs = [tuple(line.split()) for line in lines[1:49152 - 256 - 2 + 1]]
        order, self.symbol = byte_alphabet()
        tokens = [self.symbol[b] for b in order]
        tokens += [t + "</w>" for t in tokens[:256]]
        tokens += ["".join(p) for p in pairs]
        tokens += ["<|startoftext|>", "<|endoftext|>"]
        self.ids = {t: i for i, t in enumerate(tokens)}
        self.rank = {p: i for i, p in enumerate(pairs)}
        self.memo = {}

    @staticmethod
    def clean(text):
        text = html.unescape(html.unescape(text)).strip()
        text = regex.sub(r"\s+", " ", text).strip()
        return text.lower()

    def word_symbols(self, word):
        if word in ("<|startoftext|>", "<|endoftext|>"):
            return [word]
        if word in self.memo:
            return self.memo[word]
        syms = list(word[:-1]) + [word[-1] + "</w>"]
        while len(syms) > 1:
            ranked = [(self.rank[(a, b)], a, b) for a, b in zip(syms, syms[1:]) if (a, b) in self.rank]
            if not ranked:
                break
            _, a, b = min(ranked)
            merged, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(syms[i])
                    i += 1
            syms = merged
        self.memo[word] = syms
        return syms

    def encode(self, text):
        out = []
        for piece in PATTERN.findall(self.clean(text)):
            word = "".join(self.symbol[b] for b in piece.encode("utf-8"))
            out += [self.ids[s] for s in self.word_symbols(word)]
        return out


LONG = ("seamless tileable texture of green dragon scales, iridescent, wet, highly detailed, "
        "macro photograph, 8k, sharp focus, studio lighting, subsurface scattering, "
        "physically based rendering, albedo map, no shadows, even lighting, top-down view, "
        "pbr material, game asset, octane render, unreal engine 5.1.")

EDGE_CASES = [
    "",
    "   \t\n ",
    "Café crème brûlée, naïve façade, Ærøskøbing, São Paulo",
    "ΣΟΦΟΣ ΟΔΟΣ Σ ΑΣ. ΑΣ' ΣΑ",
    "İstanbul ISTANBUL ß ẞ ﬁne ﬂower",
    "日本語のテキスト 中文字符 한국어",
    "Привет, мир! Ёжик",
    "🐉 dragon 🔥🔥 scales ✨ 👨‍👩‍👧 👍🏽",
    "!!!??? ... --- *** ((())) [[[]]] ,,, ;;; ~~~ ___ \\\\ //",
    "1234567890 3.14 1,000,000 ½ ² ٣٤ ⅻ Ⅻ ⓐ 10x 512x512 sd1.5 v2",
    "it's they're we've I'm you'll he'd don't IT'S THEY'RE rock'n'roll 'quoted' ''s 's",
    "a   b\t\tc\n\nd \r\n e\u00a0f\u2003g\u3000h\u001ci\u0085j",
    "\u001c edge controls \u001f",
    "&amp; &lt;b&gt; &quot;q&quot; &#39; &#x41; &amp;lt; &copy &notit; &#0; &#128; &#xD800; &#1114112; &#x110000; &bogus; &",
    "&AElig&Eacute;x &ampfoo &lt3 &#65&#x42;C",
    "<|startoftext|>hello<|endoftext|> <|ENDOFTEXT|> !<|endoftext|> <|ſtartoftext|>",
    "ſtop 'ſ 'S 'ST",
    "e\u0301 a\u0345 \u0345x combining",
    "Ⓐ ⓩ ① ⑩ ㊿ 𝟘𝟙 𝐀𝐁",
    "Hello, World! (masterpiece:1.2) [bad] <lora:skin_4-000015:0.7> BREAK",
    "supercalifragilisticexpialidocious" * 6,
    "x" * 200,
    "‘curly’ “quotes” – — … •",
    "tab\there",
    LONG,
    "A",
    ",",
    " , ",
]


TRICKY = ["\u03a3", "\u0130", "\u017f", "\u0345", "\u001c", "\u00a0", "\u0301", "\u2003", "\u0085",
          "\u00df", "\u1e9e", "\ufb01", "\u2163", "\u00bd", "\u0663", "\U0001F409", "\u200d", "\u4e2d",
          "'s", "'T", "'re", "'LL", "'d", "'m", "'ve", "<|endoftext|>", "<|startoftext|>", "&amp;", "&amp",
          "&#", "&#x", "&lt;", "&", ";", "#", "x", "41", "&#65;", "&#x1F409;", "\t", "\n", "  ", " ", " ",
          "(", ")", "[", "]", ":", ",", ".", "!", "?", "-", "_", "\\", "/", "|", "<", ">", "'", '"',
          "0", "7", "a", "Z", "skin", "SCALES", "texture", "dragon", "é", "ñ", "Ω", "ж", "日本", "🔥"]


def random_prompts(count, seed):
    """Seeded random strings: pieces that exercise the clean-up and the
    pattern, plus code points drawn from the whole Unicode range."""
    import random
    rng = random.Random(seed)
    assigned = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and
                __import__("unicodedata").category(chr(c)) not in ("Cn", "Cs", "Co")]
    out = []
    for i in range(count):
        parts = []
        for _ in range(rng.randint(1, 24)):
            r = rng.random()
            if r < 0.6:
                parts.append(rng.choice(TRICKY))
            else:
                parts.append(chr(rng.choice(assigned)))
        out.append("".join(parts))
    return out


def dump_cases(doc):
    """JSON with one case per line (readable diffs)."""
    rows = ",\n".join(json.dumps(c, ensure_ascii=False) for c in doc["cases"])
    return '{"about": %s,\n"cases": [\n%s\n]}\n' % (json.dumps(doc["about"]), rows)


def main():
    if not os.path.exists(VOCAB_GZ):
        sys.exit(f"missing {VOCAB_GZ}")
    assert len(LONG) == 300, len(LONG)
    tok = RefTokenizer(VOCAB_GZ)
    bos, eos = tok.ids["<|startoftext|>"], tok.ids["<|endoftext|>"]
    assert (bos, eos) == (49406, 49407)
    known = json.load(open(os.path.join(VOCAB_DIR, "known_ids.json")))
    for case in known["cases"]:  # the reference must agree with upstream's answers
        assert [bos] + tok.encode(case["prompt"]) + [eos] == case["ids"], case["prompt"]
    prompts = EDGE_CASES + random_prompts(300, seed=6)
    cases = [{"prompt": p, "ids": [bos] + tok.encode(p) + [eos]} for p in prompts]
    doc = {
        "about": "BOS + ids + EOS from tests/reference/clip_tokenizer_ref.py (openai/CLIP simple_tokenizer "
                 "without ftfy, bpe_simple_vocab_16e6): hand-picked edge cases, then seeded random "
                 "strings. Regenerate with that script.",
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(dump_cases(doc))
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
