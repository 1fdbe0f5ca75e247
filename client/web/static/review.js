// The review page's decisions (a, r, e, u), keys, tabs and start; the list itself
// is list.js. Every decision is saved by the server before the page shows it.
"use strict";
(function () {
  const { PAGE_SIZE, $, state, status, api, load, applyFilters, currentNode, moveTo, refreshRow } = window.ReviewList;

  // ---- decisions ---------------------------------------------------------

  function currentPair() {
    const item = state.items[state.view[state.cursor]];
    if (!item) return null;
    if (item.kind !== "pair") {
      status("items the run rejected are shown for reading; decisions are for dataset pairs", true);
      return null;
    }
    return item;
  }

  // Saves first, then shows: data-decision always says what the review file holds.
  async function decide(item, decision, gyaru, remember) {
    const before = state.decisions.get(item.id) || null;
    try {
      const saved = await api("/api/decision", { id: item.id, decision, gyaru: gyaru ?? null });
      if (saved.decision) state.decisions.set(item.id, { decision: saved.decision, gyaru: saved.gyaru });
      else state.decisions.delete(item.id);
      if (remember) state.undo.push({ item, before });
      const index = state.view.indexOf(state.items.indexOf(item));
      if (index >= 0) refreshRow(index);
      status(saved.decision ? `${saved.decision}: saved` : "decision cleared: saved");
    } catch (error) {
      status(`not saved: ${error.message}`, true);
    }
  }

  // The cursor moves on at once, so a quick reviewer's next key lands on the next pair.
  function decideAndAdvance(decision) {
    const item = currentPair();
    if (!item) return;
    moveTo(state.cursor + 1);
    decide(item, decision, null, true);
  }

  async function undo() {
    const last = state.undo.pop();
    if (!last) {
      status("nothing to undo");
      return;
    }
    const before = last.before;
    await decide(last.item, before ? before.decision : "", before ? before.gyaru : null, false);
    const index = state.view.indexOf(state.items.indexOf(last.item));
    if (index >= 0) moveTo(index);
  }

  function startEdit() {
    const item = currentPair();
    const node = currentNode();
    if (!item || !node) return;
    const d = state.decisions.get(item.id);
    const box = document.createElement("textarea");
    box.className = "editor";
    box.value = d && d.decision === "edited" ? d.gyaru : item.gyaru;
    box.setAttribute("aria-label", "persona line");
    node.querySelector(".persona").replaceChildren(box);
    state.editing = { item, box, position: state.cursor };
    box.addEventListener("keydown", onEditKey);
    box.focus();
    status("editing: Enter saves, Esc cancels");
  }

  async function onEditKey(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      stopEdit();
      status("edit cancelled");
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      const { item, box } = state.editing;
      const text = box.value.replace(/\s*\n\s*/g, " ").trim();
      if (!text) {
        status("the persona line cannot be empty (Esc cancels)", true);
        return;
      }
      stopEdit();
      if (text === item.gyaru) await decide(item, "accepted", null, true);
      else await decide(item, "edited", text, true);
    }
  }

  function stopEdit() {
    const { position } = state.editing;
    state.editing = null;
    refreshRow(position);
  }

  // ---- keys, tabs, start -------------------------------------------------

  const KEYS = {
    j: () => moveTo(state.cursor + 1),
    k: () => moveTo(state.cursor - 1),
    a: () => decideAndAdvance("accepted"),
    r: () => decideAndAdvance("rejected"),
    e: () => startEdit(),
    u: () => undo(),
    "?": () => $("help").showModal(),
    "/": () => $("f-text").focus(),
  };

  function onKey(event) {
    if (state.editing || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, select, textarea, dialog[open]")) return;
    const action = KEYS[event.key];
    if (!action || (state.tab !== "pairs" && event.key !== "?")) return;
    event.preventDefault();
    action();
  }

  function reviewedPairs() {
    const pairs = [];
    let rejected = 0;
    for (const item of state.items) {
      if (item.kind !== "pair") continue;
      const d = state.decisions.get(item.id);
      if (d && d.decision === "rejected") rejected++;
      else pairs.push(d && d.decision === "edited" ? { ...item, gyaru: d.gyaru } : item);
    }
    return { pairs, rejected };
  }

  function drawCharts() {
    const { pairs, rejected } = reviewedPairs();
    window.ReviewCharts.draw($("charts-view"), {
      pairs,
      rejected: state.data.rejected,
      reviewRejected: rejected,
      markers: state.data.dataset.markers,
    });
  }

  function showTab(tab) {
    state.tab = tab;
    $("pairs-view").hidden = tab !== "pairs";
    $("charts-view").hidden = tab !== "charts";
    $("tab-pairs").setAttribute("aria-pressed", String(tab === "pairs"));
    $("tab-charts").setAttribute("aria-pressed", String(tab === "charts"));
    if (tab === "charts") drawCharts();
  }

  function wire() {
    state.afterRender = () => {
      if (state.tab === "charts") drawCharts();
    };
    document.addEventListener("keydown", onKey);
    $("filters").addEventListener("submit", (event) => event.preventDefault());
    for (const id of ["f-topic", "f-decision", "f-reason", "f-sort", "f-rejected"]) {
      $(id).addEventListener("change", applyFilters);
    }
    for (const id of ["f-min", "f-max", "f-text"]) $(id).addEventListener("input", applyFilters);
    $("prev-page").addEventListener("click", () => moveTo((state.page - 1) * PAGE_SIZE));
    $("next-page").addEventListener("click", () => moveTo((state.page + 1) * PAGE_SIZE));
    $("tab-pairs").addEventListener("click", () => showTab("pairs"));
    $("tab-charts").addEventListener("click", () => showTab("charts"));
    $("show-help").addEventListener("click", () => $("help").showModal());
  }

  async function start() {
    wire();
    try {
      const data = await api("/api/data");
      performance.mark("review-fetched");
      load(data);
    } catch (error) {
      status(`cannot load the dataset: ${error.message}`, true);
      return;
    }
    performance.mark("review-loaded");
    applyFilters();
    performance.mark("review-rendered");
    // After the first rows are painted (a task after the next frame): what the
    // benchmark measures as first paint, and what the tests wait for.
    requestAnimationFrame(() =>
      setTimeout(() => {
        performance.mark("review-painted");
        document.body.dataset.ready = "true";
      }),
    );
  }

  start();
})();
