// The segment page's daily size chart, drawn from the JSON the page embeds (#size-data).
(function () {
  "use strict";
  const data = document.getElementById("size-data");
  const canvas = document.getElementById("size-chart");
  if (!data || !canvas || typeof Chart === "undefined") return;
  const rows = JSON.parse(data.textContent);
  new Chart(canvas, {
    type: "line",
    data: {labels: rows.map(r => r.day), datasets: [{label: "Members", data: rows.map(r => r.size), tension: 0.2, fill: true}]},
    options: {plugins: {legend: {display: false}}, scales: {y: {beginAtZero: true, ticks: {precision: 0}}}}
  });
})();
