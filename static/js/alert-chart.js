/* The alert page's chart: matching events in the window over time, and the threshold.
 *
 * Each element with data-alert-chart="<id>" is drawn with uPlot from the JSON in the
 * <script id="<id>"> beside it (Django's json_script): {times (epoch seconds), values,
 * threshold, absence, window}. The page's live section is swapped every 15 s by htmx, so
 * charts are drawn on htmx's load event and destroyed before their section is swapped out.
 */
(function () {
  "use strict";

  var HEIGHT = 240;
  // Counts are whole numbers: the y axis steps by one of these.
  var COUNT_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000,
    10000, 20000, 25000, 50000, 100000, 250000, 500000, 1000000];
  var drawn = new Set();
  var hhmm = null;

  function utc(ts) {
    return window.uPlot.tzDate(new Date(ts * 1e3), "UTC");
  }

  function clock(ts) {
    // 24-hour UTC times on the x axis, as the rest of the page shows them.
    hhmm = hhmm || window.uPlot.fmtDate("{HH}:{mm}");
    return hhmm(utc(ts));
  }

  function destroy(el) {
    if (el._alertChart) {
      el._alertChart.destroy();
      el._alertChart = null;
    }
    drawn.delete(el);
  }

  function draw(el) {
    var source = document.getElementById(el.dataset.alertChart);
    if (!source || typeof window.uPlot === "undefined") return;
    var data = JSON.parse(source.textContent);
    destroy(el);
    el.textContent = "";
    var threshold = data.times.map(function () { return data.threshold; });
    var top = Math.max(data.threshold, Math.max.apply(null, data.values.concat([0])));
    var opts = {
      width: Math.max(el.clientWidth, 280),
      height: HEIGHT,
      tzDate: utc,
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true },
        y: { range: function () { return [0, Math.ceil(top * 1.2) || 1]; } },
      },
      axes: [
        { values: function (u, splits) { return splits.map(clock); } },
        { label: "events in " + data.window, size: 60, incrs: COUNT_STEPS },
      ],
      series: [
        { label: "Time (UTC)" },
        {
          label: "Matching events in " + data.window,
          stroke: "#0969da", fill: "rgba(9, 105, 218, 0.08)", width: 2,
          points: { show: false },
        },
        {
          label: (data.absence ? "Fires below " : "Fires at ") + data.threshold,
          stroke: "#cf222e", dash: [6, 4], width: 1.5, points: { show: false },
        },
      ],
    };
    el._alertChart = new window.uPlot(opts, [data.times, data.values, threshold], el);
    drawn.add(el);
  }

  function drawWithin(root) {
    drawn.forEach(function (el) { if (!el.isConnected) destroy(el); });
    var found = root.querySelectorAll ? Array.from(root.querySelectorAll("[data-alert-chart]")) : [];
    if (root.matches && root.matches("[data-alert-chart]")) found.push(root);
    found.forEach(draw);
  }

  function resize() {
    drawn.forEach(function (el) {
      if (!el.isConnected) { destroy(el); return; }
      el._alertChart.setSize({ width: Math.max(el.clientWidth, 280), height: HEIGHT });
    });
  }

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(resize, 150);
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.querySelectorAll) {
      target.querySelectorAll("[data-alert-chart]").forEach(destroy);
    }
  });

  if (window.htmx) {
    window.htmx.onLoad(drawWithin);  // the page itself, then every swapped-in section
  } else {
    document.addEventListener("DOMContentLoaded", function () { drawWithin(document); });
  }
})();
