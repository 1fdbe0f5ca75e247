// The pictures of the review page, drawn as SVG from the data in the page.
// Every label is set through textContent: pair text never becomes markup.
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const WIDTH = 470;
  const PHRASE_SPLIT = /[\s、。！？!?…〜～「」『』（）()・,.]+/u;

  function svg(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function figure(title, note) {
    const fig = document.createElement("figure");
    fig.className = "chart";
    const caption = document.createElement("figcaption");
    caption.textContent = title;
    if (note) {
      const small = document.createElement("small");
      small.textContent = " " + note;
      caption.append(small);
    }
    fig.append(caption);
    return fig;
  }

  function short(label, max) {
    const chars = Array.from(label);
    return chars.length > max ? chars.slice(0, max - 1).join("") + "…" : label;
  }

  // Horizontal bars, one per [label, count], largest first as given.
  function bars(title, entries, note) {
    const fig = figure(title, note);
    if (!entries.length) {
      const empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = "nothing to show";
      fig.append(empty);
      return fig;
    }
    const rowH = 20;
    const labelW = 190;
    const max = entries.reduce((m, e) => Math.max(m, e[1]), 1);
    const root = svg("svg", { width: WIDTH, height: entries.length * rowH + 4, role: "img" });
    entries.forEach(([label, count], i) => {
      const y = i * rowH + 2;
      const w = Math.max(1, ((WIDTH - labelW - 60) * count) / max);
      const row = svg("g", { class: "bar" });
      row.append(svg("title", {}, `${label}: ${count}`));
      row.append(svg("text", { x: labelW - 6, y: y + 14, "text-anchor": "end" }, short(label, 14)));
      row.append(svg("rect", { x: labelW, y: y + 2, width: w, height: rowH - 6 }));
      row.append(svg("text", { x: labelW + w + 4, y: y + 14, class: "value" }, count.toLocaleString()));
      root.append(row);
    });
    fig.append(root);
    return fig;
  }

  // Vertical bars over numeric bins; `series` is [{name, values}] sharing the bins.
  function histogram(title, series, lo, hi, bins, note) {
    const fig = figure(title, note);
    const height = 150;
    const bottom = 22;
    const step = (hi - lo) / bins;
    const counts = series.map((s) => {
      const c = new Array(bins).fill(0);
      for (const v of s.values) c[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / step)))]++;
      return c;
    });
    const max = counts.flat().reduce((m, c) => Math.max(m, c), 1);
    const slot = (WIDTH - 10) / bins;
    const barW = Math.max(1, (slot - 2) / series.length);
    const root = svg("svg", { width: WIDTH, height: height + bottom, role: "img" });
    counts.forEach((c, s) => {
      c.forEach((count, b) => {
        const h = ((height - 4) * count) / max;
        const x = 5 + b * slot + s * barW;
        const rect = svg("rect", { x, y: height - h, width: barW, height: h, class: `series${s}` });
        const from = +(lo + b * step).toFixed(2);
        rect.append(svg("title", {}, `${series[s].name} ${from}–${+(from + step).toFixed(2)}: ${count}`));
        root.append(rect);
      });
    });
    for (let b = 0; b <= bins; b += Math.max(1, Math.round(bins / 5))) {
      root.append(svg("text", { x: 5 + b * slot, y: height + 16, class: "axis" }, String(+(lo + b * step).toFixed(2))));
    }
    fig.append(root);
    if (series.length > 1) fig.append(legend(series.map((s) => s.name)));
    return fig;
  }

  function legend(names) {
    const p = document.createElement("p");
    p.className = "legend";
    names.forEach((name, i) => {
      const key = document.createElement("span");
      key.className = `key series${i}`;
      p.append(key, document.createTextNode(name + "  "));
    });
    return p;
  }

  function top(counter, n) {
    return [...counter.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
  }

  function count(values) {
    const counter = new Map();
    for (const v of values) counter.set(v, (counter.get(v) || 0) + 1);
    return counter;
  }

  // Clauses of persona lines (split at punctuation) that recur across pairs: a model
  // stuck on a template shows up here first.
  function repeatedPhrases(lines, n) {
    const counter = new Map();
    for (const line of lines) {
      const seen = new Set(line.split(PHRASE_SPLIT).filter((p) => Array.from(p).length >= 3));
      for (const phrase of seen) counter.set(phrase, (counter.get(phrase) || 0) + 1);
    }
    return top(counter, n).filter((e) => e[1] > 1);
  }

  function judgeMean(judge) {
    if (!judge || typeof judge !== "object") return null;
    const grades = Object.values(judge).filter((v) => typeof v === "number" && Number.isFinite(v));
    return grades.length ? grades.reduce((a, b) => a + b, 0) / grades.length : null;
  }

  // model: {pairs (as export would write them), rejected (the run's), reviewRejected, markers}
  function draw(container, model) {
    const { pairs, rejected, reviewRejected, markers } = model;
    const gyaru = pairs.map((p) => p.gyaru);
    const lengths = (key) => pairs.map((p) => Array.from(p[key]).length);
    const stdLengths = lengths("standard");
    const gyaruLengths = lengths("gyaru");
    // A loop, not Math.max(...): spreading 20,000 values can overflow the call stack.
    let maxLen = 10;
    for (const n of stdLengths.concat(gyaruLengths)) if (n > maxLen) maxLen = n;
    const quality = pairs.map((p) => p.quality).filter((q) => typeof q === "number");
    const judged = pairs.map((p) => judgeMean(p.judge)).filter((m) => m !== null);
    const reasons = count(rejected.map((r) => r.reason));
    if (reviewRejected) reasons.set("you rejected", reviewRejected);
    const markerCounts = markers.map((m) => [m, gyaru.filter((g) => g.includes(m)).length]);
    const figures = [
      bars("Topic balance", top(count(pairs.map((p) => p.topic || "?")), 30), `${pairs.length.toLocaleString()} pairs`),
      histogram("Line lengths (characters)", [
        { name: "standard", values: stdLengths },
        { name: "persona", values: gyaruLengths },
      ], 0, Math.ceil(maxLen / 10) * 10, Math.min(20, Math.ceil(maxLen / 10))),
      histogram("Quality score", [{ name: "quality", values: quality }], 0, 1, 10,
        quality.length ? "" : "(no scores)"),
      judged.length
        ? histogram("Judge grade (mean of the numeric grades)", [{ name: "judge", values: judged }], 1, 5, 8)
        : bars("Judge grade", [], "(no pair carries judge grades)"),
      bars("Rejection reasons", top(reasons, 20), `${rejected.length.toLocaleString()} rejected by the run`),
      bars("Style markers (pairs whose persona line has it)", markerCounts.sort((a, b) => b[1] - a[1]).slice(0, 20)),
      bars("Repeated phrases in persona lines", repeatedPhrases(gyaru, 15), "(pairs holding the phrase)"),
    ];
    container.replaceChildren(...figures);
  }

  window.ReviewCharts = { draw, judgeMean };
})();
