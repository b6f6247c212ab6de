#!/usr/bin/python3
"""Offline reference for the text building blocks of the tokenizer and the
prompt parser, straight from the Python modules they must agree with:

  * CRC-32s over all code points of the character classes (`regex` with
    IGNORECASE for CLIP's pattern, `regex` \\s, str.isspace, `re` \\w,
    unicodedata.decimal for `re` \\d) and of str.lower() per code point;
  * str.lower() of strings exercising the final-sigma rule;
  * html.unescape of every HTML5 entity name and of numeric references;
  * float() and int() of assorted strings.

Writes tests/data/clip/text_cases.json. Needs python3-regex. Takes about two
minutes.  Run:  /usr/bin/python3 tests/reference/text_ref.py
"""
import html
import html.entities
import json
import os
import re
import struct
import zlib

import regex

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "data", "clip", "text_cases.json")
CPS = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def crc_of(values):
    return zlib.crc32(bytes(values))


def main():
    I = regex.IGNORECASE
    letter, number, other = (regex.compile(p, I) for p in (r"[\p{L}]", r"[\p{N}]", r"[^\s\p{L}\p{N}]"))
    rx_space, py_word, py_digit = regex.compile(r"\s"), re.compile(r"\w"), re.compile(r"\d")
    classes = []
    for c in CPS:
        ch = chr(c)
        classes.append((1 if letter.fullmatch(ch) else 0) | (2 if number.fullmatch(ch) else 0) |
                       (4 if other.fullmatch(ch) else 0) | (8 if rx_space.fullmatch(ch) else 0) |
                       (16 if ch.isspace() else 0) | (32 if py_word.fullmatch(ch) else 0))
    decimals = [(unicodedata_decimal(c) + 1) if py_digit.fullmatch(chr(c)) else 0 for c in CPS]
    lower = zlib.crc32(b"".join(struct.pack("<I", len(chr(c).lower())) +
                                chr(c).lower().encode("utf-32-le") for c in CPS))
    sigma = ["Σ", "ΑΣ", "ΑΣΑ", "ΑΣ.", "Α.Σ", "ΑΣ'Α", "Α'Σ", "ΑΣ'", "ΣΣ", "ΣΣΣ", "Α\u0345Σ", "ΑΣ\u0345",
             "1Σ", "Σ1", "ΑΣ ", " ΑΣ", "aΣ", "ǅΣ", "ΑΣ\u00ad", "\u00adΣ", "ΟΔΟΣ ΣΟΦΟΣ", "İΣ", "ΑΣ\u0301Β"]
    names = sorted(html.entities.html5)
    unescape = ["&" + n for n in names]
    unescape += ["&#0;", "&#9;", "&#13;", "&#128;", "&#129;", "&#150;", "&#159;", "&#x80;", "&#xD800;", "&#xdfff;",
                 "&#1114111;", "&#1114112;", "&#x110000;", "&#99999999999999999999;", "&#x10FFFE;", "&#xFDD0;",
                 "&#1;", "&#11;", "&#127;", "&#65", "&#x41", "&#X41;", "&#x;", "&#;", "&#", "&", "&;", "&&amp;",
                 "&ampamp;", "&notin", "&notit;", "&amp", "&ampx", "&a", "&ab", "&lt3", "&LT;", "& amp;",
                 "&" + "a" * 40 + ";", "&amp;amp;", "&\u00e9;", "a&b&c", "&#x1F409;&#128009;", "&Eacute&eacute"]
    floats = ["1", "1.5", " 1.5 ", "+1", "-1", "1.", ".5", "-.5", "1e3", "1E-3", "1.e2", "1_000", "1__0", "_1", "1_",
              "1_0.5_5", "1e1_0", "١.٥", "٣", "\u00a01\u2003", "inf", "-Infinity", "nan", "+NaN", "infinit", "",
              ".", "1.2.3", "e3", "1e", "1e+", "0x10", "1e400", "-1e400", "1e-400", "0." + "0" * 400 + "1",
              "1" + "0" * 400, "0.1", "2.675", "1.1", "3.14159265358979323846", "4.9e-324", "2.5e-324", "12 3",
              "\u0661\u0662", "1\u0662", "𝟏"]
    ints = ["1", "-2", "+3", " 4 ", "1_0", "1__0", "٣", "1.0", "", "x", "99999999999999999999"]

    def num(v):
        return repr(v) if (v != v or v in (float("inf"), float("-inf"))) else v

    def try_float(s):
        try:
            return {"s": s, "v": num(float(s))}
        except ValueError:
            return {"s": s, "error": True}

    def try_int(s):
        try:
            v = int(s)
            return {"s": s, "v": v} if abs(v) < 2 ** 63 else {"s": s, "error": True}
        except ValueError:
            return {"s": s, "error": True}

    doc = {
        "about": "From tests/reference/text_ref.py (Python's regex, re, str, html modules).",
        "crc": {"classes": crc_of(classes), "decimals": crc_of(decimals), "lower": lower},
        "lower": [{"in": s, "out": s.lower()} for s in sigma],
        "unescape": [{"in": s, "out": html.unescape(s)} for s in unescape],
        "float": [try_float(s) for s in floats],
        "int": [try_int(s) for s in ints],
    }
    with open(OUT, "w", encoding="utf-8") as f:
        f.write('{"about": %s,\n"crc": %s,\n' % (json.dumps(doc["about"]), json.dumps(doc["crc"])))
        for key in ("lower", "unescape", "float", "int"):
            f.write('"%s": [\n' % key + ",\n".join(json.dumps(r, ensure_ascii=False) for r in doc[key]) + "\n]")
            f.write("\n}\n" if key == "int" else ",\n")
    print("wrote", OUT)


def unicodedata_decimal(c):
    import unicodedata
    return unicodedata.decimal(chr(c))


if __name__ == "__main__":
    main()
