// The dashboard's live part is fetched again and swapped whole every few seconds (htmx):
// what the person opened (the folded checklist) stays open.
(function () {
  let opened = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    if (!target || target.id !== "dashboard-live") return;
    opened = Array.from(target.querySelectorAll("details[id][open]"), function (d) { return d.id; });
  });
  document.addEventListener("htmx:afterSettle", function () {
    opened.forEach(function (id) {
      const details = document.getElementById(id);
      if (details && details.tagName === "DETAILS") details.open = true;
    });
    opened = [];
  });
})();
