"""The built site (_build/html) and the glossary: launch buttons, Chinese search index, {term} links.

Tests on the built HTML skip (with the reason) when the site has not been built; the glossary tests read
the sources (book/glossary.md and the notebooks' markdown) and always run. Pages are taken from
_toc.yml, so the tests follow the chapters that exist.
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
from sitelib import NOT_BUILT, ROOT, built, chapter_docs, github_repo, html_page, searchindex, toc_files, toc_notebooks

needs_build = pytest.mark.skipif(not built(), reason=NOT_BUILT)
COLAB = "https://colab.research.google.com/github/"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if a.get("id"):
            self.ids.append(a["id"])


def parse_html(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


# ---------------------------------------------------------------------------------------------
# Colab launch buttons
# ---------------------------------------------------------------------------------------------


@needs_build
@pytest.mark.parametrize("doc", toc_notebooks())
def test_page_has_colab_link_to_its_notebook(doc):
    page = html_page(doc)
    assert page.exists(), f"{doc} is in _toc.yml but {page.relative_to(ROOT)} was not built (stale build?)"
    links = [h for h in parse_html(page).hrefs if h.startswith(COLAB)]
    assert links, f"{doc}: no Colab launch link on the page"
    owner, repo, branch = github_repo()
    for link in links:
        # https://colab.research.google.com/github/OWNER/REPO/blob/BRANCH/PATH
        parts = urlparse(link).path.split("/")
        assert parts[1:6] == ["github", owner, repo, "blob", branch], link
        path = "/".join(parts[6:])
        assert (ROOT / path).is_file(), f"{doc}: Colab link points to {path}, which is not in the repo"
        assert path == f"{doc}.ipynb", f"{doc}: Colab link opens {path}"


# ---------------------------------------------------------------------------------------------
# Chinese full-text search (jieba at build time)
# ---------------------------------------------------------------------------------------------

# Words a reader would search for, per chapter; each must be an index term pointing at that chapter.
SEARCH_TERMS = {
    "notebooks/01_data_loading": ["名字", "数据", "首字母"],
    "notebooks/02_bigram_dict": ["二元组", "字典"],
    "notebooks/03_count_tensor": ["计数矩阵", "热力图", "张量"],
    "notebooks/04_sampling": ["采样", "多项式采样"],
    "notebooks/05_broadcasting": ["广播", "归一化", "原地操作"],
    "notebooks/06_likelihood_nll": ["似然", "负对数似然", "平滑"],
    "notebooks/07_one_hot_net": ["梯度下降", "神经网络", "神经元", "训练集"],
    "notebooks/08_regularization_parity": ["正则化", "一致性"],
}


def _docs_for(index: dict, term: str) -> set[int]:
    out: set[int] = set()
    for table in (index["terms"], index["titleterms"]):
        files = table.get(term, [])
        out.update([files] if isinstance(files, int) else files)
    return out


@needs_build
def test_search_index_has_chinese_terms_of_every_chapter():
    index = searchindex()
    docnames = index["docnames"]
    present = [d for d in chapter_docs() if d in SEARCH_TERMS]
    assert present, "no chapters listed in _toc.yml"
    missing = []
    for doc in present:
        assert doc in docnames, f"{doc} is in _toc.yml but not in searchindex.js (stale build?)"
        for term in SEARCH_TERMS[doc]:
            if docnames.index(doc) not in _docs_for(index, term):
                missing.append(f"{doc}: {term}")
    assert not missing, f"Chinese terms not indexed for their chapter (jieba segmentation?): {missing}"


@needs_build
def test_search_index_uses_the_domain_dictionary():
    # without book/_static/zh_search_dict.txt, jieba cuts 负对数似然 into 负 / 对数 / 似然 and drops the 负
    index = searchindex()
    assert "负对数似然" in index["terms"] or "负对数似然" in index["titleterms"]
    assert "中英术语表" in index["titles"]


@needs_build
def test_search_knows_which_chapter_teaches_each_glossary_term():
    """_static/zh_search_terms.js (book/_ext/search_terms.py): every glossary term -> the chapters its entry links."""
    import json

    text = (ROOT / "_build" / "html" / "_static" / "zh_search_terms.js").read_text(encoding="utf-8")
    mapping = json.loads(text[text.index("{"): text.rindex("}") + 1])
    assert set(mapping) == {t.lower() for t in glossary_terms()}
    assert mapping["嵌入"] == ["notebooks/09_mlp"] and mapping["似然"] == ["notebooks/06_likelihood_nll"]
    docs = set(toc_files())
    assert all(d in docs for ds in mapping.values() for d in ds), "a glossary link points outside the toc"


# ---------------------------------------------------------------------------------------------
# Glossary
# ---------------------------------------------------------------------------------------------

GLOSSARY = ROOT / "book" / "glossary.md"
ROLE = re.compile(r"\{term\}`([^`]+)`")
DICT = ROOT / "book" / "_static" / "zh_search_dict.txt"


def glossary_terms() -> list[str]:
    text = GLOSSARY.read_text(encoding="utf-8")
    m = re.search(r"^```\{glossary\}\n(.*?)^```", text, re.M | re.S)
    assert m, "book/glossary.md has no ```{glossary} block"
    return [line.strip() for line in m.group(1).splitlines() if line.strip() and not line[0].isspace()]


def role_target(content: str) -> str:
    m = re.fullmatch(r"(.*?)\s*<(.+)>", content, re.S)
    return (m.group(2) if m else content).strip()


def markdown_of(doc: str) -> str:
    nb = nbformat.read(ROOT / f"{doc}.ipynb", as_version=4)
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_glossary_terms_are_unique_and_in_toc():
    terms = glossary_terms()
    assert len(terms) >= 20
    lower = [t.lower() for t in terms]
    assert len(set(lower)) == len(lower), "duplicate glossary terms"
    assert "book/glossary" in toc_files(), "book/glossary must be listed in _toc.yml (part 附录)"


def test_every_term_role_targets_a_glossary_term():
    known = {t.lower() for t in glossary_terms()}
    bad = []
    sources = {doc: markdown_of(doc) for doc in toc_notebooks()}
    for md in (ROOT / "book").glob("*.md"):
        sources[md.relative_to(ROOT).as_posix()] = md.read_text(encoding="utf-8")
    for doc, text in sources.items():
        bad += [f"{doc}: {c}" for c in ROLE.findall(text) if role_target(c).lower() not in known]
    assert not bad, f"{{term}} roles whose target is not in book/glossary.md: {bad}"


def _mentions(text: str, term: str, longer: list[str]) -> bool:
    """Does ``text`` mention ``term`` itself (not only as part of a longer glossary term)?"""
    text = text.lower()
    for other in longer:
        text = text.replace(other.lower(), " ")
    return term.lower() in text


def first_appearance_report() -> tuple[list[str], list[str]]:
    """(terms whose first chapter does not link them, terms no chapter mentions)."""
    terms = glossary_terms()
    chapters = chapter_docs()
    texts = {doc: markdown_of(doc) for doc in chapters}
    linked = {doc: {role_target(c).lower() for c in ROLE.findall(t)} for doc, t in texts.items()}
    unlinked, unused = [], []
    for term in terms:
        longer = [o for o in terms if o != term and term.lower() in o.lower()]
        first = next((d for d in chapters if _mentions(texts[d], term, longer)), None)
        if first is None:
            unused.append(term)
        elif term.lower() not in linked[first]:
            unlinked.append(f"{term} (first in {first})")
    return unlinked, unused


def test_glossary_terms_are_linked_where_they_first_appear():
    unlinked, unused = first_appearance_report()
    assert not unlinked, f"add {{term}} at the first mention in these chapters: {unlinked}"
    if len(chapter_docs()) >= 8:  # every chapter written: a term nobody uses does not belong here
        assert not unused, f"glossary terms that no chapter mentions: {unused}"


def test_every_glossary_entry_points_to_a_chapter():
    text = GLOSSARY.read_text(encoding="utf-8")
    body = re.search(r"^```\{glossary\}\n(.*?)^```", text, re.M | re.S).group(1)
    entries = re.findall(r"^(\S[^\n]*)\n((?:  [^\n]*\n)+)", body, re.M)
    assert len(entries) == len(glossary_terms())
    no_ref = [t for t, d in entries if not re.search(r"\{doc\}`[^`]*</?notebooks/[^`]+>`", d)]
    assert not no_ref, f"end these definitions with 见{{doc}}`第 N 章 </notebooks/NN_…>`: {no_ref}"


def test_search_dictionary_covers_the_glossary():
    words = set(DICT.read_text(encoding="utf-8").split())
    han = [t for t in glossary_terms() if re.search(r"[\u4e00-\u9fff]", t) and " " not in t]
    assert not [t for t in han if t not in words], f"add to {DICT.name}: {[t for t in han if t not in words]}"


@needs_build
def test_built_glossary_page_defines_every_term():
    page = html_page("book/glossary")
    assert page.exists(), "book/glossary.html not built"
    ids = [i for i in parse_html(page).ids if i.startswith("term-")]
    assert len(ids) == len(glossary_terms())
    # and chapters link into it
    linked = set()
    for doc in chapter_docs():
        linked |= {h.split("#")[1] for h in parse_html(html_page(doc)).hrefs if "glossary.html#term-" in h}
    assert linked <= set(ids) and linked, "chapter pages have no working links into the glossary"


def test_ci_checks_the_built_site():
    """The site and browser tests skip on a reader's machine without a build; in CI they must run."""
    if not os.environ.get("CI"):
        pytest.skip("enforced only in CI (the CI variable is set by the CI runner)")
    assert built(), NOT_BUILT
    assert os.environ.get("MM_SKIP_BROWSER") != "1", "MM_SKIP_BROWSER=1 must not be set in CI"
