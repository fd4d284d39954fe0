// Journey page: the entered / converted / exited chart (its data comes from a json_script element).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var canvas = document.getElementById("journey-chart");
    var source = document.getElementById("journey-over-time");
    if (!canvas || !source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [
          {label: "Entered", data: data.entered, borderColor: "#0d6efd", tension: 0.2},
          {label: "Converted", data: data.converted, borderColor: "#198754", tension: 0.2},
          {label: "Exited", data: data.exited, borderColor: "#6c757d", tension: 0.2},
        ],
      },
      options: {maintainAspectRatio: false, plugins: {legend: {position: "bottom"}}, scales: {y: {beginAtZero: true, ticks: {precision: 0}}}},
    });
  });
})();
