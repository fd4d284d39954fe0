// Type-ahead record pickers: every <select data-picker="<search url>"> becomes a Tom Select box that asks
// the server (?q=) for at most 20 matches as the user types. The page holds only the selected option.
// Keyboard: type to search, arrow keys to move, Enter to pick, Backspace/Delete to clear.
(function () {
  "use strict";

  function escape(text) {
    const div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function line(data) {
    const sub = data.sub ? '<div class="small text-muted text-truncate picker-sub">' + escape(data.sub) + "</div>" : "";
    return '<div class="picker-option"><div class="text-truncate">' + escape(data.text) + "</div>" + sub + "</div>";
  }

  function enhance(select) {
    if (select.tomselect || typeof TomSelect === "undefined") return;
    const url = select.dataset.picker;
    const emptyOption = select.querySelector('option[value=""]');
    // Values the server answered per query, in its order (exact, then prefix, then contains matches).
    const answers = {};
    const settings = {
      valueField: "value",
      labelField: "text",
      searchField: [],
      maxOptions: 20,
      loadThrottle: 200,
      preload: "focus",
      allowEmptyOption: !!emptyOption,
      placeholder: select.dataset.placeholder || "Type to search…",
      plugins: emptyOption ? ["clear_button"] : [],
      // Show the server's matches for this very query, in the server's order.
      score: function (search) {
        const wanted = answers[search] || [];
        const needle = search.toLowerCase();
        return function (item) {
          // Fixed choices of a filter ("Me", "Unassigned") stay on offer while they match the typing.
          if (item.static) return String(item.text).toLowerCase().indexOf(needle) === -1 ? 0 : 2;
          const index = wanted.indexOf(item.value);
          return index === -1 ? 0 : 1 - index / 1000;
        };
      },
      load: function (query, callback) {
        const separator = url.indexOf("?") === -1 ? "?" : "&";
        fetch(url + separator + "q=" + encodeURIComponent(query), {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        })
          .then(function (response) { return response.ok ? response.json() : { results: [] }; })
          .then(function (data) {
            const results = data.results || [];
            answers[query] = results.map(function (result) { return result.value; });
            callback(results);
          })
          .catch(function () { callback(); });
      },
      render: {
        option: function (data) { return line(data); },
        item: function (data) { return '<div title="' + escape(data.sub || "") + '">' + escape(data.text) + "</div>"; },
        no_results: function () { return '<div class="no-results small text-muted">No match.</div>'; },
        loading: function () { return '<div class="spinner-border spinner-border-sm m-2" role="status" aria-label="Searching"></div>'; },
      },
    };
    new TomSelect(select, settings);
  }

  htmx.onLoad(function (root) {
    const scope = root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches("select[data-picker]")) enhance(scope);
    scope.querySelectorAll("select[data-picker]").forEach(enhance);
  });
})();
