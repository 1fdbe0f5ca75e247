// The review page's decisions (buttons and the keys a, r, e, u), focus, tabs and
// start; the list itself is list.js. Every decision is saved by the server before
// the page shows it. After any click on a control the keys act on the list again.
"use strict";
(function () {
  const L = window.ReviewList;
  const { PAGE_SIZE, $, el, state, status, api, load, applyFilters, currentNode, moveTo, refreshRow, focusList } = L;

  // ---- decisions ---------------------------------------------------------

  function currentItem() {
    const item = state.items[state.view[state.cursor]];
    if (!item) return null;
    if (!L.decidable(item)) {
      status("this item the run rejected has no pair to decide on: it is shown for reading", true);
      return null;
    }
    return item;
  }

  function said(item, decision) {
    if (!decision) return "decision cleared: saved";
    if (item.kind === "run-rejected" && decision !== "rejected") {
      return `rescued (${decision}): saved; export and stats now include it`;
    }
    return `${decision}: saved`;
  }

  // Saves first, then shows: data-decision always says what the review file holds.
  async function decide(item, decision, gyaru, remember) {
    const before = state.decisions.get(item.id) || null;
    try {
      const saved = await api("/api/decision", { id: item.id, decision, gyaru: gyaru ?? null });
      if (saved.decision) state.decisions.set(item.id, { decision: saved.decision, gyaru: saved.gyaru });
      else state.decisions.delete(item.id);
      if (saved.words) state.words.set(item.id, saved.words);
      if (remember) state.undo.push({ item, before });
      const index = state.view.indexOf(state.items.indexOf(item));
      if (index >= 0) refreshRow(index);
      status(said(item, saved.decision));
    } catch (error) {
      status(`not saved: ${error.message}`, true);
    }
  }

  // The cursor moves on at once, so a quick reviewer's next key lands on the next pair.
  function decideAndAdvance(decision) {
    const item = currentItem();
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
    await restore(last);
  }

  async function restore(entry) {
    const before = entry.before;
    await decide(entry.item, before ? before.decision : "", before ? before.gyaru : null, false);
    const index = state.view.indexOf(state.items.indexOf(entry.item));
    if (index >= 0) moveTo(index);
  }

  // A row's own undo: its last decision of this visit taken back, or (made on an
  // earlier visit) cleared.
  async function undoItem(item) {
    for (let i = state.undo.length - 1; i >= 0; i--) {
      if (state.undo[i].item === item) {
        const [entry] = state.undo.splice(i, 1);
        await restore(entry);
        return;
      }
    }
    await restore({ item, before: null });
  }

  function startEdit() {
    const item = currentItem();
    const node = currentNode();
    if (!item || !node) return;
    const box = document.createElement("textarea");
    box.className = "editor";
    box.value = L.shownLine(item);
    box.setAttribute("aria-label", `${state.data.dataset.persona || "persona"} line`);
    const save = L.el("button", "act save", "save");
    const cancel = L.el("button", "act cancel", "cancel");
    for (const [button, action] of [[save, "save"], [cancel, "cancel"]]) {
      button.type = "button";
      button.dataset.action = action;
    }
    save.title = "save the line (Enter)";
    cancel.title = "keep the line as it was (Esc)";
    node.querySelector(".persona").replaceChildren(box, el("div", "edit-buttons", save, cancel));
    state.editing = { item, box, position: state.cursor };
    box.addEventListener("keydown", onEditKey);
    box.focus();
    status("editing: Enter saves, Esc cancels");
  }

  function onEditKey(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      cancelEdit();
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      saveEdit();
    }
  }

  function cancelEdit() {
    stopEdit();
    status("edit cancelled");
  }

  async function saveEdit() {
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

  function stopEdit() {
    const { position } = state.editing;
    state.editing = null;
    refreshRow(position);
    focusList();
  }

  const ROW_ACTIONS = {
    accept: (item) => decide(item, "accepted", null, true),
    reject: (item) => decide(item, "rejected", null, true),
    edit: () => startEdit(),
    undo: (item) => undoItem(item),
    save: () => saveEdit(),
    cancel: () => cancelEdit(),
  };

  // A click on a row's button: the row is already the current one (list.js).
  async function onRowAction(action, item) {
    if (state.editing && action !== "save" && action !== "cancel") {
      status("finish the edit first: Enter (or save) saves, Esc (or cancel) cancels", true);
      state.editing.box.focus();
      return;
    }
    const run = ROW_ACTIONS[action];
    if (!run) return;
    if (action !== "edit" && action !== "save" && action !== "cancel") focusList();
    await run(item);
    if (action !== "edit" && !state.editing) focusList();
  }

  // ---- keys and focus ----------------------------------------------------

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
    if (target.closest && target.closest("dialog[open]")) return;
    if (L.typing()) {
      // A field keeps its keys; Esc leaves it for the list.
      if (event.key === "Escape") {
        event.preventDefault();
        document.activeElement.blur();
        focusList();
      }
      return;
    }
    const action = KEYS[event.key];
    if (!action || (state.tab !== "pairs" && event.key !== "?")) return;
    event.preventDefault();
    // On a select, a checkbox or a button, the keys are the list's, not the control's.
    if (event.key !== "/" && event.key !== "?" && target !== document.body && !target.closest("#list")) focusList();
    action();
  }

  // ---- tabs, charts, start ----------------------------------------------

  function reviewedPairs() {
    const pairs = [];
    let rejected = 0;
    for (const item of state.items) {
      const d = state.decisions.get(item.id);
      if (item.kind !== "pair") {
        // A rescued item is in the dataset as export writes it.
        if (d && d.decision !== "rejected") pairs.push({ ...item, gyaru: L.shownLine(item) });
        continue;
      }
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
    $("columns").hidden = tab !== "pairs";
    $("charts-view").hidden = tab !== "charts";
    $("tab-pairs").setAttribute("aria-pressed", String(tab === "pairs"));
    $("tab-charts").setAttribute("aria-pressed", String(tab === "charts"));
    if (tab === "charts") drawCharts();
    else focusList();
  }

  // A changed select or checkbox hands the keys back to the list.
  function filtered() {
    applyFilters();
    focusList();
  }

  // Rows scrolled to (j/k) stop below the sticky filters, not under them, however
  // many lines the filters wrap to.
  function watchSticky() {
    const sticky = document.querySelector(".sticky");
    const measure = () =>
      document.documentElement.style.setProperty("--sticky-height", `${sticky.offsetHeight}px`);
    new ResizeObserver(measure).observe(sticky);
    measure();
  }

  function wire() {
    watchSticky();
    state.afterRender = () => {
      if (state.tab === "charts") drawCharts();
    };
    state.onRowAction = onRowAction;
    document.addEventListener("keydown", onKey);
    $("list").addEventListener("click", L.onListClick);
    $("list").addEventListener("focusin", L.onListFocus);
    $("filters").addEventListener("submit", (event) => event.preventDefault());
    $("f-sort").addEventListener("change", () => {
      // Disagreements are mostly among the run's rejections: show them too.
      if ($("f-sort").value === "disagree") $("f-rejected").checked = true;
    });
    for (const id of ["f-topic", "f-decision", "f-reason", "f-sort", "f-rejected"]) {
      $(id).addEventListener("change", filtered);
    }
    for (const id of ["f-min", "f-max", "f-text"]) $(id).addEventListener("input", applyFilters);
    $("prev-page").addEventListener("click", () => moveTo((state.page - 1) * PAGE_SIZE));
    $("next-page").addEventListener("click", () => moveTo((state.page + 1) * PAGE_SIZE));
    $("tab-pairs").addEventListener("click", () => showTab("pairs"));
    $("tab-charts").addEventListener("click", () => showTab("charts"));
    $("show-help").addEventListener("click", () => $("help").showModal());
    $("help").addEventListener("close", () => {
      if (state.tab === "pairs") focusList();
    });
  }

  // The page is ready once its first rows are painted with their word diff.
  function whenWordsReady(done) {
    const list = $("list");
    if (list.dataset.words !== "pending") return done();
    const watch = new MutationObserver(() => {
      if (list.dataset.words !== "pending") {
        watch.disconnect();
        done();
      }
    });
    watch.observe(list, { attributes: true, attributeFilter: ["data-words"] });
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
    focusList();
    requestAnimationFrame(() => setTimeout(() => performance.mark("review-rows")));
    whenWordsReady(() => {
      performance.mark("review-words");
      // After the rows are painted with their word diff (a task after the next
      // frame): what the benchmark measures as first paint, and what the tests wait for.
      requestAnimationFrame(() =>
        setTimeout(() => {
          performance.mark("review-painted");
          document.body.dataset.ready = "true";
        }),
      );
    });
  }

  start();
})();
