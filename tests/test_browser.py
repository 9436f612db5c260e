"""The built site in a real browser: Debian's headless Chromium driven by Playwright.

Needs /usr/bin/chromium (apt: chromium fonts-wqy-microhei), MathJax 3 from npm (``npm install --no-save
--no-package-lock mathjax@3`` in the repo root, or $MATHJAX_DIR pointing at the package) and a built
site in _build/html. Nothing is fetched from the internet: the site is served on 127.0.0.1, the MathJax
CDN URL the pages use is answered from the local npm copy, every other request is aborted and reported.

Under CI (the CI environment variable is set; .ci/run installs both) a missing Chromium or MathJax is a
failure; on a reader's machine without them the tests skip and say what to install. MM_SKIP_BROWSER=1
skips them explicitly. Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import functools
import http.server
import mimetypes
import os
import re
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from sitelib import HTML, NOT_BUILT, ROOT, built, chapter_docs, toc_notebooks

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("MM_SKIP_BROWSER") == "1", reason="MM_SKIP_BROWSER=1"),
    pytest.mark.skipif(not built(), reason=NOT_BUILT),
]

CHROMIUM = os.environ.get("MM_CHROMIUM", "/usr/bin/chromium")


def _missing(msg: str):
    """A missing tool fails the run in CI and skips (with the fix) elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


MATHJAX_DIR = Path(os.environ.get("MATHJAX_DIR", ROOT / "node_modules" / "mathjax"))
ARTIFACTS = ROOT / "test-artifacts"
COLAB = "https://colab.research.google.com/github/"
# A Jupyter Book 1 bug (sphinx-thebe's config <script> is emitted twice); harmless, allowed by exact text.
KNOWN_PAGE_ERRORS = {"Identifier 'THEBE_JS_URL' has already been declared"}

# Spaceless Chinese queries a reader might type, and the chapter that must come FIRST.
# Only chapters listed in _toc.yml are checked; together they cover all eight chapters.
SEARCHES = [
    ("读取名字数据集", "notebooks/01_data_loading"),
    ("用字典统计二元组", "notebooks/02_bigram_dict"),
    ("计数矩阵热力图", "notebooks/03_count_tensor"),
    ("从概率分布采样名字", "notebooks/04_sampling"),
    ("广播规则的陷阱", "notebooks/05_broadcasting"),
    ("负对数似然", "notebooks/06_likelihood_nll"),
    ("神经网络训练", "notebooks/07_one_hot_net"),
    ("正则化与平滑", "notebooks/08_regularization_parity"),
    ("多层感知机语言模型", "notebooks/09_mlp"),
    ("批归一化", "notebooks/10_batchnorm"),
    ("手写反向传播", "notebooks/11_backprop_by_hand"),
    ("层级模型两两融合", "notebooks/12_wavenet"),
    ("整名序列", "notebooks/13_sequences_adamw"),
    ("循环神经网络", "notebooks/14_rnn"),
    ("门控循环单元", "notebooks/15_gru"),
    ("自注意力", "notebooks/16_self_attention"),
    ("字符级 GPT", "notebooks/17_transformer"),
    ("七言绝句", "notebooks/18_tang_poems"),
]


# Natural phrases (issue 24): a reader's question rather than a chapter title, often with words the chapter
# lacks (似然函数计算: no 函数 in the sense asked) or words every page has (计算, 表示). The chapter that
# teaches the phrase's main term must be among the first three results; every chapter has one phrase.
PHRASES = [
    ("如何读入名字文件", "notebooks/01_data_loading"),
    ("统计相邻字符对出现的次数", "notebooks/02_bigram_dict"),
    ("二元组计数矩阵的可视化", "notebooks/03_count_tensor"),
    ("按概率随机生成新名字", "notebooks/04_sampling"),
    ("按行归一化概率矩阵", "notebooks/05_broadcasting"),
    ("似然函数计算", "notebooks/06_likelihood_nll"),
    ("用梯度下降训练单层网络", "notebooks/07_one_hot_net"),
    ("正则化强度相当于平滑", "notebooks/08_regularization_parity"),
    ("嵌入向量表示", "notebooks/09_mlp"),
    ("初始化导致激活值饱和", "notebooks/10_batchnorm"),
    ("手动推导交叉熵的梯度", "notebooks/11_backprop_by_hand"),
    ("逐层合并更长的上下文", "notebooks/12_wavenet"),
    ("用填充和掩码训练整个名字", "notebooks/13_sequences_adamw"),
    ("梯度沿时间传回去时越来越小", "notebooks/14_rnn"),
    ("怎样让梯度沿时间传得更远", "notebooks/15_gru"),
    ("每个字符该关注前面哪些字符", "notebooks/16_self_attention"),
    ("生成名字时调低温度会怎样", "notebooks/17_transformer"),
    ("让模型写唐诗并检查押韵和平仄", "notebooks/18_tang_poems"),
]


def _mathjax_prefix() -> str | None:
    """The CDN URL prefix (…/mathjax@3/) of the MathJax <script> in the built pages, if any page has math."""
    for page in sorted(HTML.rglob("*.html")):
        m = re.search(r'<script[^>]+src="(https://[^"]*?/mathjax@3/)es5/[^"]+"', page.read_text(encoding="utf-8"))
        if m:
            return m.group(1)
    return None


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    handler = functools.partial(_Quiet, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} not found: apt-get install -y chromium fonts-wqy-microhei (or MM_SKIP_BROWSER=1)")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = pw.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run"],
    )
    yield b
    b.close()
    pw.stop()


@pytest.fixture(scope="module")
def page(browser, site):
    """One tab for the whole module; records page errors and blocked (non-local) requests."""
    prefix = _mathjax_prefix()
    if prefix and not (MATHJAX_DIR / "es5" / "tex-mml-chtml.js").exists():
        _missing(f"MathJax 3 not found in {MATHJAX_DIR}: run `npm install --no-save --no-package-lock mathjax@3` "
                    "in the repo root or set MATHJAX_DIR")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    p = ctx.new_page()
    p.errors, p.blocked = [], []
    p.on("pageerror", lambda e: p.errors.append(str(e).splitlines()[0]))

    def route(r):
        url = r.request.url
        if url.startswith(site + "/"):
            return r.continue_()
        if prefix and url.startswith(prefix):
            local = MATHJAX_DIR / url[len(prefix):].split("?")[0]
            if local.is_file():
                ctype = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
                return r.fulfill(status=200, body=local.read_bytes(), headers={"Content-Type": ctype})
        p.blocked.append(url)
        return r.abort()

    p.route("**/*", route)
    yield p
    ctx.close()


def _open(page, site, doc):
    page.errors.clear()
    page.blocked.clear()
    page.goto(f"{site}/{doc}.html", wait_until="load", timeout=20_000)


@pytest.mark.parametrize("doc", toc_notebooks())
def test_chapter_page_renders(page, site, doc):
    _open(page, site, doc)
    if page.locator(".math").count():
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=15_000)
        page.evaluate("MathJax.startup.promise")
        n_math = page.locator(".math").count()
        n_mjx = page.locator("mjx-container").count()
        assert n_mjx >= n_math, f"{doc}: {n_math} formulas but only {n_mjx} rendered by MathJax"
        assert page.locator("mjx-merror").count() == 0, f"{doc}: MathJax error in a formula"
    broken = page.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert not broken, f"{doc}: images that did not load: {broken}"
    assert page.locator(f'a[href^="{COLAB}"]').count() >= 1, f"{doc}: no Colab launch link"
    errors = [e for e in page.errors if e not in KNOWN_PAGE_ERRORS]
    assert not errors, f"{doc}: JavaScript errors: {errors}"
    assert not page.blocked, f"{doc}: requests to the internet: {page.blocked}"


def _search(page, site, query):
    page.goto(f"{site}/search.html?q={quote(query)}", wait_until="load", timeout=20_000)
    # _finishSearch() writes the summary after the last result is listed
    page.wait_for_function(
        "(() => { const s = document.querySelector('#search-results p.search-summary');"
        " return s && s.innerText.length > 0; })()",
        timeout=15_000,
    )
    hrefs = page.eval_on_selector_all("#search-results ul.search li > a", "els => els.map(a => a.getAttribute('href'))")
    return [h.split("#")[0].removesuffix(".html") for h in hrefs]


_PRESENT = [s for s in SEARCHES if s[1] in chapter_docs()]


def test_every_search_case_has_its_chapter():
    """The search cases cover every chapter; none may silently drop out of the parametrization."""
    assert [doc for _, doc in SEARCHES] == chapter_docs()


@pytest.mark.parametrize("query,doc", _PRESENT or [pytest.param(None, None, marks=pytest.mark.skip("no chapters"))])
def test_spaceless_chinese_query_finds_its_chapter_first(page, site, query, doc):
    results = _search(page, site, query)
    assert results, f"{query!r}: no results"
    assert results[0] == doc, f"{query!r}: first result is {results[0]}, expected {doc}; all: {results}"
    assert not [e for e in page.errors if e not in KNOWN_PAGE_ERRORS], page.errors


_PRESENT_PHRASES = [s for s in PHRASES if s[1] in chapter_docs()]


def test_every_chapter_has_a_phrase():
    assert [doc for _, doc in PHRASES] == chapter_docs()


@pytest.mark.parametrize("query,doc", _PRESENT_PHRASES or [pytest.param(None, None,
                                                                         marks=pytest.mark.skip("no chapters"))])
def test_natural_phrase_finds_its_chapter_in_the_first_three(page, site, query, doc):
    results = _search(page, site, query)
    first = list(dict.fromkeys(results))[:3]  # a page listed twice (page and section) counts once
    assert doc in first, f"{query!r}: {doc} is not among the first three pages {first}; all: {results}"
    assert not [e for e in page.errors if e not in KNOWN_PAGE_ERRORS], page.errors


def test_phrase_segments_do_not_overlap(page, site):
    """Segments are picked longest first and never overlap: 函数计算 gives 函数 + 计算, not also 数计."""
    _search(page, site, "似然函数计算")
    terms = page.evaluate("splitQuery('似然函数计算')")
    assert terms == ["似然", "函数", "计算"], terms
    assert page.evaluate("Object.keys(window.ZH_SEARCH_TEACHES || {}).length") > 0, "zh_search_terms.js not loaded"


def test_query_is_segmented_in_the_browser(page, site):
    _search(page, site, "负对数似然")
    terms = page.evaluate("splitQuery('负对数似然 NLL')")
    assert "负对数似然" in terms and "NLL" in terms, terms
    # a run the index does not know as a whole is cut into words it does know
    terms = page.evaluate("splitQuery('神经网络训练')")
    assert len(terms) >= 2 and "神经网络训练" not in terms, terms


def test_screenshots(page, site):
    """Two pages for a human to look at: a chapter with formulas (or the first) and Chinese search results."""
    ARTIFACTS.mkdir(exist_ok=True)
    docs = chapter_docs()
    assert docs
    with_math = [d for d in docs if 'class="math' in (HTML / f"{d}.html").read_text(encoding="utf-8")]
    doc = with_math[0] if with_math else docs[0]
    _open(page, site, doc)
    if with_math:
        page.evaluate("MathJax.startup.promise")
        page.locator("mjx-container").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "chapter.png"))
    _search(page, site, "负对数似然")
    page.screenshot(path=str(ARTIFACTS / "search.png"))
    assert (ARTIFACTS / "chapter.png").stat().st_size > 10_000
    assert (ARTIFACTS / "search.png").stat().st_size > 10_000
