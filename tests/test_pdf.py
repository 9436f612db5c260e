"""The book as a PDF (issue 24): _build/latex/makemore-zh.pdf, built by `bash .ci/build_pdf.sh`.

(a) Its bookmarks have one entry per page of _toc.yml (every chapter, the results page and the appendix),
    each exactly once, under the part captions of the toc, in toc order.
(b) Its text (poppler's pdftotext) contains a Chinese sentence of every page of the toc, taken from the
    sources (the first sentence of plain Chinese in the page's markdown), so text that is lost, or printed
    as empty boxes, fails.
(c) The build script checks its prerequisites first: without xelatex it names the Debian package and
    exits with status 2, before building anything.
The tests skip when the PDF has not been built (a reader's machine without TeX); in CI they must run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import nbformat
import pytest
from sitelib import ROOT, toc, toc_files

PDF = ROOT / "_build" / "latex" / "makemore-zh.pdf"
needs_pdf = pytest.mark.skipif(not PDF.exists(), reason="no PDF: run `bash .ci/build_pdf.sh` first")
PLAIN = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff，、；：“”]{13,}。")


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def markdown(doc: str) -> str:
    path = ROOT / f"{doc}.ipynb"
    if path.exists():
        nb = nbformat.read(path, as_version=4)
        return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown"
                           and "remove-cell" not in c.metadata.get("tags", []))
    return (ROOT / f"{doc}.md").read_text(encoding="utf-8")


def title(doc: str) -> str:
    m = re.search(r"^# (.+)$", markdown(doc), re.M)
    assert m, f"{doc} has no '# ' title"
    return re.sub(r"[`*]", "", m.group(1)).strip()


def sentence(doc: str) -> str:
    """The first sentence of the page that is plain Chinese (no markup, code or Latin letters)."""
    text = re.sub(r"<!--.*?-->", "", markdown(doc), flags=re.S)  # comments are not printed
    text = re.sub(r"^(#|\|).*$", "", text, flags=re.M)  # not headings or table rows
    m = PLAIN.search(text)
    assert m, f"{doc}: no sentence of plain Chinese to look for"
    return m.group(0)


@cache
def outline() -> ET.Element:
    xml = subprocess.run(["pdftohtml", "-xml", "-i", "-q", "-stdout", str(PDF)], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    start = xml.find("<outline>")
    assert start >= 0, "the PDF has no bookmarks"
    depth, i = 0, start
    for m in re.finditer(r"</?outline>", xml[start:]):  # the outermost <outline> ... </outline>
        depth += 1 if m.group(0) == "<outline>" else -1
        if depth == 0:
            i = start + m.end()
            break
    return ET.fromstring(xml[start:i])


@cache
def pdf_text() -> str:
    return squash(subprocess.run(["pdftotext", str(PDF), "-"], capture_output=True, text=True, check=True,
                                 timeout=300).stdout)


def test_ci_builds_the_pdf():
    if not os.environ.get("CI"):
        pytest.skip("enforced only in CI (the CI variable is set by the CI runner)")
    assert PDF.exists(), "CI must build the PDF before the tests (.ci/run runs .ci/build_pdf.sh)"


@needs_pdf
def test_one_bookmark_per_page_of_the_toc_under_its_part():
    root = outline()
    parts = [squash(p["caption"]) for p in toc().get("parts", [])]
    # top level: the part captions, in order (sphinx-jupyterbook-latex numbers them: "I 数据与计数")
    top = [squash(item.text or "") for item in root.findall("item")]
    assert [re.sub(r"^[IVXLC]+", "", t, count=1) for t in top] == parts, top
    children = [squash(item.text or "") for ol in root.findall("outline") for item in ol.findall("item")]
    want = [squash(title(doc)) for doc in toc_files()[1:]]
    assert children == want, f"chapter bookmarks {children} != the toc's pages {want}"


@needs_pdf
@pytest.mark.parametrize("doc", toc_files())
def test_pdf_text_has_a_sentence_of_every_page(doc):
    s = sentence(doc)
    assert squash(s) in pdf_text(), f"{doc}: the PDF text lacks {s!r}"


def test_build_script_names_the_missing_debian_package(tmp_path):
    """With every program on PATH except xelatex, the script stops at once and names texlive-xetex."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = Path(d)
        if not p.is_dir():
            continue
        for exe in p.iterdir():
            if exe.name != "xelatex" and not (bin_dir / exe.name).exists():
                (bin_dir / exe.name).symlink_to(exe)
    bash = shutil.which("bash")
    res = subprocess.run([bash, str(ROOT / ".ci" / "build_pdf.sh")], env={**os.environ, "PATH": str(bin_dir)},
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "texlive-xetex" in res.stderr and "apt-get install" in res.stderr, res.stderr
    assert "xelatex" in res.stderr and "build" not in res.stdout


def test_no_notebook_output_is_only_svg():
    """LaTeX cannot include SVG and the PDF build converts nothing (jblatex_load_imgconverter: false): every image
    output needs a PNG/JPEG/PDF version (matplotlib's default PNG), or the PDF build fails on the warning."""
    bad = []
    for doc in toc_files():
        path = ROOT / f"{doc}.ipynb"
        if not path.exists():
            continue
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if "image/svg+xml" in data and not {"image/png", "image/jpeg", "application/pdf"} & set(data):
                    bad.append(f"{doc} cell {i}")
    assert not bad, f"SVG-only image outputs (save them as PNG): {bad}"


PDF_OUT = "echo '%PDF' > _build/latex/makemore-zh.pdf\n"
TEX_LOG = "_build/latex/makemore-zh.log"


def _run_with_fake_build(tmp_path: Path, script: str) -> subprocess.CompletedProcess:
    """.ci/build_pdf.sh in a scratch repo whose `jupyter-book` is a stub running ``script`` (bash)."""
    if not shutil.which("xelatex"):
        pytest.skip("TeX is not installed (the prerequisite check stops first; CI installs it)")
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "build_pdf.sh", tmp_path / ".ci" / "build_pdf.sh")
    stub = tmp_path / "bin" / "jupyter-book"
    stub.parent.mkdir()
    stub.write_text("#!/usr/bin/env bash\nmkdir -p _build/latex\n" + script)
    stub.chmod(0o755)
    env = {**os.environ, "PATH": f"{stub.parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["bash", str(tmp_path / ".ci" / "build_pdf.sh")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_build_script_fails_loudly_on_a_latex_error(tmp_path):
    error = "printf '! Undefined control sequence.\\nl.42 \\\\foo\\n'"
    res = _run_with_fake_build(tmp_path, PDF_OUT + f"{error} > {TEX_LOG}\necho 'Error: Failed to build pdf'; exit 1\n")
    assert res.returncode == 1, res.stderr
    assert "the PDF build failed" in res.stderr and "Undefined control sequence" in res.stderr, res.stderr


def test_build_script_fails_on_a_glyph_no_font_has(tmp_path):
    missing = "echo 'Missing character: There is no 𠀀 in font FreeSerif'"
    res = _run_with_fake_build(tmp_path, PDF_OUT + f"{missing} > {TEX_LOG}\n")
    assert res.returncode == 1, res.stderr
    assert "no font has" in res.stderr and "Missing character" in res.stderr, res.stderr


def test_build_script_passes_a_clean_build(tmp_path):
    res = _run_with_fake_build(tmp_path, PDF_OUT + f": > {TEX_LOG}\n")
    assert res.returncode == 0, res.stderr
    assert "build_pdf: _build/latex/makemore-zh.pdf" in res.stdout
