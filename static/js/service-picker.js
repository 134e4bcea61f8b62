// The service picker's ticks: a tick anywhere (a row of the list, or the "Selected" list)
// is one choice, kept in the "Selected" list, which is part of the Connect form and goes
// along with every search and page (hx-include), so nothing ticked is forgotten.
(() => {
  const form = document.getElementById("service-picker");
  if (!form) return;
  const list = document.getElementById("selected-list");
  const section = document.getElementById("picker-selected");
  const count = document.getElementById("picker-count");
  const connect = document.getElementById("picker-connect");

  const services = (n) => `${n} service${n === 1 ? "" : "s"}`;
  const same = (id) => document.querySelectorAll(`input[name=service][value="${CSS.escape(id)}"]`);
  const listed = (id) => list.querySelector(`input[value="${CSS.escape(id)}"]`);

  function show() {
    const n = list.querySelectorAll("input[name=service]:checked").length;
    count.textContent = n ? `${services(n)} selected` : "No services selected";
    connect.textContent = n ? `Connect ${services(n)}` : "Connect";
    section.hidden = list.querySelectorAll("input[name=service]").length === 0;
  }

  function add(box) {
    if (listed(box.value)) return;
    const item = document.createElement("li");
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "checkbox";
    input.name = "service";
    input.value = box.value;
    input.checked = true;
    label.append(input, ` ${box.dataset.name || box.value}`);
    if (box.dataset.teams) {
      const teams = document.createElement("small");
      teams.className = "muted";
      teams.textContent = box.dataset.teams;
      label.append(" ", teams);
    }
    item.append(label);
    list.append(item);
  }

  document.addEventListener("change", (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || box.name !== "service") return;
    // An untick leaves the name in the list, unticked, so a slip can be undone there.
    if (box.checked) add(box);
    for (const other of same(box.value)) other.checked = box.checked;
    show();
  });
  show();
})();
