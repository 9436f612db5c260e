"""Helpers shared by test_colab.py, test_site.py and test_browser.py (not a test module).

Everything is derived from the two files the book is built from: ``_config.yml`` (repository URL
and branch) and ``_toc.yml`` (which pages exist, in reading order). Tests iterate over whatever the
table of contents lists, so they keep working while chapters are being added.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
NOTEBOOKS = ROOT / "notebooks"


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def toc() -> dict:
    return yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))


def _entries(items: list[dict]) -> list[str]:
    out = []
    for item in items or []:
        if "file" in item:
            out.append(item["file"])
        out.extend(_entries(item.get("sections", [])))
    return out


def toc_files() -> list[str]:
    """All documents in reading order (root first), as written in _toc.yml (no extension)."""
    t = toc()
    files = [t["root"]]
    for part in t.get("parts", []):
        files.extend(_entries(part.get("chapters", [])))
    files.extend(_entries(t.get("chapters", [])))
    return files


def toc_notebooks() -> list[str]:
    """Documents listed in _toc.yml that are notebooks in notebooks/ (chapters and appendix)."""
    return [f for f in toc_files() if f.startswith("notebooks/") and (ROOT / f"{f}.ipynb").exists()]


def chapter_docs() -> list[str]:
    """Numbered chapters (notebooks/NN_*.ipynb) listed in _toc.yml, in order."""
    return [f for f in toc_notebooks() if re.fullmatch(r"notebooks/\d\d_\w+", f)]


def github_repo() -> tuple[str, str, str]:
    """(owner, repo, branch) from _config.yml ``repository.url`` / ``repository.branch``."""
    repo = config()["repository"]
    m = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", repo["url"])
    assert m, f"repository.url is not a GitHub URL: {repo['url']!r}"
    return m.group(1), m.group(2), repo.get("branch", "main")


def raw_base_url() -> str:
    """https://raw.githubusercontent.com/OWNER/REPO/BRANCH, the base the Colab bootstrap downloads from."""
    owner, name, branch = github_repo()
    return f"https://raw.githubusercontent.com/{owner}/{name}/{branch}"


def html_page(doc: str) -> Path:
    return HTML / f"{doc}.html"


def searchindex() -> dict:
    text = (HTML / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1 : text.rindex(")")])


def built() -> bool:
    return (HTML / "searchindex.js").exists() and (HTML / "index.html").exists()


NOT_BUILT = "the site is not built: run `jupyter-book build . -W -n --keep-going` first (_build/html missing)"
