// Counts down to the reserve routine's automatic activation; the server-rendered text stays without JavaScript.
(() => {
  const update = () => {
    for (const el of document.querySelectorAll("time[data-countdown]")) {
      const left = Math.max(0, Math.floor((Date.parse(el.getAttribute("datetime")) - Date.now()) / 1000));
      const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = `${h} h ${String(m).padStart(2, "0")} min ${String(s).padStart(2, "0")} s`;
    }
  };
  document.addEventListener("DOMContentLoaded", () => {
    update();
    setInterval(update, 1000);
    // Keep a status page left open fresh, unless someone is typing in the subscription form.
    setInterval(() => { if (!document.activeElement.closest("form")) location.reload(); }, 60000);
  });
})();
