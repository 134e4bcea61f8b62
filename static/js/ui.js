/* Small behaviours every page shares.
 *
 * Menus (details.dropdown) close with Esc (focus goes back to the menu's button), on a click
 * or tap outside them, when the keyboard moves past them, and when another menu opens.
 *
 * Tables are shown as cards on a phone (app.css); each cell is named by its column, copied
 * here from the table's headings into data-label. Tables that name their cells themselves
 * (any cell with data-label) are left as they are.
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

  // A cell swapped in later (htmx) is labelled too.
  function start() {
    labelCells(document);
    if (window.htmx) window.htmx.onLoad(labelCells);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
