// The alert form's live parts. Delegated from the document: "Send test alert" swaps the
// form body, and these keep working on the new one.
(() => {
  const byId = (id) => document.getElementById(id);

  // The "Fewer than" help says the number and window as typed (AlertForm.*_words).
  function sayCondition() {
    const form = byId("alert-form-body");
    if (!form) return;
    const threshold = form.querySelector("[name=threshold]");
    const amount = form.querySelector("[name=window_minutes]");
    const unit = form.querySelector("[name=window_unit]");
    const n = threshold.value.trim();
    const events = /^\d+$/.test(n)
      ? `${Number(n).toLocaleString("en")} matching event${Number(n) === 1 ? "" : "s"}`
      : "the number of matching events";
    const w = amount.value.trim();
    const u = unit.value || "minutes";
    const window = /^\d+$/.test(w) ? `${Number(w)} ${Number(w) === 1 ? u.slice(0, -1) : u}` : "the window";
    for (const el of form.querySelectorAll("[data-says=threshold]")) el.textContent = events;
    for (const el of form.querySelectorAll("[data-says=window]")) el.textContent = window;
  }

  // Custom details: rows added and removed in place, the formset's count kept in step.
  function prepareDetails() {
    const add = byId("add-detail");
    if (!add) return;
    add.hidden = false;
    for (const row of document.querySelectorAll("#detail-rows .detail-row")) {
      row.querySelector(".delete-detail").hidden = true;
      row.querySelector(".remove-detail").hidden = false;
    }
    const total = byId("id_details-TOTAL_FORMS");
    const max = Number(byId("id_details-MAX_NUM_FORMS").value);
    add.disabled = Number(total.value) >= max;
  }

  function addDetail() {
    const total = byId("id_details-TOTAL_FORMS");
    const index = Number(total.value);
    const html = byId("detail-row-template").innerHTML.replaceAll("__prefix__", String(index));
    byId("detail-rows").insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    prepareDetails();
    byId(`id_details-${index}-key`)?.focus();
  }

  function removeDetail(button) {
    const row = button.closest(".detail-row");
    const box = row.querySelector("input[name$='-DELETE']");
    if (box) box.checked = true;
    row.hidden = true;
    byId("add-detail")?.focus();
  }

  // "Send test alert"'s question: the server's open <dialog>, made modal (focus kept in
  // it, Escape cancels); Cancel closes it here instead of asking the server.
  function showQuestion() {
    const dialog = byId("test-confirm");
    if (!dialog || !dialog.open || dialog.matches(":modal")) return;
    dialog.close();
    dialog.showModal();
  }

  function closeQuestion(event, button) {
    event.preventDefault();
    const dialog = button.closest("dialog");
    dialog.close();
    dialog.remove();
    document.querySelector("#alert-form-body .test-alert button")?.focus();
  }

  document.addEventListener("click", (event) => {
    if (!(event.target instanceof Element)) return;
    const cancel = event.target.closest("[data-close-dialog]");
    if (cancel) closeQuestion(event, cancel);
    if (event.target.closest("#add-detail")) addDetail();
    const remove = event.target.closest(".remove-detail");
    if (remove) removeDetail(remove);
  });
  document.addEventListener("input", (event) => {
    if (event.target instanceof Element && event.target.closest("#condition")) sayCondition();
  });
  document.addEventListener("change", (event) => {
    if (event.target instanceof Element && event.target.closest("#condition")) sayCondition();
  });
  document.addEventListener("cancel", (event) => {
    if (event.target instanceof Element && event.target.id === "test-confirm") {
      closeQuestion(event, event.target);
    }
  }, true);
  const prepare = () => {
    sayCondition();
    prepareDetails();
    showQuestion();
  };
  document.addEventListener("DOMContentLoaded", prepare);
  document.addEventListener("htmx:afterSwap", prepare);
})();
