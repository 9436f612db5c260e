/*
 * 中文搜索：让不带空格的中文查询（如“负对数似然”“神经网络训练”）也能找到页面。
 *
 * Sphinx 7.4 的 searchtools.js 只按空白和标点切分查询，整串中文会被当成一个词，
 * 而索引里的词是构建时 jieba 切出来的，于是什么也找不到。这里做两件事：
 *
 * 1. 替换全局的 splitQuery：对每一段汉字，用浏览器的 Intl.Segmenter（zh，按词）切分，
 *    再补上索引里出现过、并且是这段文字子串的词（jieba 与浏览器的切法可能不同），
 *    然后先长后短挑出互不重叠的词（“负对数似然”在索引里时不再单独搜“对数”）。
 * 2. 替换 Search.performTermsSearch 的打分：不再要求页面包含全部查询词（读者输入的短语里常有
 *    页面没有的词，如“似然函数计算”），而是按页面含有几个查询词、这些词出现在哪里（页面标题、
 *    小节标题、正文；术语表里的词算在讲它的那一章的标题里）以及词的区分度打分排序，见下面的 WHERE。
 * 3. 排序的三处微调（Scorer.score）：术语表的词条（Sphinx 把它们当索引条目，给 100 分）排在
 *    标题里讲这个词的章节之后、只顺带提到它的页面之前；首页和术语表页面同分时让位给章节；
 *    其余同分的页面按书中的顺序排。
 *
 * 本文件在 searchtools.js 之前加载（html_js_files），所以 searchtools.js 会沿用这里的 splitQuery；
 * Search 对象在 DOMContentLoaded 时、Search.init 运行之前打补丁。
 */
"use strict";

(() => {
  const HAN = /\p{Script=Han}/u;
  const SEP = /[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu; // 与 Sphinx 默认的 splitQuery 相同
  const segmenter =
    typeof Intl !== "undefined" && Intl.Segmenter
      ? new Intl.Segmenter("zh", { granularity: "word" })
      : null;

  const index = () => (typeof Search !== "undefined" ? Search._index : null);
  const known = (ix, word) =>
    Object.prototype.hasOwnProperty.call(ix.terms, word) ||
    Object.prototype.hasOwnProperty.call(ix.titleterms, word);

  /** 把一段连续的汉字切成索引认识的词。 */
  const splitHan = (run) => {
    const ix = index();
    const cands = []; // [词, 起点]
    if (segmenter) {
      for (const s of segmenter.segment(run)) {
        if (s.isWordLike && s.segment.length > 1 && (!ix || known(ix, s.segment))) cands.push([s.segment, s.index]);
      }
    }
    if (ix) {
      // 索引里所有是这段文字子串的词（至少两个字；索引本来就不收单字）
      for (let i = 0; i < run.length; i++) {
        for (let j = i + 2; j <= run.length; j++) {
          const w = run.slice(i, j);
          if (known(ix, w)) cands.push([w, i]);
        }
      }
    }
    // 先长后短、先左后右地挑互不重叠的词：“负对数似然”在索引里时不再单独搜“对数”，
    // “函数计算”切成“函数”“计算”，不会多出跨词的“数计”
    cands.sort((a, b) => b[0].length - a[0].length || a[1] - b[1]);
    const used = new Array(run.length).fill(false);
    const picked = [];
    for (const [w, i] of cands) {
      if (used.slice(i, i + w.length).some(Boolean)) continue;
      for (let k = i; k < i + w.length; k++) used[k] = true;
      picked.push([w, i]);
    }
    picked.sort((a, b) => a[1] - b[1]);
    const words = [...new Set(picked.map(([w]) => w))];
    return words.length ? words : [run]; // 什么都没认出来：交给 Sphinx 的部分匹配
  };

  const zhSplitQuery = (query) => {
    const out = [];
    for (const token of query.split(SEP)) {
      if (!token) continue;
      if (!HAN.test(token)) {
        out.push(token);
        continue;
      }
      // 汉字与拉丁字母混写（如“one-hot编码”）：分成若干段分别处理
      for (const part of token.match(/\p{Script=Han}+|[^\p{Script=Han}]+/gu)) {
        if (HAN.test(part)) out.push(...splitHan(part));
        else out.push(part);
      }
    }
    return out;
  };

  /**
   * 全文词搜索：按查询里的词在页面中出现的“多少”和“位置”给页面打分，不要求每个词都出现。
   *
   * 每个词在一页里取它最好的位置：页面标题 WHERE.title，小节标题 WHERE.heading，正文 WHERE.body
   * （只是索引词的一部分时用 partial 的分数）；再乘以这个词的区分度 log(1 + 页面总数 / 含这个词的页面数)，
   * 几乎每页都有的词（“计算”“表示”）分量轻，讲某个主题的词分量重。一页的得分是各个词的得分之和：
   * 含的词越多、词的位置越显要，排得越前。
   */
  const WHERE = { title: 30, heading: 15, body: 5, partialHeading: 7, partialBody: 2 };
  // 术语 -> 讲它的章节；由 book/_ext/search_terms.py 在构建时从术语表生成（_static/zh_search_terms.js）
  const TEACHES = () => window.ZH_SEARCH_TEACHES || {};

  const performTermsSearch = (searchTerms, excludedTerms) => {
    const ix = Search._index;
    const { terms, titleterms, filenames, docnames, titles } = ix;
    const escape = (s) => s.replace(/[.*+\-?^${}()|[\]\\]/g, "\\$&");
    const filesOf = (entry) => (entry === undefined ? [] : entry.length === undefined ? [entry] : entry);
    const has = (table, word) => Object.prototype.hasOwnProperty.call(table, word);

    const perFile = new Map(); // file -> 得分
    for (const word of new Set(searchTerms)) {
      const where = new Map(); // file -> 这个词在这一页的最好位置的分数
      const put = (files, score) => {
        for (const f of filesOf(files)) where.set(f, Math.max(where.get(f) || 0, score));
      };
      put(terms[word], WHERE.body);
      put(titleterms[word], WHERE.heading);
      // 部分匹配（与 Sphinx 相同，只在索引里没有这个词时做）。拉丁字母词至少 3 个字母；
      // 汉字不限长度：索引不收单字，查“熵”只能靠包含它的词（如“交叉熵”）
      if (word.length > (HAN.test(word) ? 0 : 2)) {
        const re = new RegExp(escape(word));
        if (!has(terms, word)) for (const t of Object.keys(terms)) if (re.test(t)) put(terms[t], WHERE.partialBody);
        if (!has(titleterms, word))
          for (const t of Object.keys(titleterms)) if (re.test(t)) put(titleterms[t], WHERE.partialHeading);
      }
      for (const f of where.keys()) if (titles[f].toLowerCase().includes(word)) where.set(f, WHERE.title);
      // 术语表里的词：讲它的那一章（术语表词条末尾链接的章节）按标题里有这个词计分
      for (const doc of TEACHES()[word] || []) {
        const f = docnames.indexOf(doc);
        if (f >= 0) where.set(f, WHERE.title);
      }
      if (!where.size) continue;
      const idf = Math.log(1 + docnames.length / where.size);
      for (const [f, s] of where) perFile.set(f, (perFile.get(f) || 0) + s * idf);
    }

    const excluded = (file) =>
      [...excludedTerms].some((t) => filesOf(terms[t]).includes(file) || filesOf(titleterms[t]).includes(file));

    const results = [];
    for (const [file, score] of perFile) {
      if (excluded(file)) continue;
      results.push([docnames[file], titles[file], "", null, Math.round(score * 10) / 10, filenames[file]]);
    }
    return results;
  };

  // searchtools.js 只在 splitQuery 未定义时才定义自己的版本
  window.splitQuery = zhSplitQuery;

  /** 首页的 docname（书名链接指向它），例如 "book/intro"。 */
  const rootDoc = () => {
    const a = document.querySelector("a.navbar-brand");
    if (!a) return null;
    const base = new URL(document.documentElement.dataset.content_root || "./", location.href).href;
    const href = new URL(a.getAttribute("href"), location.href).href;
    return href.startsWith(base) ? href.slice(base.length).replace(/\.html(#.*)?$/, "") : null;
  };

  // 汇总页：首页的章节地图和术语表提到几乎所有主题；同分时让位给讲这个主题的章节
  const HUB_PAGES = ["book/glossary"];

  const score = (result) => {
    const [docname, , anchor, , s] = result;
    if (anchor && anchor.startsWith("#term-")) return Math.min(s, Scorer.title - 1); // 术语表词条
    if (docname === rootDoc() || HUB_PAGES.includes(docname)) return s - 1;
    // 同分时按书中的顺序（先讲它的那一章在前）。Sphinx 同分时按标题的字母序排，“第14章”会排在“第7章”前面。
    // 得分保留一位小数，这里的微调（最多几千分之一）不会越过两个不同的得分。
    const docnames = Search._index ? Search._index.docnames : [];
    const rank = docnames.indexOf(docname);
    return rank >= 0 ? s - rank * 1e-4 : s;
  };

  const patch = () => {
    if (typeof Search === "undefined" || Search.zhPatched) return;
    Search.performTermsSearch = performTermsSearch;
    Scorer.score = score;
    Search.zhPatched = true;
  };
  patch();
  document.addEventListener("DOMContentLoaded", patch);
})();
