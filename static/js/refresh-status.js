/* Parts of a page that refresh themselves never go stale silently.
 *
 * A part that refreshes itself (htmx hx-trigger="every Ns" with data-poll, see ui.js) says
 * when it was drawn in data-refreshed-at ("HH:MM", the server's time in the person's zone);
 * the dashboard and the alert page also show it in an "As of" line (data-refresh-status).
 * When a refresh fails (no answer: network down, server stopped; an error status; no answer
 * within its interval), htmx leaves the part as it was: a notice then says so, in place,
 * just above it ("Couldn't update since HH:MM — reload the page"), and after two missed
 * refreshes in a row its "As of" line is marked out of date. A refresh that succeeds swaps
 * in a fresh part (without the marks) and its notice goes.
 *
 * A part inside another that already shows a notice shows none of its own: one notice
 * per stale region.
 *
 * A part whose answer carries an ETag is asked next time with If-None-Match; "304 Not
 * Modified" means what it shows is still current: nothing is swapped, and it counts as a
 * refresh that succeeded (its notice and marks go).
 */
(function () {
  "use strict";

  var MISSED_FOR_OUT_OF_DATE = 2;
  var MIN_TIMEOUT_MS = 10000;

  function region(elt) {
    return elt && elt.closest ? elt.closest("[data-poll]") : null;
  }

  function intervalMs(el) {
    var found = /every\s+(\d+(?:\.\d+)?)(ms|s|m)?/.exec(el.getAttribute("hx-trigger") || "");
    if (!found) return 0;
    var unit = { ms: 1, s: 1000, m: 60000 }[found[2] || "ms"];
    return Number(found[1]) * unit;
  }

  function noticeFor(el) {
    return el.id ? document.querySelector('[data-refresh-notice-for="' + el.id + '"]') : null;
  }

  function statusLine(el) {
    var line = el.querySelector("[data-refresh-status]");
    return line && region(line) === el ? line : null;
  }

  function showNotice(el) {
    var above = el.parentElement && el.parentElement.closest("[data-refresh-missed]");
    if (above) return; // the enclosing part's notice covers this one
    // Notices of parts inside this one give way to its own.
    el.querySelectorAll("[data-refresh-notice-for]").forEach(function (n) { n.remove(); });
    var notice = noticeFor(el);
    if (!notice) {
      notice = document.createElement("p");
      notice.className = "flash flash-warning refresh-notice";
      notice.setAttribute("role", "status");
      notice.dataset.refreshNoticeFor = el.id;
      el.before(notice);
    }
    var since = el.dataset.refreshedAt;
    var words = document.createElement("strong");
    words.textContent = "Couldn't update" + (since ? " since " + since : "") + " — ";
    var reload = document.createElement("a");
    reload.href = window.location.href;
    reload.textContent = "reload the page";
    // Filled in after it is on the page, so that screen readers announce it.
    window.setTimeout(function () { notice.replaceChildren(words, reload); }, 0);
  }

  function markOutOfDate(el) {
    var line = statusLine(el);
    if (!line || line.classList.contains("is-out-of-date")) return;
    line.classList.add("is-out-of-date");
    var badge = document.createElement("span");
    badge.className = "badge badge-warn";
    badge.textContent = "Out of date";
    badge.dataset.outOfDate = "";
    line.prepend(badge, " ");
  }

  function missed(event) {
    var el = region(event.detail.elt);
    if (!el || !el.isConnected) return;
    var count = Number(el.dataset.refreshMissed || 0) + 1;
    el.dataset.refreshMissed = String(count);
    showNotice(el);
    if (count >= MISSED_FOR_OUT_OF_DATE) markOutOfDate(el);
  }

  ["htmx:sendError", "htmx:responseError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, missed);
  });

  // A refresh that never answers counts as missed once its interval has passed.
  document.addEventListener("htmx:configRequest", function (event) {
    var el = event.detail.elt;
    if (!el || !el.hasAttribute("data-poll")) return;
    var every = intervalMs(el);
    if (every && !event.detail.timeout) event.detail.timeout = Math.max(every, MIN_TIMEOUT_MS);
    var tag = el.id && versions[el.id];
    if (tag) event.detail.headers["If-None-Match"] = tag;
  });

  // The version each part (by id) was last drawn from, as its answer's ETag said.
  var versions = {};

  function current(el) {
    delete el.dataset.refreshMissed;
    var notice = noticeFor(el);
    if (notice) notice.remove();
    var line = statusLine(el);
    if (line && line.classList.contains("is-out-of-date")) {
      line.classList.remove("is-out-of-date");
      var badge = line.querySelector("[data-out-of-date]");
      if (badge) badge.remove();
    }
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var el = event.detail.elt;
    if (!el || !el.hasAttribute("data-poll") || !el.id) return;
    var xhr = event.detail.xhr;
    if (xhr.status === 304) {
      event.detail.shouldSwap = false;
      event.detail.isError = false;
      current(el);
      return;
    }
    var tag = xhr.getResponseHeader("ETag");
    if (tag) versions[el.id] = tag;
    else delete versions[el.id];
  });

  // After a swap, notices whose part was refreshed (or is gone) go.
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[data-refresh-notice-for]").forEach(function (notice) {
      var el = document.getElementById(notice.dataset.refreshNoticeFor);
      if (!el || !el.hasAttribute("data-refresh-missed")) notice.remove();
    });
  });
})();
