// List pages: row selection for the bulk actions ("select all on this page", the count, buttons enabled
// only with a selection). Works on any list rendered by templates/lists/results.html.
(function () {
  "use strict";

  function boxes(form) {
    // Phones show cards, wider screens the table: count each row once, from the visible one.
    return Array.prototype.filter.call(
      document.querySelectorAll('input[data-row-select][form="' + form.id + '"]'),
      function (box) { return box.offsetParent !== null; }
    );
  }

  function refresh(form) {
    const all = boxes(form);
    const chosen = all.filter(function (box) { return box.checked; });
    const count = form.querySelector("[data-selection-count]");
    if (count) {
      count.textContent = chosen.length
        ? chosen.length + " selected"
        : count.dataset.emptyText || count.textContent;
    }
    form.classList.toggle("has-selection", chosen.length > 0);
    form.querySelectorAll("[data-needs-selection]").forEach(function (button) {
      button.disabled = chosen.length === 0;
    });
    document.querySelectorAll("[data-select-all]").forEach(function (master) {
      master.checked = all.length > 0 && chosen.length === all.length;
      master.indeterminate = chosen.length > 0 && chosen.length < all.length;
    });
  }

  function setUp(root) {
    const form = (root.querySelector && root.querySelector("#bulk-form")) || document.getElementById("bulk-form");
    if (!form) return;
    const count = form.querySelector("[data-selection-count]");
    if (count && !count.dataset.emptyText) count.dataset.emptyText = count.textContent;
    refresh(form);
  }

  document.addEventListener("change", function (evt) {
    const form = document.getElementById("bulk-form");
    if (!form) return;
    if (evt.target.matches("[data-select-all]")) {
      boxes(form).forEach(function (box) { box.checked = evt.target.checked; });
      refresh(form);
    } else if (evt.target.matches("[data-row-select]")) {
      refresh(form);
    }
  });

  htmx.onLoad(setUp);
})();
