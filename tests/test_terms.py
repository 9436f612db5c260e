"""One word per concept, as the glossary fixes it (GUIDE §6–7, issue 10 §6).

For every notebook in notebooks/ (chapters and appendices, including chapters added later) and every
page in book/, the rejected synonyms of a chosen term do not appear in what a reader reads as prose:
markdown cells, code comments, and the pages. String literals and outputs are not checked (they are
data, not wording). The glossary must define each chosen term and give its English.

The rules are precise on purpose:
- 采样 (sampling): 抽样 is rejected everywhere. (The verb 抽, "draw", stays: 抽一个字符.)
- 索引 (index): 下标 is rejected everywhere.
- 标签 (label, the `ys` / `Y` a model must predict): 目标 is rejected where it names the label —
  目标值, 目标字符, 目标张量, 目标编号, 目标索引, 目标类别, 目标向量, 目标序列, "输入和目标", 目标 `ys`/`Y`.
  目标 meaning "goal" or "objective" (学习目标, 优化目标, 目标函数, "目标是……") is a different concept and stays.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PAGES = sorted((ROOT / "book").rglob("*.md"))
GLOSSARY = ROOT / "book" / "glossary.md"

# chosen term -> patterns of the rejected words for the same concept
REJECTED: dict[str, list[re.Pattern[str]]] = {
    "采样": [re.compile("抽样")],
    "索引": [re.compile("下标")],
    "标签": [
        re.compile("目标(?:值|字符|张量|编号|索引|类别|向量|序列)"),
        re.compile("(?:输入|特征)(?:和|与|及|、)目标"),
        re.compile(r"目标\s*`?(?:ys|Y)\b"),
    ],
}

# the book's terms (COMMON conventions) and the English the glossary must give for each.
# 参数 (parameter) is not a glossary entry: in Chinese it also means a function's argument, which
# chapters 3-5 use (`minlength` 参数), so a first-mention link would point the reader at the wrong sense.
CHOSEN: dict[str, str] = {
    "采样": "sampling",
    "索引": "index",
    "标签": "label",
    "独热编码": "one-hot encoding",
    "softmax": "归一化指数函数",
    "梯度下降": "gradient descent",
    "反向传播": "backpropagation",
    "交叉熵": "cross-entropy",
    "负对数似然": "negative log likelihood",
    "嵌入": "embedding",
    "上下文窗口": "context window",
    "小批量": "minibatch",
    "学习率": "learning rate",
    "训练集": "training set",
    "开发集": "dev set",
    "测试集": "test set",
    "过拟合": "overfitting",
    "批归一化": "batch normalization",
    "初始化": "initialization",
    "激活值": "activation",
    "隐藏层": "hidden layer",
}


def comments(source: str) -> list[str]:
    """The comments of a code cell (``#`` outside strings); IPython magics and shell lines are skipped."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tokens = tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline)
        return [tok.string for tok in tokens if tok.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError):  # an unfinished cell: fall back to a line scan
        return [line[line.index("#"):] for line in lines if "#" in line]


def prose_of(path: Path) -> list[tuple[str, str]]:
    """(where, text) pairs a reader reads as prose in a notebook or page."""
    if path.suffix == ".md":
        return [(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))]
    nb = nbformat.read(path, as_version=4)
    out = []
    for i, cell in enumerate(nb.cells):
        where = f"{path.relative_to(ROOT).as_posix()}[{i}]"
        if cell.cell_type == "markdown":
            out.append((where, cell.source))
        elif cell.cell_type == "code":
            out += [(f"{where} comment", c) for c in comments(cell.source)]
    return out


def rejected_words(text: str) -> list[tuple[str, str]]:
    """(chosen term, the rejected wording with its context) for every rule that matches ``text``."""
    hits = []
    for chosen, patterns in REJECTED.items():
        for pattern in patterns:
            for m in pattern.finditer(text):
                context = text[max(0, m.start() - 12) : m.end() + 12].replace("\n", " ")
                hits.append((chosen, f"{m.group(0)!r} in …{context}…"))
    return hits


def test_the_rules_catch_the_label_sense_and_keep_other_senses():
    # the check can fail: each rejected form is caught ...
    for text in ("按概率抽样", "用下标取出", "目标字符是 a", "输入和目标", "目标 `ys`", "目标值", "目标张量 Y"):
        assert rejected_words(text), text
    # ... and the words that mean something else are left alone
    for text in ("## 学习目标", "优化目标", "目标函数", "目标是一个类似 GPT-2 的模型", "抽一个字符", "标签 ys", "索引"):
        assert not rejected_words(text), text


def test_comments_are_read_outside_strings():
    src = 'x = "# 抽样 in a string"  # 下标 in a comment\n%timeit x\n'
    assert comments(src) == ["# 下标 in a comment"]


@pytest.mark.parametrize("path", NOTEBOOKS + PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_one_word_per_concept(path):
    bad = [
        f"{where}: use {chosen}, not {what}"
        for where, text in prose_of(path)
        for chosen, what in rejected_words(text)
    ]
    assert not bad, "rejected synonyms (see tests/test_terms.py for the rule):\n" + "\n".join(bad)


def _glossary_entries() -> dict[str, str]:
    text = GLOSSARY.read_text(encoding="utf-8")
    body = re.search(r"^```\{glossary\}\n(.*?)^```", text, re.M | re.S)
    assert body, "book/glossary.md has no ```{glossary} block"
    entries = re.findall(r"^(\S[^\n]*)\n((?:  [^\n]*\n)+)", body.group(1), re.M)
    return {term.strip(): definition for term, definition in entries}


def test_the_glossary_defines_every_chosen_term_with_its_english():
    entries = _glossary_entries()
    missing = [term for term in CHOSEN if term not in entries]
    assert not missing, f"book/glossary.md lacks entries for {missing}"
    no_english = [f"{t} ({english})" for t, english in CHOSEN.items() if english.lower() not in entries[t].lower()]
    assert not no_english, f"these glossary entries do not give the English (or Chinese) name: {no_english}"
    assert set(REJECTED) <= set(CHOSEN)
