"""Sphinx extension: which chapter teaches each glossary term, for the Chinese search (issue 24).

Every entry of the glossary (the toc page with a ```{glossary} block) ends with links to the chapters that
introduce the term (``见{doc}`第 9 章 </notebooks/09_mlp>```; tests/test_site.py requires them). At the end
of an HTML build this writes ``_static/zh_search_terms.js``, which sets ``window.ZH_SEARCH_TEACHES`` to
``{term: [docname, ...]}``; book/_static/zh_search.js scores a query word that is a glossary term as if it
stood in the title of those chapters, so a phrase like 嵌入向量表示 finds the chapter that teaches 嵌入.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

BLOCK = re.compile(r"^```\{glossary\}\n(.*?)^```", re.M | re.S)
ENTRY = re.compile(r"^(\S[^\n]*)\n((?:[ \t]+[^\n]*\n?)+)", re.M)
DOC = re.compile(r"\{doc\}`[^`]*<(/?[^`>]+)>`")


def teaches(text: str) -> dict[str, list[str]]:
    """Glossary markdown -> {term: [docnames its definition links, in order]}."""
    m = BLOCK.search(text)
    if not m:
        return {}
    out = {}
    for term, body in ENTRY.findall(m.group(1)):
        docs = [d.lstrip("/") for d in DOC.findall(body)]
        if docs:
            out[term.strip().lower()] = list(dict.fromkeys(docs))
    return out


def _write(app, exception):
    if exception or app.builder.format != "html":
        return
    mapping: dict[str, list[str]] = {}
    for docname in sorted(app.env.found_docs):
        path = Path(app.env.doc2path(docname))
        if path.suffix == ".md":
            mapping.update(teaches(path.read_text(encoding="utf-8")))
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    (static / "zh_search_terms.js").write_text(
        "// 由 book/_ext/search_terms.py 在构建时生成：术语表里每个词条 -> 讲它的章节\n"
        f"window.ZH_SEARCH_TEACHES = {json.dumps(mapping, ensure_ascii=False, sort_keys=True)};\n",
        encoding="utf-8")


def setup(app):
    app.add_js_file("zh_search_terms.js")
    app.connect("build-finished", _write)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
