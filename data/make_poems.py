"""Derive data/poems.txt (chapter 18) from the npm package chinese-poetry@2.0.1. Maintainers only.

    pip install opencc==1.4.2                      # the converter, pinned (readers do not need it)
    python data/make_poems.py                      # download the tarball from the npm registry
    python data/make_poems.py chinese-poetry-2.0.1.tgz   # or use a tarball you have (`npm pack chinese-poetry@2.0.1`)
    python data/make_poems.py --check ...          # rebuild in memory, exit 1 unless it equals data/poems.txt

Steps (deterministic; data/README.md states them for readers):
1. the tarball must have the sha256 below (the same bytes as `npm pack chinese-poetry@2.0.1`);
2. read package/dist/quantangshi/poet.tang.<N>.json in increasing N (0, 1000, …, 57000) and, in each file,
   the poems in order; a poem is the concatenation of its "paragraphs";
3. keep the poems of the form 7，7。7，7。 whose 28 characters are all in the CJK Unified Ideographs block
   U+4E00–U+9FFF (this drops poems with □ for a lost character and rare characters outside the block);
4. convert to simplified characters with OpenCC 1.4.2, configuration t2s (phrase-aware, but many
   traditional characters merge into one simplified character: 後/后, 髮/發 -> 发, 雲 -> 云, 餘 -> 余 …);
   t2s maps character to character here (same length), and where its simplified form of a rare character
   lies outside the block (鏚 -> U+2CB50, 摐 -> U+2AB62 …: forms many fonts lack) the original character stays;
5. drop exact duplicates after conversion (the first occurrence stays), write one poem per line, UTF-8,
   with a final newline.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import sys
import tarfile
import urllib.request
from pathlib import Path

TARBALL_URL = "https://registry.npmjs.org/chinese-poetry/-/chinese-poetry-2.0.1.tgz"
TARBALL_SHA256 = "25b549e46919c3a0569db6b68ddc96956b04a484ea4518ad2bbd4f137e307e86"
OPENCC_VERSION = "1.4.2"
OUT = Path(__file__).resolve().parent / "poems.txt"

HAN = "[\u4e00-\u9fff]"
JUEJU = re.compile(f"^(?:{HAN}{{7}}，{HAN}{{7}}。){{2}}$")
MEMBER = re.compile(r"^package/dist/quantangshi/poet\.tang\.(\d+)\.json$")


def tarball_bytes(path: str | None) -> bytes:
    data = Path(path).read_bytes() if path else urllib.request.urlopen(TARBALL_URL, timeout=120).read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != TARBALL_SHA256:
        sys.exit(f"{path or TARBALL_URL}: sha256 {digest}, expected {TARBALL_SHA256}")
    return data


def raw_poems(data: bytes) -> list[str]:
    """Every poem (paragraphs joined) of the Tang files, in file order then poem order."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = sorted((int(m[1]), info) for info in tar.getmembers() if (m := MEMBER.match(info.name)))
        assert [n for n, _ in members] == list(range(0, 58000, 1000)), "unexpected set of poet.tang files"
        poems = []
        for _, info in members:
            for poem in json.loads(tar.extractfile(info).read().decode("utf-8")):
                poems.append("".join(poem["paragraphs"]))
    return poems


def derive(data: bytes) -> tuple[str, dict[str, int]]:
    import opencc

    if opencc.__version__ != OPENCC_VERSION:
        sys.exit(f"opencc {opencc.__version__} is installed; this file is derived with opencc=={OPENCC_VERSION}")
    t2s = opencc.OpenCC("t2s")
    poems = raw_poems(data)
    jueju = [p for p in poems if JUEJU.match(p)]
    seen, out = set(), []
    for p in jueju:
        s = t2s.convert(p)
        assert len(s) == len(p), f"t2s changed the length: {p} -> {s}"
        s = "".join(b if "\u4e00" <= b <= "\u9fff" or b in "，。" else a for a, b in zip(p, s))
        if s not in seen:
            seen.add(s)
            out.append(s)
    stats = {"tang poems": len(poems), "7,7.7,7. in U+4E00-9FFF": len(jueju), "distinct after t2s": len(out)}
    return "".join(p + "\n" for p in out), stats


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tarball", nargs="?", help="chinese-poetry-2.0.1.tgz (downloaded from the npm registry if absent)")
    ap.add_argument("--check", action="store_true", help="compare with data/poems.txt instead of writing it")
    args = ap.parse_args(argv)
    text, stats = derive(tarball_bytes(args.tarball))
    body = text.encode("utf-8")
    for k, v in stats.items():
        print(f"{k}: {v:,}")
    print(f"sha256 {hashlib.sha256(body).hexdigest()}  {len(body):,} bytes")
    if args.check:
        same = OUT.exists() and OUT.read_bytes() == body
        print("data/poems.txt is up to date" if same else "data/poems.txt differs from the derivation")
        return 0 if same else 1
    OUT.write_bytes(body)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
