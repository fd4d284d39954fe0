// cdpcrm front-end glue: htmx error toasts, closing the search dropdown, focus handling.
(function () {
  "use strict";

  function toast(message, kind) {
    const container = document.getElementById("toasts");
    if (!container) return;
    const el = document.createElement("div");
    el.className = "toast align-items-center text-bg-" + (kind || "danger") + " border-0";
    el.setAttribute("role", "alert");
    el.setAttribute("aria-live", "assertive");
    el.innerHTML = '<div class="d-flex"><div class="toast-body"></div>' +
      '<button type="button" class="btn-close btn-close-white me-2 m-auto" data-bs-dismiss="toast" aria-label="Close"></button></div>';
    el.querySelector(".toast-body").textContent = message;
    container.appendChild(el);
    new bootstrap.Toast(el, { delay: 6000 }).show();
  }
  window.cdpcrmToast = toast;

  document.body.addEventListener("htmx:responseError", function (evt) {
    const xhr = evt.detail.xhr;
    let message = xhr.getResponseHeader("X-Error-Message");
    if (!message) {
      message = xhr.status === 403 ? "You don't have permission to do that." : "Something went wrong (" + xhr.status + "). Please try again.";
    }
    toast(message, "danger");
  });
  document.body.addEventListener("htmx:sendError", function () {
    toast("The server could not be reached. Check your connection and try again.", "danger");
  });
  // Server-sent toasts: HX-Trigger: {"toast": {"message": "...", "kind": "success"}}
  document.body.addEventListener("toast", function (evt) {
    toast(evt.detail.message, evt.detail.kind || "success");
  });

  // <form data-confirm="Question?"> asks before it is sent.
  document.addEventListener("submit", function (evt) {
    const question = evt.target.dataset && evt.target.dataset.confirm;
    if (question && !window.confirm(question)) evt.preventDefault();
  });

  // <button data-copy="#selector"> copies the value (or text) of that element to the clipboard.
  document.addEventListener("click", function (evt) {
    const button = evt.target.closest && evt.target.closest("[data-copy]");
    if (!button) return;
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    const text = "value" in source ? source.value : source.textContent;
    const done = function () { toast("Copied to the clipboard.", "success"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { toast("Select the text and copy it with Ctrl+C.", "warning"); });
    } else {
      if (source.select) source.select();
      try { document.execCommand("copy"); done(); } catch (e) { toast("Select the text and copy it with Ctrl+C.", "warning"); }
    }
  });

  // <select data-autosubmit> submits its form when changed (report filters without a button).
  document.addEventListener("change", function (evt) {
    if (evt.target.matches && evt.target.matches("[data-autosubmit]") && evt.target.form) evt.target.form.submit();
  });

  document.addEventListener("click", function (evt) {
    const results = document.getElementById("search-results");
    if (results && !evt.target.closest(".global-search")) results.innerHTML = "";
  });
  // Search results: arrow keys move from the box through the hits and back; Escape closes them.
  function searchOptions() {
    const results = document.getElementById("search-results");
    return results ? Array.prototype.slice.call(results.querySelectorAll("[role=option]")) : [];
  }
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "ArrowDown" && evt.key !== "ArrowUp") return;
    const search = document.getElementById("global-search");
    const options = searchOptions();
    if (!search || !options.length) return;
    const index = options.indexOf(document.activeElement);
    if (evt.target !== search && index === -1) return;
    evt.preventDefault();
    let next = evt.key === "ArrowDown" ? index + 1 : index - 1;
    if (index === -1) next = evt.key === "ArrowDown" ? 0 : options.length - 1;
    options.forEach(function (option) { option.setAttribute("aria-selected", "false"); });
    if (next < 0 || next >= options.length) { search.focus(); return; }
    options[next].setAttribute("aria-selected", "true");
    options[next].focus();
  });
  document.addEventListener("keydown", function (evt) {
    const results = document.getElementById("search-results");
    if (evt.key === "Escape" && results && results.contains(document.activeElement)) {
      const search = document.getElementById("global-search");
      if (search) search.focus();
    }
    if (evt.key === "Escape" && results) results.innerHTML = "";
    if (evt.key === "/" && !evt.target.closest("input, textarea, select, [contenteditable]")) {
      const search = document.getElementById("global-search");
      if (search) { evt.preventDefault(); search.focus(); }
    }
  });
})();
