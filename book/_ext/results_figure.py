"""Sphinx extension: the results figure (成绩图) on book/results.md, drawn at build time from the table.

The page writes ``:::{results-figure}`` (no arguments). The directive reads the results table of the same
page (the markdown table whose header is ``| 模型 | 章 | dev | test | 参数 | 训练 |``), draws dev loss
against parameters and against training seconds with matplotlib, one point per row, and inserts the
figure, its caption and a key from point labels to model names. Nothing is copied by hand: a row added to
the table appears in the figure on the next build; a row that cannot be read fails the build.

The figure is written as ``book/_generated/results_figure.svg`` (HTML) and ``.pdf`` (LaTeX/PDF); the SVG
carries the plotted rows as JSON in its ``<dc:description>`` so that tests can compare the figure's data
with the table (tests/test_downloads.py).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

HEADER = ["模型", "章", "dev", "test", "参数", "训练"]
FIGURE = "results_figure"  # file stem in book/_generated/


class TableError(ValueError):
    pass


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_results_table(text: str) -> list[dict]:
    """Rows of the table with the header ``HEADER`` in a markdown page, in table order.

    Each row becomes ``{"model", "chapter", "dev", "test", "params", "seconds"}``; numbers are parsed
    (``19,683`` -> 19683, ``5.3 s`` -> 5.3). Raises TableError naming the line when a row is malformed.
    """
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("|") and _cells(line) == HEADER),
                 None)
    if start is None:
        raise TableError(f"no table with the header | {' | '.join(HEADER)} |")
    rows = []
    for lineno, line in enumerate(lines[start + 2 :], start=start + 3):
        if not line.lstrip().startswith("|"):
            break
        cells = _cells(line)
        try:
            model, ch, dev, test, params, secs = cells
            m = re.fullmatch(r"(\d+(?:\.\d+)?) s", secs)
            if not m or not re.fullmatch(r"\d\d", ch) or not re.fullmatch(r"\d{1,3}(,\d{3})*", params):
                raise ValueError
            rows.append({"model": model, "chapter": ch, "dev": float(dev), "test": float(test),
                         "params": int(params.replace(",", "")), "seconds": float(m.group(1))})
        except ValueError:
            raise TableError(f"line {lineno}: cannot read the results row {line.strip()!r}") from None
    if not rows:
        raise TableError("the results table has no rows")
    return rows


def point_labels(rows: list[dict]) -> list[str]:
    """One short label per row: the chapter number, with a, b, ... when a chapter has several rows."""
    per_ch = defaultdict(int)
    for r in rows:
        per_ch[r["chapter"]] += 1
    seen = defaultdict(int)
    labels = []
    for r in rows:
        ch = r["chapter"]
        labels.append(ch if per_ch[ch] == 1 else ch + "abcdefghijklmnopqrstuvwxyz"[seen[ch]])
        seen[ch] += 1
    return labels


def draw(rows: list[dict], labels: list[str], out_stem: Path) -> list[Path]:
    """Draw the two panels; write ``out_stem``.svg and .pdf; return the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = [dict(r, label=lab) for r, lab in zip(rows, labels)]
    ys = [d["dev"] for d in data]
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "mm-results", "font.size": 9}):
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True, constrained_layout=True)
        panels = [("params", "parameters (log scale)", "log"), ("seconds", "training seconds, 2-core CPU", "symlog")]
        for ax, (key, xlabel, scale) in zip(axes, panels):
            xs = [d[key] for d in data]
            ax.scatter(xs, ys, s=28, color="tab:blue", zorder=3, gid=f"points-{key}")
            if scale == "symlog":
                ax.set_xscale("symlog", linthresh=1.0)
                ax.set_xlim(left=-0.3, right=max(xs) * 2.5)
            else:
                ax.set_xscale("log")
                ax.set_xlim(min(xs) / 1.6, max(xs) * 2.5)
            ax.set_ylim(min(ys) - 0.04, max(ys) + 0.06)
            ax.set_xlabel(xlabel)
            ax.grid(True, which="major", alpha=0.3)
            # points closer than ~14 px share one label ("06a/08"), so that no label hides another
            px = ax.transData.transform([(d[key], d["dev"]) for d in data])
            groups: list[tuple[int, list[str]]] = []
            for i, d in enumerate(data):
                near = next((g for g in groups
                             if abs(px[g[0]][0] - px[i][0]) < 30 and abs(px[g[0]][1] - px[i][1]) < 14), None)
                if near:
                    near[1].append(d["label"])
                else:
                    groups.append((i, [d["label"]]))
            for i, labs in groups:
                ax.annotate("/".join(labs), (data[i][key], data[i]["dev"]), xytext=(5, 4),
                            textcoords="offset points", fontsize=8)
        axes[0].set_ylabel("dev loss (mean NLL, nats)")
        fig.suptitle("every model of the results table: dev loss")
        out_stem.parent.mkdir(parents=True, exist_ok=True)
        paths = []
        for ext in ("svg", "pdf"):
            path = out_stem.with_suffix("." + ext)
            meta = {"Description": json.dumps(data, ensure_ascii=False)} if ext == "svg" else {}
            meta["Date"] = None  # no time stamp: the same table gives the same file
            fig.savefig(path, metadata=meta)
            paths.append(path)
        plt.close(fig)
    return paths


class ResultsFigure(SphinxDirective):
    """``{results-figure}``: the figure, a caption and the key, from the results table of this page."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        source = Path(self.state.document.current_source)
        try:
            rows = parse_results_table(source.read_text(encoding="utf-8"))
        except TableError as e:
            raise self.error(f"results-figure: {source.name}: {e}") from None
        labels = point_labels(rows)
        self.env.mm_results_figure_docs = getattr(self.env, "mm_results_figure_docs", set()) | {self.env.docname}
        out_stem = source.parent / "_generated" / FIGURE
        draw(rows, labels, out_stem)
        rel = Path(out_stem.parent.name) / (FIGURE + ".*")  # Sphinx picks .svg for HTML, .pdf for LaTeX
        figure = nodes.figure(ids=["results-figure"], classes=["results-figure"])
        figure += nodes.image(uri=rel.as_posix(), alt="dev 损失与参数个数、训练时间的关系")
        caption = nodes.caption(text="每个模型在开发集上的损失（越低越好）：左图对参数个数（对数刻度），"
                                     "右图对训练时间（1 秒以下是线性刻度，以上是对数刻度）。"
                                     "点旁的标签是章号，同一章有几个模型时加 a、b；对应的模型见图下的列表。")
        figure += caption
        key = nodes.bullet_list(classes=["results-figure-key"])
        for lab, r in zip(labels, rows):
            item = nodes.list_item()
            para = nodes.paragraph()
            para += nodes.strong(text=lab)
            para += nodes.Text(f"：{r['model']}（dev {r['dev']:.4f}，{r['params']:,} 个参数，{r['seconds']:.1f} s）")
            item += para
            key += item
        return [figure, key]


def _always_reread(app, env, added, changed, removed):
    """Re-read the page on every build: the figure file must exist and match the extension's current code."""
    return sorted(getattr(env, "mm_results_figure_docs", set()) - set(removed))


def setup(app):
    app.add_directive("results-figure", ResultsFigure)
    app.connect("env-get-outdated", _always_reread)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
