#!/usr/bin/python3
"""Offline reference for the A1111 prompt-syntax tests.

A Python port of what AUTOMATIC1111/stable-diffusion-webui does with a prompt
before the text encoder:
  * modules/extra_networks.py parse_prompt + extensions-builtin/Lora/
    extra_networks_lora.py activate (the <lora:...> tags),
  * modules/prompt_parser.py parse_prompt_attention (emphasis, BREAK),
  * modules/sd_hijack_clip.py tokenize_line + process_tokens (75-token
    chunks, comma backtracking, padding),
with the CLIP tokenizer of clip_tokenizer_ref.py standing in for HF's.
Writes tests/data/clip/a1111_prompts.json.

Run:  /usr/bin/python3 tests/reference/a1111_prompt_ref.py
"""
import json
import math
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_tokenizer_ref as ref  # noqa: E402

OUT = os.path.join(ref.ROOT, "tests", "data", "clip", "a1111_prompts.json")

# --- modules/prompt_parser.py -------------------------------------------
ATTENTION = re.compile(r"""
\\\(|
\\\)|
\\\[|
\\]|
\\\\|
\\|
\(|
\[|
:\s*([+-]?[.\d]+)\s*\)|
\)|
]|
[^\\()\[\]:]+|
:
""", re.X)
BREAK = re.compile(r"\s*\bBREAK\b\s*", re.S)


def parse_attention(text):
    out, opened_round, opened_square = [], [], []

    def scale(start, factor):
        for k in range(start, len(out)):
            out[k][1] *= factor

    for m in ATTENTION.finditer(text):
        tok, number = m.group(0), m.group(1)
        if tok.startswith("\\"):
            out.append([tok[1:], 1.0])
        elif tok == "(":
            opened_round.append(len(out))
        elif tok == "[":
            opened_square.append(len(out))
        elif number is not None and opened_round:
            scale(opened_round.pop(), float(number))
        elif tok == ")" and opened_round:
            scale(opened_round.pop(), 1.1)
        elif tok == "]" and opened_square:
            scale(opened_square.pop(), 1 / 1.1)
        else:
            for k, part in enumerate(BREAK.split(tok)):
                if k:
                    out.append(["BREAK", -1])
                out.append([part, 1.0])
    for start in opened_round:
        scale(start, 1.1)
    for start in opened_square:
        scale(start, 1 / 1.1)
    if not out:
        out = [["", 1.0]]
    merged = [out[0]]
    for piece in out[1:]:
        if merged[-1][1] == piece[1]:
            merged[-1][0] += piece[0]
        else:
            merged.append(piece)
    return merged


# --- modules/sd_hijack_clip.py -------------------------------------------
def chunks_of(tok, line, backtrack=20, emphasis=True, pad_id=None):
    """pad_id None pads with EOS (SD 1.x); BOS and EOS are the tokenizer's own
    (49406 / 49407 in SD's vocabulary)."""
    start, end, comma, size = tok.ids["<|startoftext|>"], tok.ids["<|endoftext|>"], tok.ids[",</w>"], 75
    pad_id = end if pad_id is None else pad_id
    parsed = parse_attention(line) if emphasis else [[line, 1.0]]
    result, cur_ids, cur_w = [], [], []
    state = {"comma": -1}

    def close():
        nonlocal cur_ids, cur_w
        ids = [start] + cur_ids + [end] * (size - len(cur_ids)) + [end]
        w = [1.0] + cur_w + [1.0] * (size - len(cur_w)) + [1.0]
        if pad_id != end:
            first = ids.index(end)
            ids = ids[:first + 1] + [pad_id] * (len(ids) - first - 1)
        result.append({"ids": ids, "weights": w})
        cur_ids, cur_w = [], []
        state["comma"] = -1

    for text, weight in parsed:
        if text == "BREAK" and weight == -1:
            close()
            continue
        for token in tok.encode(text):
            if token == comma:
                state["comma"] = len(cur_ids)
            elif backtrack and len(cur_ids) == size and state["comma"] != -1 \
                    and len(cur_ids) - state["comma"] <= backtrack:
                RELOCATIONS[0] += 1
                cut = state["comma"] + 1
                keep_ids, keep_w = cur_ids[cut:], cur_w[cut:]
                cur_ids, cur_w = cur_ids[:cut], cur_w[:cut]
                close()
                cur_ids, cur_w = keep_ids, keep_w
            if len(cur_ids) == size:
                close()
            cur_ids.append(token)
            cur_w.append(weight)
    if cur_ids or not result:
        close()
    return result


# --- modules/extra_networks.py, extra_networks_lora.py --------------------
EXTRA = re.compile(r"<(\w+):([^>]+)>")


def extract(prompt):
    loras, others = [], []

    def found(m):
        kind, items = m.group(1), m.group(2).split(":")
        if kind in ("lora", "lyco"):
            positional, named = [], {}
            for item in items:
                parts = item.split("=", 2)
                if len(parts) == 2:
                    named[parts[0]] = parts[1]
                else:
                    positional.append(item)
            name = positional[0]  # IndexError when only named arguments
            te = float(positional[1]) if len(positional) > 1 else 1.0
            te = float(named.get("te", te))
            unet = float(positional[2]) if len(positional) > 2 else te
            unet = float(named.get("unet", unet))
            dyn = int(positional[3]) if len(positional) > 3 else None
            dyn = int(named["dyn"]) if "dyn" in named else dyn
            if not (math.isfinite(te) and math.isfinite(unet)):
                raise ValueError("not finite")  # skingen's rule; A1111 would go on with inf/nan
            loras.append({"tag": m.group(0), "name": name, "te": te, "unet": unet, "dyn": dyn})
        else:
            others.append({"tag": m.group(0), "kind": kind})
        return ""

    text = EXTRA.sub(found, prompt)
    return {"text": text, "loras": loras, "others": others}


# --- cases ------------------------------------------------------------------
ATTENTION_CASES = [
    "", "normal text", "an (important) word", "(unbalanced", "\\(literal\\]", "(unnecessary)(parens)",
    "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
    "((a))", "(a:1.21)", "[[a]]", "[a:1.5]", "(a:-1)", "(a:0)", "(a: 1.5 )", "(a:+.5)", "(a:1.)",
    "(a:1.2.3)", "(a:.)", "(a:٣)", "(a:1e3)", "a:1.2) b", "x) y] z", "[(a)]", "([a])", "((a) b (c:2))",
    "a BREAK b", "BREAK", "BREAK a", "a BREAK", "aBREAK b", "a BREAKb", "a\tBREAK\n b", "(a BREAK b)",
    "(a BREAK b:-1)", "(BREAK:0)", "a break b", "a, BREAK, b", "BREAK BREAK", "xBREAK BREAK", "é BREAK ü",
    "\\\\ a \\ b \\x", "\\", "a \\(b\\) \\[c\\]", "((a:1.1):1.1)", "(a)(b)[c][d]", "[a (b) c]",
    "(masterpiece:1.2), best quality, [blurry], (skin texture:1.3), ((pores))",
    "::: (( ]] [[ ))", "(a:1.5:2)", "(a:1.5)b:1.5)", "(日本:1.2) ü (ß)",
]
SYNTAX = ["(", ")", "[", "]", ":", "\\", " ", "a", "b", "BREAK", " BREAK ", "1.5", ".", "-", ",", "é", "\n",
          ":1.2)", ": 0.5 )", "x", "_", "\\(", "\\]", "Σ", "٣"]

LORA_CASES = [
    "a photo <lora:skin_4-000015:0.7>", "<lora:skin>", "<lora:skin:0.5:0.8>", "<lora:skin:0.5:0.8:4>",
    "<lora:skin:te=0.3>", "<lora:skin:0.5:unet=0.2>", "<lora:skin:te=0.3:0.9>", "<lyco:loha_x:1.0>",
    "<hypernet:h:1> x <lora:a:1> <lora:b:-0.5> y", "<lora:a<lora:b:1>", "<lora:>", "<lora::1>", "<:a:1>",
    "<LORA:x:1>", "<lora:name with spaces: 0.25 >", "<lora:a:1_000>", "<lora:a:١.٥>", "<lora:a:1:2:3:4:5>",
    "(a <lora:x:1>:1.2)", "no tags at all", "<lora:a=b=c:1>", "<lora:a:=>", "<lora:te=1>", "<lora:a:x>",
    "<lora:a:inf>", "<lora:a:nan>", "<lora:a:1:dyn=z>", "<lora:a:1e-3>", "x <lora:a:1> <lora:a:0.5>",
]


def random_syntax(rng, count):
    out = []
    for _ in range(count):
        out.append("".join(rng.choice(SYNTAX) for _ in range(rng.randint(1, 16))))
    return out


RELOCATIONS = [0]


def long_prompts(rng, count):
    words = ["skin", "scales", "dragon", "texture", "seamless", "pores", "wrinkles", "freckles", "highly",
             "detailed", "macro", "8k", "photo", "leather", "reptile", "iridescent", "wet", "matte"]
    out = []
    for n in range(count):
        parts = []
        breaks = 0.04 if n % 3 == 0 else 0.0
        for _ in range(rng.randint(20, 160)):
            r = rng.random()
            w = rng.choice(words)
            if r < 0.25:
                parts.append(w + ",")
            elif r < 0.3:
                parts.append("(" + w + ":" + str(rng.choice([0.5, 1.2, 1.3, 2])) + ")")
            elif r < 0.34:
                parts.append("[" + w + "]")
            elif r < 0.34 + breaks:
                parts.append("BREAK")
            else:
                parts.append(w)
        out.append(" ".join(parts))
    return out


def main():
    tok = ref.RefTokenizer(ref.VOCAB_GZ)
    rng = random.Random(1111)
    attention = []
    for p in ATTENTION_CASES + random_syntax(rng, 400):
        try:
            attention.append({"prompt": p, "pieces": parse_attention(p)})
        except ValueError:
            attention.append({"prompt": p, "error": True})
    chunk_cases = []
    plain = ["", "a photo of a cat", "BREAK", "a BREAK", "BREAK a", "a BREAK BREAK b", "(a:1.5), [b]",
             "a <|endoftext|> b"]
    for p in plain + long_prompts(rng, 36):
        chunk_cases.append({"prompt": p, "backtrack": 20, "emphasis": True, "pad": 49407,
                            "chunks": chunks_of(tok, p)})
    for p in long_prompts(rng, 8):
        chunk_cases.append({"prompt": p, "backtrack": 0, "emphasis": True, "pad": 49407,
                            "chunks": chunks_of(tok, p, backtrack=0)})
        chunk_cases.append({"prompt": p, "backtrack": 5, "emphasis": False, "pad": 0,
                            "chunks": chunks_of(tok, p, backtrack=5, emphasis=False, pad_id=0)})
    chunk_cases.append({"prompt": "a <|endoftext|> b", "backtrack": 20, "emphasis": True, "pad": 0,
                        "chunks": chunks_of(tok, "a <|endoftext|> b", pad_id=0)})
    loras = []
    for p in LORA_CASES:
        try:
            loras.append({"prompt": p, **extract(p)})
        except (ValueError, IndexError):
            loras.append({"prompt": p, "error": True})
    with open(OUT, "w", encoding="utf-8") as f:
        f.write('{"about": "From tests/reference/a1111_prompt_ref.py: A1111 parse_prompt_attention, '
                'tokenize_line chunks (ids and weights of each 77-token chunk), extra-network tags.",\n')
        for key, rows in (("attention", attention), ("chunks", chunk_cases), ("loras", loras)):
            f.write('"%s": [\n' % key)
            f.write(",\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
            f.write("\n]" + ("\n}\n" if key == "loras" else ",\n"))
    print(f"{RELOCATIONS[0]} comma relocations")
    print(f"wrote {len(attention)} attention, {len(chunk_cases)} chunk, {len(loras)} lora cases to {OUT}")


if __name__ == "__main__":
    main()
