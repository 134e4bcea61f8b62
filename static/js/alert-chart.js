/* The alert page's chart: matching events in the window over time, and the threshold.
 *
 * Each element with data-alert-chart="<id>" is drawn with uPlot from the JSON in the
 * <script id="<id>"> beside it (Django's json_script): {times (epoch seconds), values,
 * threshold, absence, window, since, until}. The x axis always spans since..until (the last
 * hour at least), however recently counting started, so its labels are minutes apart. The
 * legend shows the latest point until the pointer picks another. The organization's changes
 * (deploys, configuration changes: `changes`, [{at, summary, source}]) are marked with a
 * vertical line each, their summary shown while the pointer is on one (or it has focus: a
 * tap on a phone). The page's live section is
 * swapped every 15 s by htmx, so charts are drawn on htmx's load event and destroyed before
 * their section is swapped out. Its colours are the page's (light or dark, as the system
 * says): it is drawn again when the system's colour scheme changes while the page is open.
 */
(function () {
  "use strict";

  var HEIGHT = 240;
  var MIN_Y_AXIS = 40;  // px for the y axis's counts, whatever their width (at least)
  // Counts are whole numbers: the y axis steps by one of these.
  var COUNT_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000,
    10000, 20000, 25000, 50000, 100000, 250000, 500000, 1000000];
  var drawn = new Set();
  var formats = {};
  // The person's time zone (the chart's data-time-zone), as the rest of the page uses.
  var zone = "UTC";

  function zoned(ts) {
    return window.uPlot.tzDate(new Date(ts * 1e3), zone);
  }

  function format(pattern, ts) {
    formats[pattern] = formats[pattern] || window.uPlot.fmtDate(pattern);
    return formats[pattern](zoned(ts));
  }

  function tick(step, ts) {
    // 24-hour times in the person's zone, as the rest of the page shows them: seconds only
    // when ticks are less than a minute apart, the day where one begins.
    if (step < 60) return format("{HH}:{mm}:{ss}", ts);
    var at = zoned(ts);
    if (at.getHours() === 0 && at.getMinutes() === 0) return format("{D} {MMM}", ts);
    return format("{HH}:{mm}", ts);
  }

  function ticks(u, splits, axis, space, step) {
    return splits.map(function (ts) { return tick(step, ts); });
  }

  function valuesWidth(u, values, axisIdx, cycleNum) {
    // The y axis as wide as its longest count ("300,000" would run into the axis's label
    // and off a phone's screen in a fixed width), measured in the axis's own font.
    var axis = u.axes[axisIdx];
    if (cycleNum > 1 && axis._size) return axis._size;
    var longest = (values || []).reduce(function (a, v) { return v.length > a.length ? v : a; }, "");
    var width = 0;
    if (longest) {
      u.ctx.font = axis.font[0];
      width = u.ctx.measureText(longest).width / (window.devicePixelRatio || 1);
    }
    return Math.max(MIN_Y_AXIS, Math.ceil(axis.ticks.size + axis.gap + width + 4));
  }

  function faint(hex) {
    // The area under the count: its line's colour (#rrggbb), nearly transparent.
    var n = parseInt(hex.slice(1), 16);
    if (hex.length !== 7 || isNaN(n)) return "rgba(9, 105, 218, 0.08)";
    return "rgba(" + (n >> 16) + ", " + ((n >> 8) & 255) + ", " + (n & 255) + ", 0.12)";
  }

  function showLatest(u) {
    // Off the chart, the legend reads the latest point instead of "--".
    var last = u.data[0].length - 1;
    if (u.legend.idx == null && last >= 0) u.setLegend({ idx: last });
  }

  function destroy(el) {
    if (el._alertChart) {
      el._alertChart.destroy();
      el._alertChart = null;
    }
    drawn.delete(el);
  }

  function changeMarkers(changes) {
    // One element per change over the plot (so the pointer can rest on it), placed at its
    // time on every redraw; its words show on hover, beside the line, kept inside the chart.
    var layer = document.createElement("div");
    layer.className = "chart-changes";
    changes.forEach(function (change) {
      var words = "Change at " + format("{HH}:{mm}", change.at) + ": " + change.summary +
        (change.source ? " (from " + change.source + ")" : "");
      var mark = document.createElement("span");
      mark.className = "chart-change";
      mark.tabIndex = 0;  // a tap (phones have no hover) or the keyboard shows its words too
      mark.dataset.at = String(change.at);
      var tip = document.createElement("span");
      tip.className = "chart-change-tip";
      tip.textContent = words;
      mark.appendChild(tip);
      layer.appendChild(mark);
    });
    function place(u) {
      var width = u.over.clientWidth;
      Array.prototype.forEach.call(layer.children, function (mark) {
        var x = u.valToPos(Number(mark.dataset.at), "x");
        mark.style.left = x + "px";
        mark.classList.toggle("chart-change-late", x > width / 2);
      });
    }
    return {
      ready: function (u) {
        u.over.appendChild(layer);
        place(u);
      },
      draw: place,
    };
  }

  function draw(el) {
    var source = document.getElementById(el.dataset.alertChart);
    if (!source || typeof window.uPlot === "undefined") return;
    var data = JSON.parse(source.textContent);
    zone = el.dataset.timeZone || "UTC";
    destroy(el);
    el.textContent = "";
    var top = Math.max(data.threshold, Math.max.apply(null, data.values.concat([0])));
    var times = data.times.slice();
    var values = data.values.slice();
    if (!times.length || times[0] > data.since) {
      // A point where the chart starts, before counting did: no count, but the threshold
      // line runs across the whole chart.
      times.unshift(data.since);
      values.unshift(null);
    }
    var threshold = times.map(function () { return data.threshold; });
    var style = getComputedStyle(el);
    var ink = style.color;
    var grid = style.getPropertyValue("--pico-muted-border-color").trim() || "rgba(128,128,128,0.3)";
    var count = style.getPropertyValue("--tw-admin").trim() || "#0969da";
    var bad = style.getPropertyValue("--tw-bad").trim() || "#cf222e";
    var axis = { stroke: ink, grid: { stroke: grid }, ticks: { stroke: grid } };
    var opts = {
      width: Math.max(el.clientWidth, 280),
      height: HEIGHT,
      tzDate: zoned,
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: function () { return [data.since, data.until]; } },
        y: { range: function () { return [0, Math.ceil(top * 1.2) || 1]; } },
      },
      axes: [
        Object.assign({ values: ticks }, axis),
        Object.assign({ label: "events in " + data.window, size: valuesWidth, incrs: COUNT_STEPS }, axis),
      ],
      series: [
        { label: "Time (" + zone + ")", value: function (u, ts) { return ts == null ? "" : format("{D} {MMM} {HH}:{mm}:{ss}", ts); } },
        {
          label: "Matching events in " + data.window,
          stroke: count, fill: faint(count), width: 2,
          points: { show: false },
          value: function (u, v) { return v == null ? "not counted yet" : String(v); },
        },
        {
          // Written as the y axis writes its counts ("250,000").
          label: (data.absence ? "Fires below " : "Fires at ") + data.threshold.toLocaleString("en-US"),
          stroke: bad, dash: [6, 4], width: 1.5, points: { show: false },
          value: function () { return ""; },
          class: "threshold",
        },
      ],
      hooks: { ready: [showLatest], setLegend: [showLatest] },
    };
    if (data.changes && data.changes.length) {
      var markers = changeMarkers(data.changes);
      opts.hooks.ready.push(markers.ready);
      opts.hooks.draw = [markers.draw];
    }
    el._alertChart = new window.uPlot(opts, [times, values, threshold], el);
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

  // uPlot paints its canvas with the colours read when drawn: draw again in the new ones.
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)");
  if (dark) {
    dark.addEventListener("change", function () {
      Array.from(drawn).forEach(function (el) {
        if (el.isConnected) draw(el); else destroy(el);
      });
    });
  }

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
