/* Small behaviours every page shares.
 *
 * Menus (details.dropdown) close with Esc (focus goes back to the menu's button), on a click
 * or tap outside them, when the keyboard moves past them, and when another menu opens.
 *
 * Tables are shown as cards on a phone (app.css); each cell is named by its column, copied
 * here from the table's headings into data-label. Tables that name their cells themselves
 * (any cell with data-label) are left as they are.
 *
 * No page has inline script (the Content-Security-Policy forbids it); markup asks instead:
 * data-confirm="question" on a button or form asks before it submits, data-select-on-focus
 * selects an input's text when it gets focus, data-busy-on-submit marks a form's submit
 * button busy while the next page loads. An htmx form with data-fail-message writes it into
 * its hx-target when its request gets no answer (network down, server stopped), and
 * data-error-message ("{status}" in it is the error's code) when the answer is an error.
 *
 * Polling (htmx trigger filters would need eval, which the policy refuses too): an element
 * with data-poll is fetched again only while the tab is visible, never while the element
 * named by its data-poll-pause is on the page, and, with data-poll-idle, never while a
 * <details> inside it is open or the focus is inside it. "pagevisible" is sent on the
 * document when the tab is shown again (hx-trigger="pagevisible from:document").
 */
(function () {
  "use strict";

  function openMenus() {
    return Array.from(document.querySelectorAll("details.dropdown[open]"));
  }

  function close(menu, focus) {
    menu.removeAttribute("open");
    if (focus) {
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    openMenus().forEach(function (menu) {
      close(menu, menu.contains(document.activeElement));
    });
  });

  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) close(menu, false);
    });
  });

  document.addEventListener("focusin", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) close(menu, false);
    });
  });

  document.addEventListener(
    "toggle",
    function (event) {
      var opened = event.target;
      if (!opened.matches || !opened.matches("details.dropdown") || !opened.open) return;
      openMenus().forEach(function (menu) {
        if (menu !== opened) close(menu, false);
      });
    },
    true
  );

  function labelCells(root) {
    var tables = root.querySelectorAll ? Array.from(root.querySelectorAll("main table")) : [];
    if (root.matches && root.matches("main table")) tables.push(root);
    tables.forEach(function (table) {
      if (!table.dataset.labelled && table.querySelector("td[data-label]")) return;
      table.dataset.labelled = "true";
      var heads = Array.from(table.querySelectorAll("thead th")).map(function (th) {
        return th.textContent.trim();
      });
      if (!heads.length) return;
      table.querySelectorAll("tbody tr").forEach(function (row) {
        var column = 0;
        Array.from(row.children).forEach(function (cell) {
          if (cell.colSpan === 1 && heads[column] && !cell.dataset.label) {
            cell.dataset.label = heads[column];
          }
          column += cell.colSpan;
        });
      });
    });
  }

  document.addEventListener(
    "click",
    function (event) {
      var button = event.target.closest && event.target.closest("button[data-confirm]");
      if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
    },
    true
  );

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (form.matches("form[data-confirm]") && !window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        event.stopImmediatePropagation();
        return;
      }
      if (form.matches("form[data-busy-on-submit]")) {
        var submit = form.querySelector("button[type=submit]");
        if (submit) submit.setAttribute("aria-busy", "true");
      }
    },
    true
  );

  function failed(event) {
    var form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("[data-fail-message]");
    var target = form && (event.detail.target || document.querySelector(form.getAttribute("hx-target")));
    if (!target) return;
    var xhr = event.detail.xhr;
    var answered = event.type === "htmx:responseError" && form.dataset.errorMessage;
    var note = document.createElement("p");
    note.className = "flash flash-error";
    note.setAttribute("role", "alert");
    note.textContent = answered
      ? form.dataset.errorMessage.replace("{status}", String(xhr.status))
      : form.dataset.failMessage;
    target.replaceChildren(note);
  }
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:responseError", failed);

  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("input[data-select-on-focus]")) {
      event.target.select();
    }
  });

  function pollPaused(el) {
    if (document.visibilityState !== "visible") return true;
    var pause = el.dataset.pollPause;
    if (pause && document.querySelector(pause)) return true;
    return (
      el.hasAttribute("data-poll-idle") &&
      (el.querySelector("details[open]") !== null || el.contains(document.activeElement))
    );
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var el = event.detail.elt;
    if (el && el.hasAttribute("data-poll") && pollPaused(el)) event.preventDefault();
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      document.dispatchEvent(new CustomEvent("pagevisible"));
    }
  });

  // "Send test event"'s question: the server's open <dialog>, made modal (focus kept in
  // it, Escape cancels); Cancel closes it here instead of leaving the page.
  function showTestQuestion(root) {
    var asked = ".test-result dialog.test-confirm[open]";
    if (!root.querySelectorAll) return;
    var dialogs = Array.prototype.slice.call(root.querySelectorAll(asked));
    if (root.matches(asked)) dialogs.push(root);
    dialogs.forEach(function (dialog) {
      if (dialog.matches(":modal")) return;
      dialog.close();
      dialog.showModal();
    });
  }

  function dropTestQuestion(dialog) {
    var row = document.getElementById(dialog.id.replace("test-confirm-", "service-"));
    dialog.close();
    dialog.remove();
    var send = row && row.querySelector("form[action$='/test/'] button");
    if (send) send.focus();
  }

  document.addEventListener("click", function (event) {
    var cancel = event.target instanceof Element && event.target.closest(".test-result dialog.test-confirm [data-close-dialog]");
    if (!cancel) return;
    event.preventDefault();
    dropTestQuestion(cancel.closest("dialog"));
  });
  document.addEventListener("cancel", function (event) {
    if (event.target instanceof Element && event.target.matches(".test-result dialog.test-confirm")) {
      event.preventDefault();
      dropTestQuestion(event.target);
    }
  }, true);

  // A cell swapped in later (htmx) is labelled too; a question swapped in is asked.
  function start() {
    labelCells(document);
    if (window.htmx) {
      window.htmx.onLoad(labelCells);
      window.htmx.onLoad(showTestQuestion);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
