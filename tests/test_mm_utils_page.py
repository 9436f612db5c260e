"""book/mm_utils.md: the page that shows mm_utils.py names, for every public name, the chapter that derives it.

A name's chapter is its section in mm_utils.py (``# 第 N 章…`` / ``# 附录 A1…`` comment headers, which are
in chapter order). Every name in ``__all__`` whose chapter notebook exists must have a row in the page's
table, and the row links to that chapter's notebook (one of them, for a section like 第 7、8 章). Adding a
function = adding one row ``| `name` | [第 N 章](../notebooks/NN_….ipynb) | … |``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sitelib import toc_files

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "book" / "mm_utils.md"
MODULE = ROOT / "notebooks" / "mm_utils.py"


def sections() -> dict[str, list[str]]:
    """name -> chapter keys of its section, e.g. 'load_words' -> ['01'], 'train_bigram_net' -> ['07', '08']."""
    lines = MODULE.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    heads = []  # (line number, chapter keys)
    for i, line in enumerate(lines, start=1):
        m = re.match(r"# (第 ([\d、]+) 章|附录 (A\d))", line)
        if m:
            keys = [f"{int(n):02d}" for n in m.group(2).split("、")] if m.group(2) else [m.group(3)]
            heads.append((i, keys))
    out = {}
    for node in tree.body:
        names = []
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        before = [keys for line, keys in heads if line < node.lineno]
        for name in names:
            if before:
                out[name] = before[-1]
    return out


def table_rows() -> dict[str, list[str]]:
    """name -> notebook link targets of its row in the page's table."""
    rows = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        first, second = line.split("|")[1:3]
        links = re.findall(r"\]\(\.\./(notebooks/[^)]+)\.ipynb\)", second)
        for name in re.findall(r"`([^`]+)`", first):
            rows[name] = links
    return rows


def public_names() -> list[str]:
    import mm_utils  # tests/conftest.py puts notebooks/ on sys.path

    return list(mm_utils.__all__)


def test_every_public_name_of_a_written_chapter_has_a_row_linking_to_it():
    where, rows = sections(), table_rows()
    notebooks = {p.stem[:2]: p for p in (ROOT / "notebooks").glob("*.ipynb")}
    missing, wrong = [], []
    checked = 0
    for name in public_names():
        keys = where[name]
        if not any(k in notebooks for k in keys):
            continue  # its chapter is not written yet: the row comes with the chapter
        checked += 1
        if name not in rows:
            missing.append(f"{name} (第 {'/'.join(keys)} 章)")
        elif not rows[name] or not all(Path(link).name[:2] in keys for link in rows[name]):
            wrong.append(f"{name}: links {rows[name]}, its section is {keys}")
    assert not missing, f"book/mm_utils.md has no row for {missing}"
    assert not wrong, f"book/mm_utils.md links these to the wrong chapter: {wrong}"
    assert checked >= 17  # Part I and appendix A1 at least


def test_every_row_names_a_public_name_and_links_an_existing_page_in_the_toc():
    public, listed = set(public_names()), set(toc_files())
    for name, links in table_rows().items():
        assert name in public, f"book/mm_utils.md lists {name}, which mm_utils.__all__ does not export"
        for link in links:
            assert (ROOT / f"{link}.ipynb").exists() and link in listed, f"{name}: {link} is not a chapter in the toc"


def test_page_includes_the_module_and_is_in_the_toc():
    """The module is shown whole, in consecutive blocks (one block of 1,250 lines is taller than TeX can frame
    in the PDF): each block ends where the next starts, at a marker that occurs once in the module."""
    text = PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"```\{literalinclude\} (\S+)\n(.*?)```", text, flags=re.S)
    assert blocks, "book/mm_utils.md includes no file"
    module = MODULE.read_text(encoding="utf-8")
    bounds = []
    for path, options in blocks:
        assert (PAGE.parent / path).resolve() == MODULE.resolve()
        opts = dict(re.findall(r'^:([a-z-]+):[ ]*"?(.*?)"?$', options, flags=re.M))
        for key in ("start-at", "end-before"):
            if key in opts:
                assert module.count(opts[key]) == 1, f"{key} marker {opts[key]!r} must occur once in mm_utils.py"
        bounds.append((opts.get("start-at"), opts.get("end-before")))
    assert bounds[0][0] is None and bounds[-1][1] is None, "the blocks start at the top and run to the end"
    for (_, end), (start, _) in zip(bounds, bounds[1:]):
        assert end is not None and end == start, "each block starts where the previous one ends"
    assert "book/mm_utils" in toc_files()
