// Forecast chart: weighted / committed / best case as bars, closed won as a line, per period.
(function () {
  "use strict";
  const canvas = document.getElementById("forecast-chart");
  const data = JSON.parse(document.getElementById("forecast-data").textContent);
  if (!canvas || typeof Chart === "undefined") return;
  const money = new Intl.NumberFormat(undefined, { style: "currency", currency: data.currency, maximumFractionDigits: 0 });
  new Chart(canvas, {
    data: {
      labels: data.labels,
      datasets: [
        { type: "bar", label: "Weighted", data: data.weighted, backgroundColor: "#0d6efd" },
        { type: "bar", label: "Committed", data: data.committed, backgroundColor: "#20c997" },
        { type: "bar", label: "Best case", data: data.best_case, backgroundColor: "#adb5bd" },
        { type: "line", label: "Closed won", data: data.won, borderColor: "#198754", backgroundColor: "#198754", tension: 0.2 },
      ],
    },
    options: {
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return money.format(v); } } } },
      plugins: { tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + money.format(ctx.parsed.y); } } } },
    },
  });
})();
