// The profile page on a first visit: suggest the browser's zone in the time-zone list
// (the select named by this script's data-select); nothing changes until the person saves.
(function () {
  "use strict";
  var script = document.currentScript;
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var select = script && document.getElementById(script.dataset.select);
  if (!zone || !select) return;
  var known = Array.prototype.some.call(select.options, function (o) { return o.value === zone; });
  if (!known || zone === "UTC") return;
  select.value = zone;
  var note = document.getElementById("time-zone-guess");
  note.textContent = "Your browser says " + zone.replace(/_/g, " ") + ": save to keep times there, whichever browser you use.";
  note.hidden = false;
})();
