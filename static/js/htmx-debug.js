/* Development only (DEBUG): when an htmx request fails with a server error or a missing page,
 * show Django's error page, as django-htmx's debug script did, without the inline code the
 * Content-Security-Policy refuses. A GET is opened as a page of its own (Django's error pages
 * are served with a policy that lets their inline code run); after any other method, the
 * error's words and traceback are shown as plain text. A 400 is a form with its errors, which
 * htmx swaps in as usual. A part that refreshes itself (data-poll) fails in the background:
 * the page stays, with a banner at its top linking to the error (refresh-status.js says, in
 * place, that the part is out of date).
 */
(function () {
  "use strict";

  // Read without parsing the page: even an unattached parse of it reports its inline code.
  function between(html, pattern) {
    var found = html.match(pattern);
    if (!found) return "";
    var decode = document.createElement("textarea"); // its content is text, never elements
    decode.innerHTML = found[1];
    return decode.value.trim();
  }

  function showAsText(xhr) {
    var html = String(xhr.response || "");
    var title = document.createElement("h1");
    title.textContent = between(html, /<title>([\s\S]*?)<\/title>/) || "Server error";
    var pre = document.createElement("pre");
    pre.className = "htmx-debug-error";
    pre.textContent =
      between(html, /<textarea[^>]*id="traceback_area"[^>]*>([\s\S]*?)<\/textarea>/) ||
      xhr.status + " " + xhr.statusText;
    document.body.replaceChildren(title, pre);
  }

  function showBanner(xhr) {
    var banner = document.getElementById("htmx-debug-banner");
    if (!banner) {
      banner = document.createElement("p");
      banner.id = "htmx-debug-banner";
      banner.className = "flash flash-error";
      banner.setAttribute("role", "alert");
      var main = document.querySelector("main") || document.body;
      main.prepend(banner);
    }
    var open = document.createElement("a");
    open.href = xhr.responseURL;
    open.textContent = "open it to see the error";
    banner.replaceChildren(
      "Development: a background refresh failed (" + xhr.status + " " + xhr.statusText + "); ",
      open,
      "."
    );
  }

  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status !== 500 && xhr.status !== 404) return;
    var elt = event.detail.elt;
    if (elt && elt.closest && elt.closest("[data-poll]")) {
      showBanner(xhr);
      return;
    }
    event.stopPropagation();
    if (event.detail.requestConfig && event.detail.requestConfig.verb === "get") {
      window.location.assign(xhr.responseURL);
    } else {
      showAsText(xhr);
    }
  });
})();
