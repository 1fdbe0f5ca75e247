// Character-level diff of two lines, for highlighting what the rewrite changed.
// A longest-common-subsequence table over the characters (lines are sentences, a few
// hundred characters at most); past MAX_CELLS only the common prefix and suffix are
// matched, so a pathological line cannot freeze the page.
"use strict";
(function () {
  const MAX_CELLS = 400000;

  // Segments [{text, same}] of `a` and of `b`, each covering its line in order.
  function chars(a, b) {
    const x = Array.from(a);
    const y = Array.from(b);
    let start = 0;
    while (start < x.length && start < y.length && x[start] === y[start]) start++;
    let endX = x.length;
    let endY = y.length;
    while (endX > start && endY > start && x[endX - 1] === y[endY - 1]) {
      endX--;
      endY--;
    }
    const midX = x.slice(start, endX);
    const midY = y.slice(start, endY);
    const marks =
      (midX.length + 1) * (midY.length + 1) > MAX_CELLS
        ? { a: midX.map(() => false), b: midY.map(() => false) }
        : lcsMarks(midX, midY);
    const sameA = [...x.slice(0, start).map(() => true), ...marks.a, ...x.slice(endX).map(() => true)];
    const sameB = [...y.slice(0, start).map(() => true), ...marks.b, ...y.slice(endY).map(() => true)];
    return { a: segments(x, sameA), b: segments(y, sameB) };
  }

  function lcsMarks(x, y) {
    const n = x.length;
    const m = y.length;
    const width = m + 1;
    // table[i][j]: LCS length of x[i:] and y[j:]
    const table = new Uint16Array((n + 1) * width);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        table[i * width + j] =
          x[i] === y[j]
            ? table[(i + 1) * width + j + 1] + 1
            : Math.max(table[(i + 1) * width + j], table[i * width + j + 1]);
      }
    }
    const a = new Array(n).fill(false);
    const b = new Array(m).fill(false);
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (x[i] === y[j]) {
        a[i++] = true;
        b[j++] = true;
      } else if (table[(i + 1) * width + j] >= table[i * width + j + 1]) {
        i++;
      } else {
        j++;
      }
    }
    return { a, b };
  }

  function segments(chars, same) {
    const out = [];
    for (let i = 0; i < chars.length; i++) {
      const last = out[out.length - 1];
      if (last && last.same === same[i]) last.text += chars[i];
      else out.push({ text: chars[i], same: same[i] });
    }
    return out;
  }

  window.ReviewDiff = { chars };
})();
