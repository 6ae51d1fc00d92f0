// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.submit();
});

// "Beräkna antal" as the prescriber types: the server computes (the same as the button does without
// JavaScript) and the quantities show before "Lägg till rad".
let calculation;
document.addEventListener("input", (event) => {
  const form = event.target.closest("form[data-calculate]");
  if (!form) return;
  clearTimeout(calculation);
  calculation = setTimeout(async () => {
    const data = new FormData(form);
    data.set("action", "calculate");
    // Not form.action: the buttons named "action" shadow that property.
    const url = form.getAttribute("action") || window.location.href.split("#")[0];
    const response = await fetch(url, { method: "POST", body: data, credentials: "same-origin" });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const slot = form.querySelector(form.dataset.calculate);
    const fresh = page.querySelector(form.dataset.calculate);
    if (slot && fresh) slot.innerHTML = fresh.innerHTML;
  }, 350);
});

// A choice that narrows another list (product group → subgroups); without JavaScript the server narrows it.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-narrows]");
  if (!select) return;
  const narrowed = document.querySelector(select.dataset.narrows);
  for (const option of narrowed.querySelectorAll("option[data-group]")) {
    option.hidden = Boolean(select.value) && option.dataset.group !== select.value;
    if (option.hidden && option.selected) narrowed.value = "";
  }
});
