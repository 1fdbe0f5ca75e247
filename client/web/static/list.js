// The review page's list: the pairs of one dataset (and, behind a toggle, what the
// run rejected), filters, sort, paging, the cursor and each row's buttons. The word
// diff of a row comes from the server (/api/words, the project's analyser) for the
// rows a page shows. review.js adds the decisions, the keys and the charts. Pair text
// only reaches the page as text nodes.
"use strict";
(function () {
  const PAGE_SIZE = 100;
  const TOKEN = document.querySelector('meta[name="review-token"]').content;
  const $ = (id) => document.getElementById(id);
  const MARK_TITLES = {
    voice: "the persona's voice: first person, ending, slang",
    content: "a word that changed",
  };

  const state = {
    data: null,
    items: [], // every pair, then every run-rejected item
    byId: new Map(), // id -> item
    view: [], // indexes into items, filtered and sorted
    page: 0,
    cursor: 0, // position in view
    decisions: new Map(), // item id -> {decision, gyaru}
    words: new Map(), // item id -> {standard, gyaru, line}: the diff of the line shown
    undo: [],
    editing: null,
    tab: "pairs",
    afterRender: null,
    onRowAction: null, // review.js: (action, item) for a click on a row's button
  };

  function el(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function status(text, isError) {
    const line = $("status");
    line.textContent = text;
    line.classList.toggle("error", Boolean(isError));
  }

  async function api(path, body) {
    const init = { headers: { "X-Review-Token": TOKEN }, cache: "no-store" };
    if (body !== undefined) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
    return response.json();
  }

  // ---- data -------------------------------------------------------------

  // How far the judge's lowest grade is above its minimum (negative: below it);
  // null when the judge did not grade the item.
  function judgeMargin(judge, limits) {
    if (!judge || typeof judge !== "object") return null;
    let margin = null;
    for (const [name, minimum] of limits) {
      const value = judge[name];
      if (name === "topic_ok") {
        if (minimum === true && value === false) margin = Math.min(margin ?? -1, -1);
      } else if (typeof value === "number") {
        margin = margin === null ? value - minimum : Math.min(margin, value - minimum);
      }
    }
    return margin;
  }

  function load(data) {
    state.data = data;
    const pairs = data.pairs.map((p, i) => ({ ...p, kind: "pair", n: i + 1 }));
    const rejected = data.rejected.map((r, i) => ({ ...r, kind: "run-rejected", n: i + 1 }));
    state.items = pairs.concat(rejected);
    const limits = Object.entries(data.dataset.thresholds || {});
    for (const item of state.items) {
      item.search = item.standard + "\n" + item.gyaru;
      item.judgeMean = window.ReviewCharts.judgeMean(item.judge);
      item.judgeMargin = judgeMargin(item.judge, limits);
      state.byId.set(item.id, item);
    }
    state.decisions = new Map(Object.entries(data.decisions));
    $("dataset-name").textContent = data.dataset.name;
    $("head-persona").textContent = data.dataset.persona || "persona";
    $("rejected-count").textContent = `(${data.rejected.length.toLocaleString()})`;
    fillSelect($("f-topic"), new Set(state.items.map((i) => i.topic || "?")));
    fillSelect($("f-reason"), new Set(data.rejected.map((r) => r.reason)));
  }

  function fillSelect(select, values) {
    for (const value of [...values].sort()) {
      const option = el("option", "", value);
      option.value = value;
      select.append(option);
    }
  }

  function decisionOf(item) {
    const d = state.decisions.get(item.id);
    return d ? d.decision : "";
  }

  function decidable(item) {
    return item.kind === "pair" || item.rescuable === true;
  }

  // ---- filters and sort ------------------------------------------------

  function readFilters() {
    const number = (id) => ($(id).value === "" ? null : Number($(id).value));
    return {
      topic: $("f-topic").value,
      decision: $("f-decision").value,
      reason: $("f-reason").value,
      min: number("f-min"),
      max: number("f-max"),
      text: $("f-text").value.trim(),
      sort: $("f-sort").value,
      rejected: $("f-rejected").checked || $("f-reason").value !== "",
    };
  }

  function matches(item, f) {
    if (item.kind === "run-rejected") {
      if (!f.rejected) return false;
      if (f.reason && item.reason !== f.reason) return false;
    } else if (f.reason) return false;
    const d = decisionOf(item);
    if (f.decision === "undecided" ? d !== "" : f.decision && d !== f.decision) return false;
    if (f.topic && (item.topic || "?") !== f.topic) return false;
    if (f.min !== null && !(item.quality >= f.min)) return false;
    if (f.max !== null && !(item.quality <= f.max)) return false;
    return !f.text || item.search.includes(f.text);
  }

  // What the checks, the judge and the person said of an item: true (good), false
  // (bad) or null (nothing). An edit says the line as written was not good.
  function votes(item) {
    const checks = item.kind === "pair" ? true : item.checks ?? null;
    const judge = item.reason === "judge" ? false : item.judgeMargin === null ? null : item.judgeMargin >= 0;
    const d = decisionOf(item);
    return [checks, judge, d === "" ? null : d === "accepted"];
  }

  function disagreement(item) {
    const said = votes(item);
    return said.includes(true) && said.includes(false) ? 0 : 1;
  }

  const SORTS = {
    order: null,
    // Where the checks, the judge and the person disagree, then the lowest judge
    // grades (closest to, or under, the judge's minimum): the labels calibration needs.
    disagree: (a, b) => a.disagree - b.disagree || (a.judgeMargin ?? 99) - (b.judgeMargin ?? 99),
    "quality-asc": (a, b) => (a.quality ?? 2) - (b.quality ?? 2),
    "quality-desc": (a, b) => (b.quality ?? -1) - (a.quality ?? -1),
    "judge-asc": (a, b) => (a.judgeMean ?? 99) - (b.judgeMean ?? 99),
    "length-desc": (a, b) => b.gyaru.length - a.gyaru.length,
    topic: (a, b) => ((a.topic || "") < (b.topic || "") ? -1 : (a.topic || "") > (b.topic || "") ? 1 : 0),
  };

  function applyFilters() {
    const f = readFilters();
    const view = [];
    state.items.forEach((item, index) => {
      if (matches(item, f)) view.push(index);
    });
    if (f.sort === "disagree") for (const index of view) state.items[index].disagree = disagreement(state.items[index]);
    const compare = SORTS[f.sort];
    if (compare) view.sort((x, y) => compare(state.items[x], state.items[y]) || x - y);
    state.view = view;
    state.page = 0;
    state.cursor = 0;
    render();
  }

  // ---- rendering ---------------------------------------------------------

  function shownLine(item) {
    const d = state.decisions.get(item.id);
    return d && d.decision === "edited" ? d.gyaru : item.gyaru;
  }

  // The line as runs of [text, mark]: same words as text, the others marked.
  function segments(runs, tag) {
    return runs.map(([text, mark]) => {
      if (mark === "same") return document.createTextNode(text);
      const node = el(tag, mark, text);
      node.title = MARK_TITLES[mark] || mark;
      return node;
    });
  }

  // Both lines of a row: with the word diff when it is here for the line shown,
  // as plain text until it is.
  function fillLines(node, item) {
    const shown = shownLine(item);
    const words = state.words.get(item.id);
    const ready = Boolean(words && words.line === shown);
    const standard = node.querySelector(".standard");
    const persona = node.querySelector(".persona");
    standard.replaceChildren(...(ready ? segments(words.standard, "del") : [item.standard]));
    persona.replaceChildren(...(ready ? segments(words.gyaru, "ins") : [shown]));
    if (shown !== item.gyaru) persona.append(el("div", "was", "was: ", item.gyaru));
    node.dataset.words = ready ? "ready" : "pending";
    return ready;
  }

  function badge(item) {
    const decision = decisionOf(item);
    if (!decision) return null;
    if (item.kind === "pair" || decision === "rejected") return el("span", `badge ${decision}`, decision);
    return el("span", `badge ${decision}`, decision === "edited" ? "rescued, edited" : "rescued");
  }

  function metaCell(item) {
    const meta = el("div", "meta", el("span", "n", item.kind === "pair" ? `#${item.n}` : `rejected #${item.n}`));
    meta.append(el("span", "topic", item.topic || "?"));
    if (typeof item.quality === "number") meta.append(el("span", "score", `score ${item.quality.toFixed(2)}`));
    if (item.kind === "run-rejected") {
      meta.append(el("span", "reason", item.reason));
      if (item.detail) meta.append(el("span", "detail", item.detail));
    }
    const decided = badge(item);
    if (decided) meta.append(decided);
    if (item.judge && typeof item.judge === "object") meta.append(judgeCell(item.judge));
    return meta;
  }

  // Whatever grades the judge gave, as "name value" in one line, then its reason.
  function judgeCell(judge) {
    const grades = [];
    for (const [key, value] of Object.entries(judge)) {
      if (key === "reason") continue;
      if (typeof value === "boolean") grades.push(`${key} ${value ? "✓" : "✗"}`);
      else if (typeof value === "number" || typeof value === "string") grades.push(`${key} ${value}`);
    }
    const box = el("div", "judge", el("span", "grade", "judge: " + grades.join(" · ")));
    if (typeof judge.reason === "string" && judge.reason) box.append(el("q", "", judge.reason));
    return box;
  }

  const BUTTON_TITLES = {
    accept: "accept this pair (a)",
    reject: "reject this pair (r)",
    edit: "edit the persona line (e)",
    undo: "undo the decision on this pair",
  };
  const RESCUE_TITLES = {
    accept: "accept: the run was wrong; the pair goes into export and stats (a)",
    reject: "reject: the run was right (r)",
    edit: "edit the persona line and accept it (e)",
    undo: "undo the decision on this item",
  };

  // A real button whose accessible name is the action; the key is shown beside it.
  function actionButton(action, key, item) {
    const button = el("button", `act ${action}`, action);
    button.type = "button";
    button.dataset.action = action;
    button.title = (item.kind === "pair" ? BUTTON_TITLES : RESCUE_TITLES)[action];
    if (key) {
      const hint = el("kbd", "", key);
      hint.setAttribute("aria-hidden", "true");
      button.append(hint);
      button.setAttribute("aria-keyshortcuts", key);
    }
    return button;
  }

  function actionsCell(item) {
    const box = el("div", "actions");
    if (!decidable(item)) {
      box.append(el("span", "note", "no pair to decide on"));
      return box;
    }
    box.append(actionButton("accept", "a", item), actionButton("reject", "r", item), actionButton("edit", "e", item));
    if (decisionOf(item)) box.append(actionButton("undo", "", item));
    return box;
  }

  function row(item, position) {
    const node = el("article", `pair ${item.kind}`);
    node.setAttribute("role", "listitem");
    node.tabIndex = -1;
    node.dataset.pairId = item.id;
    node.dataset.decision = decisionOf(item);
    node.dataset.kind = item.kind;
    node.dataset.position = String(position);
    if (item.kind === "run-rejected") node.dataset.reason = item.reason;
    node.append(metaCell(item), el("div", "line standard"), el("div", "line persona"), actionsCell(item));
    fillLines(node, item);
    return node;
  }

  function render() {
    const pages = Math.max(1, Math.ceil(state.view.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    const start = state.page * PAGE_SIZE;
    const slice = state.view.slice(start, start + PAGE_SIZE);
    $("list").replaceChildren(...slice.map((index, i) => row(state.items[index], start + i)));
    const shown = state.view.length ? `${(start + 1).toLocaleString()}–${(start + slice.length).toLocaleString()}` : "0";
    $("page-info").textContent = `${shown} of ${state.view.length.toLocaleString()} shown · page ${state.page + 1} of ${pages}`;
    $("prev-page").disabled = state.page === 0;
    $("next-page").disabled = state.page >= pages - 1;
    renderCounts();
    highlight(false);
    loadWords();
    if (state.afterRender) state.afterRender();
  }

  // ---- the word diff -----------------------------------------------------

  function pageIds(page) {
    const start = page * PAGE_SIZE;
    return state.view.slice(start, start + PAGE_SIZE).map((index) => state.items[index]);
  }

  function missingWords(items) {
    return items.filter((item) => {
      const words = state.words.get(item.id);
      return !words || words.line !== shownLine(item);
    });
  }

  async function fetchWords(items) {
    const found = await api("/api/words", { ids: items.map((item) => item.id) });
    for (const [id, words] of Object.entries(found)) state.words.set(id, words);
  }

  // The diff of the rows on screen, then (quietly) of the next page's.
  async function loadWords() {
    const list = $("list");
    const missing = missingWords(pageIds(state.page));
    list.dataset.words = missing.length ? "pending" : "ready";
    try {
      if (missing.length) {
        await fetchWords(missing);
        for (const node of list.querySelectorAll('.pair[data-words="pending"]')) {
          const item = state.byId.get(node.dataset.pairId);
          if (item) fillLines(node, item);
        }
        list.dataset.words = list.querySelector('.pair[data-words="pending"]') ? "pending" : "ready";
      }
      const next = missingWords(pageIds(state.page + 1));
      if (next.length) await fetchWords(next);
    } catch (error) {
      if (list.dataset.words === "pending") list.dataset.words = "failed";
      status(`cannot load the word diff: ${error.message}`, true);
    }
  }

  function renderCounts() {
    const counts = { accepted: 0, rejected: 0, edited: 0 };
    let rescued = 0;
    for (const [id, d] of state.decisions) {
      const item = state.byId.get(id);
      if (item && item.kind === "pair") counts[d.decision]++;
      else if (item && d.decision !== "rejected") rescued++;
    }
    const total = state.data.pairs.length;
    const reviewed = counts.accepted + counts.rejected + counts.edited;
    $("counts").textContent =
      `${total.toLocaleString()} pairs · ${reviewed.toLocaleString()} reviewed ` +
      `(${counts.accepted} accepted, ${counts.rejected} rejected, ${counts.edited} edited) · ` +
      `${(total - reviewed).toLocaleString()} to go` +
      (rescued ? ` · ${rescued} rescued from the run's rejections` : "");
  }

  // ---- the cursor --------------------------------------------------------

  function currentNode() {
    return document.querySelector(`#list [data-position="${state.cursor}"]`);
  }

  // The current row is the one Tab reaches (a roving tabindex).
  function highlight(scroll) {
    for (const node of document.querySelectorAll("#list .current")) {
      node.classList.remove("current");
      node.tabIndex = -1;
    }
    const node = currentNode();
    if (!node) return;
    node.classList.add("current");
    node.tabIndex = 0;
    if (scroll) node.scrollIntoView({ block: "nearest" });
  }

  function typing() {
    const active = document.activeElement;
    return Boolean(active && active.matches && active.matches("textarea, input:not([type=checkbox]):not([type=radio])"));
  }

  // Focus on the current row (or the list when it is empty), so the keys act on it.
  function focusList() {
    (currentNode() || $("list")).focus({ preventScroll: true });
  }

  function moveTo(position) {
    if (!state.view.length) return;
    state.cursor = Math.max(0, Math.min(state.view.length - 1, position));
    const page = Math.floor(state.cursor / PAGE_SIZE);
    if (page !== state.page) {
      state.page = page;
      render();
    }
    highlight(true);
    if (!typing() && !state.editing) focusList();
  }

  function refreshRow(position) {
    const node = document.querySelector(`#list [data-position="${position}"]`);
    if (node) {
      const focused = node.contains(document.activeElement);
      const fresh = row(state.items[state.view[position]], position);
      node.replaceWith(fresh);
      if (focused) fresh.focus({ preventScroll: true });
      if (fresh.dataset.words === "pending") loadWords();
    }
    renderCounts();
    highlight(false);
  }

  function onListClick(event) {
    const node = event.target.closest(".pair");
    if (!node) return;
    const button = event.target.closest("button[data-action]");
    if (state.editing && !button) return;
    const position = Number(node.dataset.position);
    if (!state.editing) moveTo(position);
    const item = state.items[state.view[position]];
    if (button && item && state.onRowAction) state.onRowAction(button.dataset.action, item, position);
  }

  // Focus that lands in a row (Tab, a click on a button) makes it the current one.
  function onListFocus(event) {
    const node = event.target.closest && event.target.closest(".pair");
    if (!node || state.editing) return;
    const position = Number(node.dataset.position);
    if (position !== state.cursor) {
      state.cursor = position;
      highlight(false);
    }
  }

  window.ReviewList = {
    PAGE_SIZE, $, state, el, status, api, load, decisionOf, decidable, applyFilters, render, renderCounts,
    currentNode, moveTo, refreshRow, focusList, typing, onListClick, onListFocus, shownLine,
  };
})();
