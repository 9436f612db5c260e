"""Sphinx extension: the notebooks as one download, and an "open in Kaggle" launch link (issue 24).

* At ``builder-inited`` it writes ``book/_generated/makemore-zh-notebooks.zip`` with exactly the notebooks
  that ``_toc.yml`` lists (chapters and appendix), ``notebooks/mm_utils.py``, ``data/README.md`` and a short
  Chinese "how to run" file (``book/_ext/notebooks_zip_README.md``, stored as ``README.md``), all under one
  top folder ``makemore-zh/``. Entries are sorted and time-stamped 1980-01-01, so the same sources give the
  same bytes. The intro links it with the ``{download}`` role, which copies it into the site.
* At ``html-page-context`` (after sphinx-book-theme has built its header buttons) it adds, on every page,
  the zip as the first entry of the header's download menu, and on every notebook page a "Kaggle" entry in
  the launch (rocket) menu next to Colab, in Kaggle's documented pattern for opening a GitHub notebook:
  ``https://kaggle.com/kernels/welcome?src=https://github.com/OWNER/REPO/blob/BRANCH/PATH``.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import yaml

ZIP_NAME = "makemore-zh-notebooks.zip"
TOP = "makemore-zh"
KAGGLE = "https://kaggle.com/kernels/welcome?src="


def _toc_files(toc: dict) -> list[str]:
    out: list[str] = []

    def walk(items):
        for item in items or []:
            if "file" in item:
                out.append(item["file"])
            walk(item.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return out


def zip_members(root: Path) -> dict[str, Path]:
    """Archive name -> source file: the toc's notebooks, mm_utils.py, the data README and README.md."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    members = {}
    for f in _toc_files(toc):
        nb = root / f"{f}.ipynb"
        if f.startswith("notebooks/") and nb.exists():
            members[f"{TOP}/{f}.ipynb"] = nb
    if not members:
        raise RuntimeError("downloads: _toc.yml lists no notebooks")
    members[f"{TOP}/notebooks/mm_utils.py"] = root / "notebooks" / "mm_utils.py"
    members[f"{TOP}/data/README.md"] = root / "data" / "README.md"
    members[f"{TOP}/README.md"] = Path(__file__).with_name("notebooks_zip_README.md")
    return members


def write_zip(root: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, src in sorted(zip_members(root).items()):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, src.read_bytes())
    tmp.replace(dest)
    return dest


def _root(app) -> Path:
    return Path(app.srcdir)


def zip_path(app) -> Path:
    return _root(app) / "book" / "_generated" / ZIP_NAME


def _build_zip(app):
    write_zip(_root(app), zip_path(app))


def _github(app) -> tuple[str, str] | None:
    """(OWNER/REPO, branch) from the theme's repository settings (jupyter-book fills them from _config.yml)."""
    opts = app.config.html_theme_options or {}
    m = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?/?", opts.get("repository_url", ""))
    return (m.group(1), opts.get("repository_branch") or "main") if m else None


def kaggle_url(repo: str, branch: str, path: str) -> str:
    return f"{KAGGLE}https://github.com/{repo}/blob/{branch}/{path}"


def _add_buttons(app, pagename, templatename, context, doctree):
    buttons = context.get("header_buttons")
    if buttons is None:
        return
    groups = {b.get("label"): b for b in buttons if b.get("type") == "group"}
    # the zip: where the {download} role put it (docs that link it), else nothing to link to
    rel = zip_path(app).relative_to(_root(app)).as_posix()
    entry = app.env.dlfiles.get(rel)
    if entry and "download-buttons" in groups:
        url = context["pathto"]("_downloads/" + entry[1], 1)
        groups["download-buttons"]["buttons"].insert(0, {
            "type": "link", "url": url, "text": "全部笔记本 .zip", "icon": "fas fa-file-zipper",
            "tooltip": "下载全部章节笔记本（含 mm_utils.py）", "label": "download-all-notebooks-button"})
    gh = _github(app)
    if gh and "launch-buttons" in groups:
        path = Path(app.env.doc2path(pagename)).relative_to(_root(app))
        if path.suffix == ".ipynb":
            groups["launch-buttons"]["buttons"].append({
                "type": "link", "url": kaggle_url(gh[0], gh[1], path.as_posix()), "text": "Kaggle",
                "tooltip": "在 Kaggle 里打开", "icon": "fab fa-kaggle", "label": "launch-kaggle-button"})


def setup(app):
    app.connect("builder-inited", _build_zip)
    app.connect("html-page-context", _add_buttons, priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
