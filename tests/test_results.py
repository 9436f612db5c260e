"""The results table (成绩表, GUIDE §9): every row on book/results.md and in the 小结 of chapter 06 and later
is a row that the producing chapter printed in its `results-row` cell, and every printed row is on the page.
The row format and the parsing are in support/results.py (shared with .ci/sync_results.py).
"""

from __future__ import annotations

import nbformat
import pytest

from support.results import HEADER, NOTEBOOKS, PAGE, POEMS_HEADER, POEMS_TAG, ROW, TAG, produced, rows_in, table_rows


@pytest.mark.parametrize("tag", [TAG, POEMS_TAG])
def test_every_printed_row_is_well_formed_and_names_its_own_chapter(tag):
    rows = produced(tag)
    assert rows, f"no notebook has a {tag} cell"
    for ch, lines in rows.items():
        for line in lines:
            m = ROW.match(line)
            assert m, f"chapter {ch}: malformed results row {line!r}"
            assert m["ch"] == ch, f"chapter {ch} printed a row for chapter {m['ch']}: {line!r}"


def test_results_row_cells_are_compared_by_nbval():
    """A results-row cell is compared, so that its row reproduces on every CPU. The one exception is a chapter
    whose training itself depends on the CPU's instruction set (chapter 17: vectorized GELU and LayerNorm kernels
    differ in the last bit, and thousands of steps amplify it): its row cell is tagged ``results-row-varies`` as
    well as ``nbval-ignore-output``; the next code cell is compared and checks what survives on every CPU; and the
    results page names the chapter in its paragraph on rows that vary with the CPU. Chapter 18's
    ``poems-results-row`` cells (the second table, on poems) follow the same rule."""
    page = PAGE.read_text(encoding="utf-8")
    caveat = "\n".join(p for p in page.split("\n\n") if "随 CPU" in p)   # every paragraph on rows that vary
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for k, c in enumerate(nb.cells):
            tags = c.metadata.get("tags", [])
            row_tags = {TAG, POEMS_TAG} & set(tags)
            if not row_tags:
                continue
            tag = min(row_tags)
            assert c.outputs, f"{path.name}: the {tag} cell has no stored output"
            if "nbval-ignore-output" not in tags:
                assert "results-row-varies" not in tags, f"{path.name}: a compared row cannot be marked as varying"
                continue
            assert "results-row-varies" in tags, f"{path.name}: the {tag} cell must be compared"
            after = next(x for x in nb.cells[k + 1:] if x.cell_type == "code")
            assert "nbval-ignore-output" not in after.metadata.get("tags", []) and after.outputs, (
                f"{path.name}: the cell after a varying results row must be compared and print what survives")
            assert f"第 {int(path.name[:2])} 章" in caveat, (
                f"book/results.md: the paragraph on rows that vary with the CPU (随 CPU) must name {path.name}")


def test_poems_rows_never_enter_the_names_table():
    names = {line for lines in produced().values() for line in lines}
    poems = {line for lines in produced(POEMS_TAG).values() for line in lines}
    assert "18" in produced(POEMS_TAG), "chapter 18 gives the poems rows"
    assert not names & poems
    assert not poems & set(table_rows(PAGE.read_text(encoding="utf-8"), HEADER))


def test_part_one_models_and_every_part_two_chapter_haverows_in():
    rows, poems = produced(), produced(POEMS_TAG)
    assert "06" in rows and len(rows["06"]) >= 2, "chapter 06 gives the bigram and trigram counting rows"
    assert "08" in rows, "chapter 08 gives the bigram neural-net row"
    for path in NOTEBOOKS:
        if int(path.name[:2]) >= 9:
            assert path.name[:2] in rows or path.name[:2] in poems, f"{path.name} has no results-row cell"


@pytest.mark.parametrize("tag, header", [(TAG, HEADER), (POEMS_TAG, POEMS_HEADER)], ids=["names", "poems"])
def test_the_results_page_lists_exactly_the_produced_rows_in_chapter_order(tag, header):
    page = table_rows(PAGE.read_text(encoding="utf-8"), header)
    expected = [line for ch in sorted(produced(tag)) for line in produced(tag)[ch]]
    missing = [r for r in expected if r not in page]
    stale = [r for r in page if r not in expected]
    assert not missing, f"book/results.md lacks rows printed by the chapters: {missing}"
    assert not stale, f"book/results.md has rows no chapter printed (stale numbers?): {stale}"
    assert page == expected, "book/results.md lists the rows out of chapter order"


FIRST_ROW_CHAPTER = min(produced())  # chapter 06: the counting models; its 小结 and every later one show the table


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name[:2] >= FIRST_ROW_CHAPTER], ids=lambda p: p.name)
def test_summary_shows_the_table_so_far(path):
    """Every 小结 from the first chapter with a results row on (Part I's 06-08 as well as Parts II-III) shows the
    rows of the chapters up to it, as printed (.ci/sync_results.py writes them)."""
    nb = nbformat.read(path, as_version=4)
    start = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## 小结" in c.source)
    text = "\n".join(c.source for c in nb.cells[start:] if c.cell_type == "markdown")
    summary = text.split("## 小结", 1)[1].split("## 练习", 1)[0]  # a cell may hold the 小结's end and the 练习's start
    assert table_rows(summary, HEADER), f"{path.name}: the 小结 has no results table"
    for tag, header in ((TAG, HEADER), (POEMS_TAG, POEMS_HEADER)):
        shown = table_rows(summary, header)
        rows = produced(tag)
        so_far = [line for ch in sorted(rows) if ch <= path.name[:2] for line in rows[ch]]
        if tag == POEMS_TAG and path.name[:2] not in rows:
            continue  # the poems table belongs to the 小结 of the chapters that train on poems
        assert shown == so_far, (
            f"{path.name}: the 小结 table must show the rows of chapters up to this one, as printed:\n"
            f"shown {shown}\nexpected {so_far}"
        )
    every = set(table_rows(summary, HEADER)) | set(table_rows(summary, POEMS_HEADER))
    stray = [line for line in rows_in(summary) if line not in every]
    assert not stray, f"{path.name}: results rows outside the two tables of the 小结: {stray}"


def test_chapter_17_comparison_figure_holds_the_results_table():
    """Chapter 17's final comparison (dev loss against parameters and seconds for every model) is drawn from a
    cell that holds the results rows of the chapters before it (``RESULTS = \"\"\"…\"\"\"``) plus the row the chapter
    prints itself. The held rows must be the page's rows, exactly: after a chapter before 17 is re-executed
    (its seconds change) or adds a row, copy the page's rows into that cell and re-execute chapter 17."""
    path = next((p for p in NOTEBOOKS if p.name.startswith("17_")), None)
    if path is None:
        pytest.skip("chapter 17 is not written yet")
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and 'RESULTS = """' in c.source]
    assert len(cells) == 1, f"{path.name}: expected one cell holding RESULTS = \"\"\"…\"\"\""
    held = rows_in(cells[0].source)
    page = [r for r in rows_in(PAGE.read_text(encoding="utf-8")) if ROW.match(r) and ROW.match(r)["ch"] < "17"]
    assert held == page, f"{path.name}: the rows held for the comparison figure differ from book/results.md"
    drawn = "".join(o.get("text", "") for o in cells[0].outputs if o.output_type == "stream")
    assert f"{len(page) + 1} models" in drawn, f"{path.name}: the comparison cell's stored output is stale"
