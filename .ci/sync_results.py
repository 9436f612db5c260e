"""Copy the results rows that the chapters printed into book/results.md and every 小结 table
(chapter 18's poems rows into the poems tables: support/results.py).

    python .ci/sync_results.py          # rewrite the tables in place
    python .ci/sync_results.py --check  # exit 1 if a table is out of date (tests/test_results.py checks the same)

A chapter's `results-row` cell prints its rows (support/results.py documents the format). After you
re-execute a chapter that has one, its training seconds change; run this script so that the page and
the later chapters' 小结 tables show the stored numbers again. Only table rows are rewritten: the
rows between a table's separator line and its end; markdown cells' other text and all outputs stay.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support.results import HEADER, LOOSE, NOTEBOOKS, PAGE, POEMS_HEADER, POEMS_TAG, produced  # noqa: E402


def rewrite(text: str, rows: list[str], header: re.Pattern = HEADER) -> str:
    """Replace the body of every table whose header matches ``header`` (default '| 模型 | 章 | …') in ``text`` by
    ``rows``."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        out.append(lines[i])
        if header.match(lines[i].strip()) and i + 1 < len(lines) and lines[i + 1].lstrip().startswith("| ---"):
            out.append(lines[i + 1])
            i += 2
            while i < len(lines) and LOOSE.match(lines[i].strip()):
                i += 1  # drop the old rows
            out.extend(rows)
            continue
        i += 1
    return "\n".join(out)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    rows, poems = produced(), produced(POEMS_TAG)
    stale = []
    every = [line for ch in sorted(rows) for line in rows[ch]]
    page = PAGE.read_text(encoding="utf-8")
    new = rewrite(rewrite(page, every), [line for ch in sorted(poems) for line in poems[ch]], POEMS_HEADER)
    if new != page:
        stale.append(str(PAGE.relative_to(ROOT)))
        if not check:
            PAGE.write_text(new, encoding="utf-8")
    for path in NOTEBOOKS:
        ch = path.name[:2]  # Part I's 小结 tables too (chapters 06-08 show the rows so far)
        so_far = [line for c in sorted(rows) if c <= ch for line in rows[c]]
        poems_so_far = [line for c in sorted(poems) if c <= ch for line in poems[c]]
        nb = nbformat.read(path, as_version=4)
        changed = False
        in_summary = False
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            if "## 小结" in cell.source:
                in_summary = True
            if not in_summary:
                continue
            # a cell may hold the end of the 小结 and the start of the 练习 (chapter 08): rewrite only the 小结 part
            head, sep, tail = cell.source.partition("## 练习")
            new = rewrite(rewrite(head, so_far), poems_so_far, POEMS_HEADER) + sep + tail
            if new != cell.source:
                cell.source, changed = new, True
            if sep:
                in_summary = False
        if changed:
            stale.append(str(path.relative_to(ROOT)))
            if not check:
                nbformat.write(nb, path)
    for s in stale:
        print(("out of date: " if check else "updated: ") + s)
    return 1 if (check and stale) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
