// Deals board: drag a card to another column; the move is POSTed with htmx to the deal_move service.
// Refused moves are reverted (the server's message shows as a toast); Lost columns ask for the reason first.
// Dragging near the board's left or right edge (or a column's top or bottom) scrolls it, so every column
// can be reached at any window size; columns load more cards as their end scrolls into view (htmx).
(function () {
  "use strict";

  let pendingLost = null;

  // While a card is dragged, a pointer within EDGE px of the board's left or right edge scrolls the board
  // sideways, and one near a column's top or bottom scrolls that column, faster the closer it gets.
  const EDGE = 90;
  const MAX_SPEED = 28;
  const edgeScroll = {
    x: 0, y: 0, frame: 0, active: false,
    track: function (evt) {
      const point = evt.touches ? evt.touches[0] : evt;
      edgeScroll.x = point.clientX;
      edgeScroll.y = point.clientY;
    },
    speed: function (distance) { return distance >= EDGE ? 0 : Math.ceil(MAX_SPEED * (1 - distance / EDGE)); },
    step: function () {
      if (!edgeScroll.active) return;
      const board = document.querySelector(".board");
      if (board) {
        const rect = board.getBoundingClientRect();
        const right = Math.min(rect.right, window.innerWidth);
        const left = Math.max(rect.left, 0);
        if (edgeScroll.y >= rect.top && edgeScroll.y <= rect.bottom) {
          board.scrollLeft += edgeScroll.speed(right - edgeScroll.x) - edgeScroll.speed(edgeScroll.x - left);
        }
        const under = document.elementFromPoint(edgeScroll.x, edgeScroll.y);
        const list = under && under.closest ? under.closest(".board-list") : null;
        if (list) {
          const box = list.getBoundingClientRect();
          list.scrollTop += edgeScroll.speed(box.bottom - edgeScroll.y) - edgeScroll.speed(edgeScroll.y - box.top);
        }
      }
      edgeScroll.frame = window.requestAnimationFrame(edgeScroll.step);
    },
    start: function () {
      edgeScroll.active = true;
      document.addEventListener("mousemove", edgeScroll.track, true);
      document.addEventListener("touchmove", edgeScroll.track, true);
      edgeScroll.frame = window.requestAnimationFrame(edgeScroll.step);
    },
    stop: function () {
      edgeScroll.active = false;
      window.cancelAnimationFrame(edgeScroll.frame);
      document.removeEventListener("mousemove", edgeScroll.track, true);
      document.removeEventListener("touchmove", edgeScroll.track, true);
    },
  };

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
        scroll: false,  // edgeScroll below scrolls the board and the columns while a card is dragged
        onStart: function () { edgeScroll.start(); },
        ghostClass: "deal-card-ghost",
        disabled: !canMove,
        onEnd: function (evt) {
          edgeScroll.stop();
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
