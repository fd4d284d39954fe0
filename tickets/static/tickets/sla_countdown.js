// SLA badges count down live; a badge whose target passes turns into "Breached".
(function () {
  "use strict";
  var script = document.currentScript;
  var atRiskMs = Number((script && script.dataset.atRiskMinutes) || 60) * 60000;
  var looks = {
    running: ["text-bg-success", "bi-clock"],
    at_risk: ["text-bg-warning", "bi-alarm"],
    breached: ["text-bg-danger", "bi-exclamation-octagon"]
  };
  function fmt(ms) {
    var s = Math.floor(Math.abs(ms) / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + String(m).padStart(2, "0") + "m";
    return m + "m";
  }
  function tick() {
    document.querySelectorAll(".sla-badge[data-due]").forEach(function (badge) {
      var left = Number(badge.dataset.due) - Date.now();
      var state = left < 0 ? "breached" : (left <= atRiskMs ? "at_risk" : "running");
      var text = state === "breached" ? "Breached · " + fmt(left) + " over" : (state === "at_risk" ? fmt(left) + " left" : fmt(left));
      badge.className = "badge sla-badge " + looks[state][0];
      badge.dataset.slaState = state;
      var icon = badge.querySelector("i");
      if (icon) icon.className = "bi " + looks[state][1];
      var label = badge.querySelector(".sla-text");
      if (label) label.textContent = text;
    });
  }
  window.cdpcrmSlaTick = tick;
  setInterval(tick, 30000);
})();
