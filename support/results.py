"""The results table (成绩表, GUIDE §9): where its rows come from, shared by tests/test_results.py and
.ci/sync_results.py.

A chapter's `results-row` cell prints one markdown row per model:
    | <model> | <chapter NN> | <dev loss> | <test loss> | <parameters> | <seconds> s |
nbval compares that output (only the seconds column is masked by tests/nbval_sanitize.cfg), so the
numbers on the page are the numbers a fresh run of the chapter gives.

Chapter 18 trains on a second data set (七言绝句). Its rows have the same format but come from cells tagged
`poems-results-row` and go to a second table, whose header starts `| 模型（七言绝句） | 章 |`, on the same page
(and in chapter 18's 小结). The main table (header `| 模型 | 章 |`) never shows them: losses on different data
are not comparable.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PAGE = ROOT / "book" / "results.md"
ROW = re.compile(r"^\| (?P<model>[^|]+?) \| (?P<ch>\d\d) \| (?P<dev>\d\.\d{4}) \| (?P<test>\d\.\d{4}) \| "
                 r"(?P<params>\d{1,3}(?:,\d{3})*) \| (?P<secs>\d+\.\d) s \|$")
# a line that looks like a results row (six cells, a two-digit chapter in the second) but may be malformed
LOOSE = re.compile(r"^\|[^|]+\| \d\d \|([^|]+\|){4}\s*$")
# the cell tag and the table header of each table: names (the book's table) and poems (chapter 18)
TAG = "results-row"
POEMS_TAG = "poems-results-row"
HEADER = re.compile(r"^\| 模型 \| 章 \|")
POEMS_HEADER = re.compile(r"^\| 模型（七言绝句） \| 章 \|")


def rows_in(text: str) -> list[str]:
    """The lines of ``text`` that look like results rows, stripped."""
    return [line.strip() for line in text.splitlines() if LOOSE.match(line.strip())]


def table_rows(text: str, header: re.Pattern = HEADER) -> list[str]:
    """The rows (stripped) of every table in ``text`` whose header line matches ``header``."""
    lines = [line.strip() for line in text.splitlines()]
    out = []
    for i, line in enumerate(lines):
        if header.match(line) and i + 1 < len(lines) and lines[i + 1].startswith("| ---"):
            j = i + 2
            while j < len(lines) and LOOSE.match(lines[j]):
                out.append(lines[j])
                j += 1
    return out


def produced(tag: str = TAG) -> dict[str, list[str]]:
    """chapter number -> the rows its ``tag`` cell printed (stored output): ``results-row`` for the main table,
    ``poems-results-row`` for chapter 18's table."""
    out: dict[str, list[str]] = {}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for c in nb.cells:
            if c.cell_type == "code" and tag in c.metadata.get("tags", []):
                text = "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
                out.setdefault(path.name[:2], []).extend(rows_in(text))
    return out
