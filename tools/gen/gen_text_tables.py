#!/usr/bin/python3
"""Generates the Unicode and HTML tables the CLIP tokenizer and the A1111
prompt parser need, from the Python reference they must agree with:

  engine/text_tables_unicode.inc  character classes of the `regex` module
                                  (CLIP's pre-tokenisation pattern), of `re`
                                  (A1111's prompt regexes, Python's float()),
                                  str.isspace, str.lower with final sigma
  engine/text_tables_html.inc     html.unescape's entity and charref tables

Why tables and not a library: the answers must match what openai/CLIP's
simple_tokenizer (`import regex as re`, `html.unescape`, `str.lower`) and
A1111 (`import re`) compute. ICU or PCRE2 would be new dependencies with their
own Unicode versions and none of Python's str.lower/isspace or `re`
semantics; probing the Python modules themselves is exact by construction.

Each class is found by matching every code point against the very pattern
piece upstream uses (e.g. `[\\p{L}]` with re.IGNORECASE, under which U+0345
matches none of CLIP's three classes and U+017F matches `s`). Run with
Debian's /usr/bin/python3 and python3-regex (apt-get install python3-regex);
takes about two minutes:

  /usr/bin/python3 tools/gen/gen_text_tables.py
"""
import html
import html.entities
import os
import re
import sys
import unicodedata

import regex

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALL = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]


def ranges(pred):
    out = []
    for cp in ALL:
        if pred(cp):
            if out and out[-1][1] == cp - 1:
                out[-1][1] = cp
            else:
                out.append([cp, cp])
    return out


def emit_ranges(name, rs, comment):
    lines = [f"// {comment} ({len(rs)} ranges)",
             f"inline constexpr CodeRange {name}[] = {{"]
    row = []
    for lo, hi in rs:
        row.append(f"{{0x{lo:X}, 0x{hi:X}}}")
        if len(row) == 6:
            lines.append("    " + ", ".join(row) + ",")
            row = []
    if row:
        lines.append("    " + ", ".join(row) + ",")
    lines.append("};")
    return "\n".join(lines)


def c_u32(s):
    return "U\"" + "".join(f"\\U{ord(ch):08X}" for ch in s) + "\""


def unicode_tables():
    I = regex.IGNORECASE
    letter = regex.compile(r"[\p{L}]", I)
    number = regex.compile(r"[\p{N}]", I)
    other = regex.compile(r"[^\s\p{L}\p{N}]", I)
    rx_space = regex.compile(r"\s")
    py_word = re.compile(r"\w")
    py_digit = re.compile(r"\d")
    out = []
    out.append(emit_ranges("kClipLetter", ranges(lambda c: letter.fullmatch(chr(c))),
                           "regex `[\\p{L}]` with IGNORECASE"))
    out.append(emit_ranges("kClipNumber", ranges(lambda c: number.fullmatch(chr(c))),
                           "regex `[\\p{N}]` with IGNORECASE"))
    out.append(emit_ranges("kClipOther", ranges(lambda c: other.fullmatch(chr(c))),
                           "regex `[^\\s\\p{L}\\p{N}]` with IGNORECASE"))
    out.append(emit_ranges("kRegexSpace", ranges(lambda c: rx_space.fullmatch(chr(c))),
                           "regex `\\s` (simple_tokenizer whitespace_clean)"))
    out.append(emit_ranges("kPySpace", ranges(lambda c: chr(c).isspace()),
                           "str.isspace (str.strip(), float()); equals `re` `\\s`"))
    assert all(bool(re.fullmatch(r"\s", chr(c))) == chr(c).isspace() for c in ALL)
    out.append(emit_ranges("kPyWord", ranges(lambda c: py_word.fullmatch(chr(c))),
                           "`re` `\\w` (A1111 `\\b` in BREAK, `<(\\w+):`)"))
    # `re` \d and the digit value float() gives it: runs of consecutive values.
    dec = []
    for c in ALL:
        if py_digit.fullmatch(chr(c)):
            v = unicodedata.decimal(chr(c))
            if dec and dec[-1][1] == c - 1 and dec[-1][2] + (c - dec[-1][0]) == v:
                dec[-1][1] = c
            else:
                dec.append([c, c, v])
    assert all(unicodedata.decimal(chr(c), -1) >= 0 for lo, hi, _ in dec for c in range(lo, hi + 1))
    lines = [f"// `re` `\\d` with the decimal value of the first code point of each run ({len(dec)} runs)",
             "inline constexpr DigitRange kPyDecimal[] = {"]
    lines += [f"    {{0x{lo:X}, 0x{hi:X}, {v}}}," for lo, hi, v in dec]
    lines.append("};")
    out.append("\n".join(lines))
    # str.lower(): every code point whose lower case differs, except U+03A3
    # (final sigma depends on context, handled in code).
    low = []
    for c in ALL:
        s = chr(c).lower()
        if s != chr(c) and c != 0x3A3:
            assert 1 <= len(s) <= 3
            low.append((c, s))
    lines = [f"// str.lower() where it differs, U+03A3 excepted ({len(low)} entries)",
             "inline constexpr LowerEntry kPyLower[] = {"]
    for c, s in low:
        lines.append(f"    {{0x{c:X}, {c_u32(s)}}},")
    lines.append("};")
    out.append("\n".join(lines))
    # Final sigma context (CPython unicodeobject.c handle_capital_sigma):
    # the properties Case_Ignorable and Cased, probed through str.lower.
    def fs(s):
        return s.lower()
    # "A" x "Σ" ends in final sigma iff x is ignorable or cased;
    # "1" x "Σ" iff x is cased and not ignorable.
    ign, cased = [], []
    for c in ALL:
        ch = chr(c)
        if c == 0x3A3:
            continue
        t1 = fs("A" + ch + "\u03a3")[-1] == "\u03c2"     # ignorable or cased
        t2 = fs("1" + ch + "\u03a3")[-1] == "\u03c2"     # cased and not ignorable
        if t2:
            cased.append(c)
        elif t1:
            ign.append(c)
    ign_set, cased_set = set(ign), set(cased)
    out.append(emit_ranges("kCaseIgnorable", ranges(lambda c: c in ign_set),
                           "Case_Ignorable, as CPython's final-sigma rule sees it"))
    out.append(emit_ranges("kCasedNotIgnorable", ranges(lambda c: c in cased_set or c == 0x3A3),
                           "Cased and not Case_Ignorable"))
    # Code points matching an ASCII letter of CLIP's literals under IGNORECASE.
    fold = []
    for a in sorted(set("startofextndvml")):
        for c in ALL:
            if c != ord(a) and regex.fullmatch(a, chr(c), I):
                fold.append((a, c))
    lines = ["// regex IGNORECASE equivalents of the letters in CLIP's literal alternatives",
             "inline constexpr FoldPair kClipFold[] = {"]
    lines += [f"    {{'{a}', 0x{c:X}}}," for a, c in fold]
    lines.append("};")
    out.append("\n".join(lines))
    head = (f"// Generated by tools/gen/gen_text_tables.py from Python {sys.version.split()[0]}"
            f" (unicodedata {unicodedata.unidata_version}) and regex {regex.__version__}.\n"
            "// Do not edit. Included by engine/text_unicode.cpp only.\n")
    return head + "\n\n".join(out) + "\n"


def html_tables():
    # The three pieces of CPython Lib/html/__init__.py (_html5 via
    # html.entities.html5, _invalid_charrefs, _invalid_codepoints).
    import html as h
    ents = sorted(html.entities.html5.items(), key=lambda kv: kv[0].encode())
    lines = [f"// html.entities.html5 ({len(ents)} names; sorted by UTF-8 bytes)",
             "inline constexpr HtmlEntity kHtml5[] = {"]
    for k, v in ents:
        assert k.isascii() and len(v) <= 2
        lines.append(f"    {{\"{k}\", {c_u32(v)}}},")
    lines.append("};")
    inv = sorted(h._invalid_charrefs.items())
    lines.append(f"// html._invalid_charrefs ({len(inv)} entries)")
    lines.append("inline constexpr InvalidCharref kInvalidCharrefs[] = {")
    for k, v in inv:
        assert len(v) == 1
        lines.append(f"    {{0x{k:X}, 0x{ord(v):X}}},")
    lines.append("};")
    cps = sorted(h._invalid_codepoints)
    lines.append(f"// html._invalid_codepoints ({len(cps)} code points; a reference to one becomes '')")
    lines.append("inline constexpr char32_t kInvalidCodepoints[] = {")
    for i in range(0, len(cps), 8):
        lines.append("    " + ", ".join(f"0x{c:X}" for c in cps[i:i + 8]) + ",")
    lines.append("};")
    head = (f"// Generated by tools/gen/gen_text_tables.py from Python {sys.version.split()[0]}'s html module.\n"
            "// Do not edit. Included by engine/html_unescape.cpp only.\n")
    return head + "\n".join(lines) + "\n"


def main():
    with open(os.path.join(ROOT, "engine", "text_tables_html.inc"), "w") as f:
        f.write(html_tables())
    with open(os.path.join(ROOT, "engine", "text_tables_unicode.inc"), "w") as f:
        f.write(unicode_tables())


if __name__ == "__main__":
    main()
