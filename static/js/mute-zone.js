// Mute forms: while the profile has no time zone, a typed "until" means the browser's zone.
// Send it with the form (its hidden data-browser-zone input) and name it beside the field.
// Run once per form, however many times the script is included.
(function () {
  "use strict";
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) {
    return;
  }
  if (!zone || zone === "UTC") return;
  document.querySelectorAll("[data-mute-zone]").forEach(function (note) {
    var form = note.closest("form");
    var input = form && form.querySelector("input[data-browser-zone]");
    if (note.dataset.profileZone || !input || input.value) return;
    input.value = zone;
    note.querySelector("[data-zone-name]").textContent = zone.replace(/_/g, " ");
    note.querySelector("[data-zone-why]").textContent = " (your browser's: none is chosen in your profile)";
  });
})();
