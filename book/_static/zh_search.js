/*
 * 中文搜索：让不带空格的中文查询（如“负对数似然”“神经网络训练”）也能找到页面。
 *
 * Sphinx 7.4 的 searchtools.js 只按空白和标点切分查询，整串中文会被当成一个词，
 * 而索引里的词是构建时 jieba 切出来的，于是什么也找不到。这里做两件事：
 *
 * 1. 替换全局的 splitQuery：对每一段汉字，用浏览器的 Intl.Segmenter（zh，按词）切分，
 *    再补上索引里出现过、并且是这段文字子串的词（jieba 与浏览器的切法可能不同），
 *    只保留“最长”的那些（“负对数似然”在索引里时不再单独搜“对数”）。
 * 2. 替换 Search.performTermsSearch 的打分：一页的得分是各个查询词得分之和（原来取最大值），
 *    词出现在页面标题里再加分；若没有一页包含全部查询词，就返回包含最多查询词的页面，
 *    而不是什么也不返回。拉丁字母的查询与 Sphinx 原来的行为一致（同样的切分、同样要求全部命中）。
 * 3. 排序的两处微调（Scorer.score）：术语表的词条（Sphinx 把它们当索引条目，给 100 分）排在
 *    标题里讲这个词的章节之后、只顺带提到它的页面之前；首页和术语表页面同分时让位给章节。
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
    const found = new Set();
    if (segmenter) {
      for (const s of segmenter.segment(run)) {
        if (s.isWordLike && s.segment.length > 1) found.add(s.segment);
      }
    }
    if (ix) {
      for (const w of [...found]) if (!known(ix, w)) found.delete(w);
      // 索引里所有是这段文字子串的词（至少两个字；索引本来就不收单字）
      for (let i = 0; i < run.length; i++) {
        for (let j = i + 2; j <= run.length; j++) {
          const w = run.slice(i, j);
          if (known(ix, w)) found.add(w);
        }
      }
    }
    // 只保留最长的：被另一个候选词包含的词丢掉
    const words = [...found].filter(
      (w) => ![...found].some((o) => o !== w && o.includes(w))
    );
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

  /** 全文词搜索：得分相加，标题加分，缺词时退而求其次。 */
  const performTermsSearch = (searchTerms, excludedTerms) => {
    const ix = Search._index;
    const { terms, titleterms, filenames, docnames, titles } = ix;
    const perFile = new Map(); // file -> Map(word -> score)
    const escape = (s) => s.replace(/[.*+\-?^${}()|[\]\\]/g, "\\$&");

    const add = (files, word, score) => {
      if (files === undefined) return;
      for (const file of files.length === undefined ? [files] : files) {
        if (!perFile.has(file)) perFile.set(file, new Map());
        const m = perFile.get(file);
        m.set(word, Math.max(m.get(word) || 0, score));
      }
    };

    for (const word of searchTerms) {
      add(terms[word], word, Scorer.term);
      add(titleterms[word], word, Scorer.title);
      // 部分匹配（与 Sphinx 相同，只在索引里没有这个词时做）。拉丁字母词至少 3 个字母；
      // 汉字不限长度：索引不收单字，查“熵”只能靠包含它的词（如“交叉熵”）
      if (word.length > (HAN.test(word) ? 0 : 2)) {
        const re = new RegExp(escape(word));
        if (!Object.prototype.hasOwnProperty.call(terms, word))
          for (const t of Object.keys(terms)) if (re.test(t)) add(terms[t], word, Scorer.partialTerm);
        if (!Object.prototype.hasOwnProperty.call(titleterms, word))
          for (const t of Object.keys(titleterms)) if (re.test(t)) add(titleterms[t], word, Scorer.partialTitle);
      }
    }

    const excluded = (file) =>
      [...excludedTerms].some((t) =>
        [terms[t], titleterms[t]].some(
          (f) => f === file || (Array.isArray(f) && f.includes(file))
        )
      );

    let most = 0;
    for (const m of perFile.values()) most = Math.max(most, m.size);
    const results = [];
    for (const [file, m] of perFile) {
      if (m.size < most || excluded(file)) continue;
      const title = titles[file].toLowerCase();
      let score = 0;
      for (const [word, s] of m) score += s + (title.includes(word) ? Scorer.title : 0);
      results.push([docnames[file], titles[file], "", null, score, filenames[file]]);
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
    return s;
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
