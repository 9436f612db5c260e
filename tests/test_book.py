"""The book's contract: committed notebooks are clean fresh-kernel runs, the toc matches the files,
the pins hold, and nbval really compares outputs (a tampered output fails)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from sitelib import toc_files

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHAPTERS = [p for p in NOTEBOOKS if re.match(r"\d\d_", p.name)]
APPENDICES = [p for p in NOTEBOOKS if re.match(r"A\d_", p.name)]


def test_the_book_has_its_eight_chapters_and_the_appendix():
    # the per-notebook tests below are parametrized over these lists: they must not shrink silently.
    # Chapters 01..N without gaps; Part I has 8, Part II adds 09-12 as they are written.
    assert len(CHAPTERS) >= 8, [p.name for p in CHAPTERS]
    assert [p.name[:2] for p in CHAPTERS] == [f"{i:02d}" for i in range(1, len(CHAPTERS) + 1)]
    assert [p.name for p in APPENDICES] == ["A1_vectorization_performance.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_a_clean_fresh_kernel_run(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", "kernelspec must be python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"execution counts {counts} are not 1..{len(code)}: restart the kernel and run all, then commit"
    )
    for i, c in enumerate(code, start=1):
        tags = c.metadata.get("tags", [])
        for o in c.outputs:
            if o.output_type == "error":
                assert "raises-exception" in tags, f"code cell {i} stored an error: {o.ename}: {o.evalue}"
            if o.output_type == "stream":
                assert o.name == "stdout", f"code cell {i} wrote to stderr: {o.text[:200]!r}"
            text = o.get("text", "") + "".join(o.get("data", {}).get("text/plain", ""))
            assert not re.search(r" at 0x[0-9a-fA-F]+", text), f"code cell {i} shows a memory address"


def test_exactly_one_cell_is_expected_to_raise_and_it_does():
    tagged = []
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for c in nb.cells:
            if c.cell_type == "code" and "raises-exception" in c.metadata.get("tags", []):
                tagged.append((path.name, c))
    assert len(tagged) == 1, f"expected one raises-exception cell, found {[n for n, _ in tagged]}"
    name, cell = tagged[0]
    assert name.startswith("05_")
    assert [o.output_type for o in cell.outputs] == ["error"], "the expected-to-fail cell must store its error"


def _asserts(source: str) -> int:
    return sum(isinstance(node, ast.Assert) for node in ast.walk(ast.parse(source)))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_display_math_opens_after_a_blank_line(path):
    """MyST reads a `$$` line that directly follows a line of text as inline math: the formula and the prose
    after it come out garbled on the site and in the PDF (Chinese set in the math font)."""
    bad = []
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "markdown":
            continue
        lines, inside = cell.source.split("\n"), False
        for k, line in enumerate(lines):
            if line.strip() != "$$":
                continue
            if not inside and k > 0 and lines[k - 1].strip():
                bad.append(f"cell {i}, line {k}: {lines[k - 1][-40:]!r}")
            inside = not inside
    assert not bad, f"put a blank line before the opening $$: {bad}"


@pytest.mark.parametrize("path", CHAPTERS + APPENDICES, ids=lambda p: p.name)
def test_chapter_structure(path):
    nb = nbformat.read(path, as_version=4)
    heads = [
        line[3:].strip()
        for c in nb.cells
        if c.cell_type == "markdown"
        for line in c.source.splitlines()
        if line.startswith("## ")
    ]
    title = "# 附录" if path in APPENDICES else "# 第"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(title)
    for head in ("学习目标", "小结", "练习"):
        assert head in heads, f"no '## {head}' section"
    assert heads.index("学习目标") == 0 and heads.index("小结") < heads.index("练习")
    # every exercise solution after '## 练习' is an executed, collapsed code cell
    start = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## 练习" in c.source)
    solutions = [c for c in nb.cells[start:] if c.cell_type == "code"]
    assert solutions, "练习 has no solution cell"
    checked = 0
    for c in solutions:
        assert "hide-cell" in c.metadata.get("tags", []), "solution cells are tagged hide-cell"
        assert c.outputs, "a solution must state its result (it printed nothing)"
        if "nbval-ignore-output" in c.metadata.get("tags", []) or c.source.startswith("# NBVAL_IGNORE_OUTPUT"):
            continue  # a timing cell: its output is not compared, so it cannot be the check
        assert _asserts(c.source), f"a solution checks its result with an assert statement:\n{c.source[:200]}"
        checked += 1
    assert checked, "练习 has no solution whose output nbval compares"


def test_toc_lists_every_notebook_and_only_existing_files():
    listed = toc_files()
    for f in listed:
        assert (ROOT / f).with_suffix(".ipynb").exists() or (ROOT / f).with_suffix(".md").exists(), (
            f"_toc.yml names {f}, which does not exist"
        )
    in_toc = {f for f in listed if f.startswith("notebooks/")}
    for p in NOTEBOOKS:
        assert f"notebooks/{p.stem}" in in_toc, f"{p.name} is missing from _toc.yml"
    chapters = [f.split("/")[-1] for f in listed if re.match(r"notebooks/\d\d_", f)]
    assert chapters == sorted(chapters), "chapters must appear in the toc in numeric order"
    numbers = [int(c[:2]) for c in chapters]
    assert numbers == list(range(1, len(numbers) + 1)), f"chapter numbers {numbers} have a gap"


def test_requirements_pins():
    req = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    lines = [line.split("#")[0].strip() for line in req.splitlines()]
    assert "torch==2.13.0" in lines, "torch must be pinned exactly: the stored samples come from 2.13.0"
    assert not any(line.startswith(("--index-url", "--extra-index-url", "-i ")) for line in lines), (
        "requirements.txt installs from the ordinary index; the CPU wheel index is an optional README line"
    )
    jb = next(line for line in lines if line.startswith("jupyter-book"))
    assert "<2" in jb and ">=1.0.4" in jb
    for pkg in ("nbval", "pytest", "pytest-timeout", "pytest-xdist", "matplotlib", "numpy", "jupyter", "jieba"):
        assert any(re.match(rf"{pkg}\b", line) for line in lines), f"{pkg} missing from requirements.txt"


def test_data_file_is_not_tracked():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    tracked = out.stdout.split()
    assert not [p for p in tracked if p.endswith("names.txt")]
    assert not [p for p in tracked if p.startswith("_build/")]


def test_nbval_fails_on_a_changed_output(tmp_path):
    """The suite can fail: nbval with this project's config fails the cell whose stored output differs
    from a fresh run and passes the cell whose stored output is right (one kernel, two cells)."""
    nb = nbformat.v4.new_notebook()
    for n, (source, stored) in enumerate((("2 + 2", "4"), ("3 + 3", "7")), start=1):  # right, then tampered
        cell = nbformat.v4.new_code_cell(source, execution_count=n)
        cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": stored}, execution_count=n)]
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "check.ipynb")
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "-n", "0", "-q", "-c", str(ROOT / "pytest.ini"),
         "--rootdir", str(tmp_path), str(tmp_path / "check.ipynb")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "1 failed, 1 passed" in out, out
    assert "check.ipynb::Cell 1" in out.split("short test summary")[-1], out  # the second cell (0-based 1)


def readme_commands() -> list[str]:
    """The commands of README's first two ```bash blocks (comments and blank lines dropped)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    return [line.split(" #")[0].strip() for b in blocks[:2] for line in b.splitlines() if line.strip()]


def test_readme_set_up_is_two_commands_in_a_virtual_environment():
    commands = readme_commands()
    assert len(commands) == 2, f"README's set-up should be two commands, found {commands}"
    build, test = commands
    # PEP 668: Debian's and Homebrew's Pythons refuse `pip install` outside a virtual environment
    assert build.startswith("python3 -m venv .venv && . .venv/bin/activate && "), build
    assert "pip install -r requirements.txt" in build and "jupyter-book build . -W -n --keep-going" in build
    assert test.startswith(". .venv/bin/activate && ") and test.endswith("python -m pytest --nbval"), test


def test_book_pages_show_the_readme_commands():
    """A page that tells readers how to install shows README's commands, not an older copy of them."""
    shown = 0
    for page in sorted((ROOT / "book").rglob("*.md")):
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S):
            lines = [line.split(" #")[0].strip() for line in block.splitlines() if line.strip()]
            if any("pip install" in line or "pytest" in line for line in lines):
                assert lines == readme_commands(), f"{page.name} shows set-up commands unlike README's: {lines}"
                shown += 1
    assert shown >= 1, "the intro should show readers the two set-up commands"


def test_ci_runs_exactly_the_readme_commands():
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    for command in readme_commands():
        assert command in ci, f".ci/run must run the README's command verbatim, on a line of its own: {command!r}"
    build, test = readme_commands()
    assert ci.index(build) < ci.index(test), ".ci/run builds the book before it runs the tests"
