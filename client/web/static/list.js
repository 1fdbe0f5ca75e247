// The review page's list: the pairs of one dataset (and, behind a toggle, what the
// run rejected), filters, sort, paging and the cursor. review.js adds the decisions,
// the keys and the charts. Pair text only reaches the page as text nodes.
"use strict";
(function () {
  const PAGE_SIZE = 100;
  const TOKEN = document.querySelector('meta[name="review-token"]').content;
  const $ = (id) => document.getElementById(id);

  const state = {
    data: null,
    items: [], // every pair, then every run-rejected item
    view: [], // indexes into items, filtered and sorted
    page: 0,
    cursor: 0, // position in view
    decisions: new Map(), // pair id -> {decision, gyaru}
    undo: [],
    editing: null,
    tab: "pairs",
    afterRender: null,
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

  function load(data) {
    state.data = data;
    const pairs = data.pairs.map((p, i) => ({ ...p, kind: "pair", n: i + 1 }));
    const rejected = data.rejected.map((r, i) => ({ ...r, kind: "run-rejected", n: i + 1 }));
    state.items = pairs.concat(rejected);
    for (const item of state.items) {
      item.search = item.standard + "\n" + item.gyaru;
      item.judgeMean = window.ReviewCharts.judgeMean(item.judge);
    }
    state.decisions = new Map(Object.entries(data.decisions));
    $("dataset-name").textContent = data.dataset.name;
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
    if (item.kind !== "pair") return "";
    const d = state.decisions.get(item.id);
    return d ? d.decision : "";
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
      if (!f.rejected || (f.decision && f.decision !== "rejected")) return false;
      if (f.reason && item.reason !== f.reason) return false;
    } else {
      if (f.reason) return false;
      const d = decisionOf(item);
      if (f.decision === "undecided" ? d !== "" : f.decision && d !== f.decision) return false;
    }
    if (f.topic && (item.topic || "?") !== f.topic) return false;
    if (f.min !== null && !(item.quality >= f.min)) return false;
    if (f.max !== null && !(item.quality <= f.max)) return false;
    return !f.text || item.search.includes(f.text);
  }

  const SORTS = {
    order: null,
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
    const compare = SORTS[f.sort];
    if (compare) view.sort((x, y) => compare(state.items[x], state.items[y]) || x - y);
    state.view = view;
    state.page = 0;
    state.cursor = 0;
    render();
  }

  // ---- rendering ---------------------------------------------------------

  function lineCell(segments, mark, className) {
    const cell = el("div", className);
    for (const s of segments) cell.append(s.same ? document.createTextNode(s.text) : el(mark, "", s.text));
    return cell;
  }

  function metaCell(item) {
    const meta = el("div", "meta", el("span", "n", item.kind === "pair" ? `#${item.n}` : `rejected #${item.n}`));
    meta.append(el("span", "topic", item.topic || "?"));
    if (typeof item.quality === "number") meta.append(el("span", "score", `score ${item.quality.toFixed(2)}`));
    if (item.kind === "run-rejected") {
      meta.append(el("span", "reason", item.reason));
      if (item.detail) meta.append(el("span", "detail", item.detail));
    }
    const decision = decisionOf(item);
    if (decision) meta.append(el("span", `badge ${decision}`, decision));
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

  function row(item, position) {
    const d = item.kind === "pair" ? state.decisions.get(item.id) : null;
    const gyaru = d && d.decision === "edited" ? d.gyaru : item.gyaru;
    const diff = window.ReviewDiff.chars(item.standard, gyaru);
    const node = el("article", `pair ${item.kind}`);
    node.setAttribute("role", "listitem");
    node.dataset.pairId = item.id;
    node.dataset.decision = decisionOf(item);
    node.dataset.kind = item.kind;
    node.dataset.position = String(position);
    const persona = lineCell(diff.b, "ins", "line persona");
    if (d && d.decision === "edited") persona.append(el("div", "was", "was: ", item.gyaru));
    node.append(metaCell(item), lineCell(diff.a, "del", "line standard"), persona);
    node.addEventListener("click", () => {
      if (!state.editing) moveTo(position);
    });
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
    if (state.afterRender) state.afterRender();
  }

  function renderCounts() {
    const counts = { accepted: 0, rejected: 0, edited: 0 };
    for (const d of state.decisions.values()) counts[d.decision]++;
    const total = state.data.pairs.length;
    const reviewed = counts.accepted + counts.rejected + counts.edited;
    $("counts").textContent =
      `${total.toLocaleString()} pairs · ${reviewed.toLocaleString()} reviewed ` +
      `(${counts.accepted} accepted, ${counts.rejected} rejected, ${counts.edited} edited) · ` +
      `${(total - reviewed).toLocaleString()} to go`;
  }

  function currentNode() {
    return document.querySelector(`#list [data-position="${state.cursor}"]`);
  }

  function highlight(scroll) {
    for (const node of document.querySelectorAll("#list .current")) node.classList.remove("current");
    const node = currentNode();
    if (!node) return;
    node.classList.add("current");
    if (scroll) node.scrollIntoView({ block: "nearest" });
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
  }

  function refreshRow(position) {
    const node = document.querySelector(`#list [data-position="${position}"]`);
    if (node) node.replaceWith(row(state.items[state.view[position]], position));
    renderCounts();
    highlight(false);
  }

  window.ReviewList = {
    PAGE_SIZE, $, state, el, status, api, load, decisionOf, applyFilters, render, renderCounts,
    currentNode, moveTo, refreshRow,
  };
})();
