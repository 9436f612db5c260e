"""The results figure (issue 24): book/results.md's table drawn at build time by book/_ext/results_figure.py.

(a) The parser reads every row of the table (the same rows support/results.py's ROW pattern accepts) and
    rejects a malformed row with the line number; a row added to the table is read without code changes.
(b) In the built site the results page shows the figure, the SVG's embedded data are exactly the table's
    rows (model, chapter, dev, test, parameters, seconds), each panel has one point per row, and every
    row's label is drawn and listed in the key under the figure.
"""

from __future__ import annotations

import importlib.util
import json
import re
from html import unescape

import pytest
from sitelib import HTML, NOT_BUILT, ROOT, built

from support.results import HEADER, ROW
from support.results import table_rows as page_table_rows

PAGE = ROOT / "book" / "results.md"
_spec = importlib.util.spec_from_file_location("results_figure", ROOT / "book" / "_ext" / "results_figure.py")
results_figure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(results_figure)

needs_build = pytest.mark.skipif(not built(), reason=NOT_BUILT)


def table_rows() -> list[dict]:
    """The page's results rows (the main table, not chapter 18's poems table), read with the results test's own
    pattern (independent of the extension)."""
    rows = []
    for line in page_table_rows(PAGE.read_text(encoding="utf-8"), HEADER):
        m = ROW.match(line.strip())
        if m:
            rows.append({"model": m["model"], "chapter": m["ch"], "dev": float(m["dev"]), "test": float(m["test"]),
                         "params": int(m["params"].replace(",", "")), "seconds": float(m["secs"])})
    assert len(rows) >= 2, "book/results.md has no results rows"
    return rows


def test_parser_reads_every_row_of_the_page():
    assert results_figure.parse_results_table(PAGE.read_text(encoding="utf-8")) == table_rows()


def test_parser_takes_a_new_row_and_rejects_a_malformed_one():
    text = PAGE.read_text(encoding="utf-8")
    last = page_table_rows(text, HEADER)[-1]
    new = "| Transformer，上下文 16 | 17 | 1.9012 | 1.9100 | 1,234,567 | 1234.5 s |"
    rows = results_figure.parse_results_table(text.replace(last, last + "\n" + new))
    assert rows[-1] == {"model": "Transformer，上下文 16", "chapter": "17", "dev": 1.9012, "test": 1.91,
                        "params": 1234567, "seconds": 1234.5}
    assert rows[:-1] == table_rows()
    for bad in ("| 坏行 | 17 | 1.9 | 1.9 | 12 |", "| 坏行 | 17 | 1.9 | 1.9 | 12 | 3 分钟 |",
                "| 坏行 | x7 | 1.9 | 1.9 | 12 | 3.0 s |"):
        with pytest.raises(results_figure.TableError, match=r"line \d+"):
            results_figure.parse_results_table(text.replace(last, last + "\n" + bad))
    with pytest.raises(results_figure.TableError, match="no table"):
        results_figure.parse_results_table("# 空页\n")


def test_labels_are_unique_chapter_numbers():
    rows = table_rows()
    labels = results_figure.point_labels(rows)
    assert len(set(labels)) == len(labels) == len(rows)
    assert all(lab[:2] == r["chapter"] for lab, r in zip(labels, rows))


@needs_build
def test_built_page_shows_the_figure_of_the_table():
    page = (HTML / "book" / "results.html").read_text(encoding="utf-8")
    assert 'src="../_images/results_figure.svg"' in page, "the results page does not show the figure"
    svg = (HTML / "_images" / "results_figure.svg").read_text(encoding="utf-8")
    m = re.search(r"<dc:description>(.*?)</dc:description>", svg, re.S)
    assert m, "the figure carries no data description"
    data = json.loads(unescape(m.group(1)))
    rows = table_rows()
    assert [{k: v for k, v in d.items() if k != "label"} for d in data] == rows, "figure data differ from the table"
    for key in ("params", "seconds"):
        g = re.search(rf'<g id="points-{key}">(.*?)</g>', svg, re.S)
        assert g and g.group(1).count("<use") == len(rows), f"panel {key}: not one point per row"
    drawn = {t for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg) for t in unescape(text).split("/")}
    labels = [d["label"] for d in data]
    assert labels == results_figure.point_labels(rows)
    assert set(labels) <= drawn, f"labels not drawn: {set(labels) - drawn}"
    key = re.search(r'<ul class="results-figure-key[^"]*">(.*?)</ul>', page, re.S)
    assert key, "no key under the figure"
    items = re.findall(r"<li><p><strong>([^<]+)</strong>：([^<]*)</p>", key.group(1))
    shown = [(lab, unescape(text).split("（dev")[0]) for lab, text in items]
    assert shown == list(zip(labels, (r["model"] for r in rows)))
