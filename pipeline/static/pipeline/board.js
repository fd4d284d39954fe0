// Deals board: drag a card to another column; the move is POSTed with htmx to the deal_move service.
// Refused moves are reverted (the server's message shows as a toast); Lost columns ask for the reason first.
(function () {
  "use strict";

  let pendingLost = null;

  function revert(move) {
    const reference = move.from.children[move.oldIndex] || null;
    move.from.insertBefore(move.item, reference);
  }

  function boardFilters() {
    const values = {};
    const form = document.getElementById("board-filters");
    if (!form) return values;
    new FormData(form).forEach(function (value, key) {
      if (key !== "pipeline") values[key] = value;
    });
    return values;
  }

  function send(move, lostReason) {
    const item = move.item;
    const values = Object.assign(boardFilters(), { stage: move.toStage, lost_reason: lostReason || "" });
    item.classList.add("deal-card-saving");
    item.addEventListener("htmx:afterRequest", function (evt) {
      if (!evt.detail.successful) {
        item.classList.remove("deal-card-saving");
        revert(move);
      }
    }, { once: true });
    htmx.ajax("POST", item.dataset.moveUrl, { source: item, target: item, swap: "outerHTML", values: values });
  }

  function askLostReason(move, stageName) {
    const modalEl = document.getElementById("lost-modal");
    pendingLost = move;
    document.getElementById("lost-deal-title").textContent = move.item.dataset.title || "";
    document.getElementById("lost-stage-name").textContent = stageName;
    document.getElementById("lost-reason").value = "";
    const modal = bootstrap.Modal.getOrCreateInstance(modalEl);
    modal.show();
  }

  function setUpLostModal() {
    const modalEl = document.getElementById("lost-modal");
    if (!modalEl || modalEl.dataset.ready) return;
    modalEl.dataset.ready = "1";
    modalEl.addEventListener("shown.bs.modal", function () { document.getElementById("lost-reason").focus(); });
    modalEl.addEventListener("hidden.bs.modal", function () {
      if (pendingLost) { revert(pendingLost); pendingLost = null; }  // cancelled: the card goes back
    });
    document.getElementById("lost-form").addEventListener("submit", function (evt) {
      evt.preventDefault();
      const reason = document.getElementById("lost-reason").value.trim();
      if (!reason || !pendingLost) return;
      const move = pendingLost;
      pendingLost = null;
      bootstrap.Modal.getOrCreateInstance(modalEl).hide();
      send(move, reason);
    });
  }

  function init(root) {
    const board = root.querySelector ? (root.matches && root.matches(".board") ? root : root.querySelector(".board")) : null;
    if (!board || typeof Sortable === "undefined") return;
    const canMove = board.dataset.canMove === "1";
    board.querySelectorAll(".board-list").forEach(function (list) {
      if (list.dataset.sortable) return;
      list.dataset.sortable = "1";
      Sortable.create(list, {
        group: "deals",
        sort: false,
        draggable: ".deal-card",
        animation: 150,
        forceFallback: true,
        fallbackOnBody: true,
        fallbackTolerance: 3,
        ghostClass: "deal-card-ghost",
        disabled: !canMove,
        onEnd: function (evt) {
          if (evt.from === evt.to) return;
          const column = evt.to.closest(".board-column");
          const move = { item: evt.item, from: evt.from, oldIndex: evt.oldIndex, toStage: evt.to.dataset.stage };
          if (column.dataset.kind === "lost") askLostReason(move, column.dataset.stageName);
          else send(move, "");
        },
      });
    });
  }

  setUpLostModal();
  htmx.onLoad(function (elt) {
    setUpLostModal();
    init(elt === document.body ? document : elt);
    if (elt !== document.body && elt.closest && elt.closest("#board")) init(document.getElementById("board"));
  });
})();
