/* The alert page's "Mute…" button opens the "Mute now" form below and moves the focus
 * to its first field (a plain link to #alert-mutes without script). Typing a time in
 * "Until" chooses "Until a time…" in the list beside it, so the two never disagree. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var jump = event.target.closest && event.target.closest("#mute-jump");
    var form = document.getElementById("mute-now");
    if (!jump || !form) {
      return;
    }
    event.preventDefault();
    form.open = true;
    form.scrollIntoView({ block: "start" });
    var first = form.querySelector("select, input:not([type=hidden])");
    if (first) {
      first.focus();
    }
  });

  document.addEventListener("input", function (event) {
    if (event.target.name !== "mute-until" || !event.target.value) {
      return;
    }
    var length = event.target.form && event.target.form.elements["mute-length"];
    if (length) {
      length.value = "until";
    }
  });
})();
