// Segment rule builder for the Django admin: edits the rule tree as nested groups and conditions and
// keeps the hidden JSON field in sync; suggestions and the size preview come from the segments app.
(function () {
  "use strict";

  const OP_LABELS = {eq: "is", neq: "is not", contains: "contains", starts_with: "starts with", in: "is one of",
    gt: ">", gte: "≥", lt: "<", lte: "≤", between: "is between", exists: "exists", before: "is before",
    after: "is after", within_last_days: "within the last (days)"};
  const COUNT_OPS = ["gte", "gt", "eq", "neq", "lt", "lte"];

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach((c) => c && node.appendChild(c));
    return node;
  }

  function select(options, value, attrs) {
    const node = el("select", attrs);
    options.forEach(([v, label]) => {
      const option = el("option", {value: v, text: label});
      if (String(v) === String(value)) option.selected = true;
      node.appendChild(option);
    });
    return node;
  }

  function parseScalar(text, type) {
    const t = (text || "").trim();
    if (type === "number" || (type === undefined && t !== "" && !isNaN(Number(t)))) {
      return t === "" || isNaN(Number(t)) ? t : Number(t);
    }
    if (type === "boolean") return t === "true";
    return t;
  }

  function show(value) {
    if (Array.isArray(value)) return value.join(", ");
    return value === undefined || value === null ? "" : String(value);
  }

  class Builder {
    constructor(root) {
      this.root = root;
      this.field = root.querySelector(".rule-builder-json");
      this.tree = root.querySelector(".rule-builder-tree");
      this.sentence = root.querySelector(".rule-builder-sentence");
      this.preview = root.querySelector(".rule-builder-preview");
      this.jsonView = root.querySelector(".rule-builder-json-view pre");
      this.info = {events: [], traits: [], ops_by_type: {text: ["eq"]}, crm_fields: {}, segments: []};
      this.propertyCache = {};
      let rule;
      try { rule = JSON.parse(this.field.value || "{}"); } catch (e) { rule = {all: []}; }
      if (!rule || (!rule.all && !rule.any)) rule = {all: rule && Object.keys(rule).length ? [rule] : []};
      this.initial = rule;
      root.querySelector(".rule-builder-preview-btn").addEventListener("click", () => this.runPreview());
      this.load().then(() => this.render());
    }

    async load() {
      try {
        const response = await fetch(this.root.dataset.suggestionsUrl, {credentials: "same-origin"});
        if (response.ok) this.info = await response.json();
      } catch (e) { /* the builder still works without suggestions */ }
      this.addDatalist("rb-events", this.info.events);
      this.addDatalist("rb-traits", this.info.traits.map((t) => t.name));
      this.addDatalist("rb-computed-traits", (this.info.computed_traits || []).map((t) => t.name));
    }

    addDatalist(id, values) {
      let list = document.getElementById(id);
      if (!list) { list = el("datalist", {id}); document.body.appendChild(list); }
      list.innerHTML = "";
      values.forEach((v) => list.appendChild(el("option", {value: v})));
    }

    async propertiesFor(eventName) {
      if (!eventName) return [];
      if (!this.propertyCache[eventName]) {
        const url = this.root.dataset.suggestionsUrl + "?event=" + encodeURIComponent(eventName);
        try {
          const response = await fetch(url, {credentials: "same-origin"});
          this.propertyCache[eventName] = response.ok ? (await response.json()).properties : [];
        } catch (e) { this.propertyCache[eventName] = []; }
      }
      return this.propertyCache[eventName];
    }

    render() {
      this.tree.innerHTML = "";
      this.tree.appendChild(this.groupNode(this.initial, true));
      this.sync();
    }

    changed() {
      this.sync();
      this.sentence.style.opacity = "0.5";  // stale until the next estimate
    }

    sync() {
      const rule = this.serialize(this.tree.firstElementChild);
      this.field.value = JSON.stringify(rule);
      this.jsonView.textContent = JSON.stringify(rule, null, 2);
    }

    // --- nodes ------------------------------------------------------------------------------------------

    wrapNot(body, negated, removable) {
      const box = el("div", {class: "rb-node"});
      const bar = el("div", {class: "rb-bar"});
      const not = el("label", {class: "rb-not"}, [el("input", {type: "checkbox", class: "rb-not-box", onchange: () => this.changed()})]);
      not.appendChild(document.createTextNode(" NOT"));
      not.querySelector("input").checked = !!negated;
      bar.appendChild(not);
      if (removable) {
        bar.appendChild(el("button", {type: "button", class: "rb-remove", title: "Remove", "aria-label": "Remove",
          text: "✕", onclick: () => { box.remove(); this.changed(); }}));
      }
      box.appendChild(bar);
      box.appendChild(body);
      return box;
    }

    nodeFor(rule, removable) {
      let negated = false;
      while (rule && rule.not) { negated = !negated; rule = rule.not; }
      if (rule && (rule.all || rule.any)) return this.groupNode(rule, false, negated, removable);
      return this.conditionNode(rule || {trait: "", op: "eq", value: ""}, negated, removable);
    }

    groupNode(rule, isRoot, negated, removable) {
      const mode = rule.any ? "any" : "all";
      const children = rule[mode] || [];
      const group = el("div", {class: "rb-group", "data-kind": "group"});
      const header = el("div", {class: "rb-group-head"}, [
        el("span", {text: "Match "}),
        select([["all", "ALL of"], ["any", "ANY of"]], mode, {class: "rb-mode", "aria-label": "Group mode", onchange: () => this.changed()}),
        el("span", {text: " these:"}),
      ]);
      const list = el("div", {class: "rb-children"});
      children.forEach((child) => list.appendChild(this.nodeFor(child, true)));
      const actions = el("div", {class: "rb-actions"}, [
        el("button", {type: "button", class: "button rb-add-condition", text: "+ Condition",
          onclick: () => { list.appendChild(this.conditionNode({trait: "", op: "eq", value: ""}, false, true)); this.changed(); }}),
        el("button", {type: "button", class: "button rb-add-group", text: "+ Group",
          onclick: () => { list.appendChild(this.groupNode({all: []}, false, false, true)); this.changed(); }}),
      ]);
      group.append(header, list, actions);
      if (isRoot) return group;
      return this.wrapNot(group, negated, removable);
    }

    conditionNode(rule, negated, removable) {
      const kind = rule.event !== undefined ? "event" : rule.crm !== undefined ? "crm" : rule.segment !== undefined ? "segment"
        : rule.computed_trait !== undefined ? "computed_trait" : "trait";
      const cond = el("div", {class: "rb-condition", "data-kind": "condition"});
      const kindSelect = select([["trait", "Trait"], ["computed_trait", "Computed trait"], ["event", "Event"], ["crm", "CRM fact"], ["segment", "In segment"]], kind,
        {class: "rb-kind", "aria-label": "Condition kind"});
      const body = el("span", {class: "rb-body"});
      kindSelect.addEventListener("change", () => {
        const fresh = {trait: {trait: "", op: "eq", value: ""}, computed_trait: {computed_trait: "", op: "gte", value: ""},
          event: {event: ""}, segment: {segment: ""},
          crm: {crm: Object.keys(this.info.crm_fields)[0] || "", op: "eq", value: ""}}[kindSelect.value];
        this.fillCondition(body, kindSelect.value, fresh);
        this.changed();
      });
      cond.append(kindSelect, body);
      this.fillCondition(body, kind, rule);
      return this.wrapNot(cond, negated, removable);
    }

    fillCondition(body, kind, rule) {
      body.innerHTML = "";
      body.dataset.kind = kind;
      if (kind === "trait" || kind === "computed_trait") {
        const computed = kind === "computed_trait";
        const known = computed ? (this.info.computed_traits || []) : this.info.traits;
        const name = el("input", {class: "rb-trait", list: computed ? "rb-computed-traits" : "rb-traits",
          placeholder: computed ? "computed trait" : "trait name", value: (computed ? rule.computed_trait : rule.trait) || "",
          "aria-label": computed ? "Computed trait name" : "Trait name"});
        const comparison = el("span", {class: "rb-comparison"});
        const typeOf = () => (known.find((t) => t.name === name.value) || {}).type || (computed ? "number" : "text");
        name.addEventListener("change", () => {
          if (typeOf() !== comparison.dataset.type) this.fillComparison(comparison, typeOf(), {op: "", value: ""});
          this.changed();
        });
        body.append(name, comparison);
        this.fillComparison(comparison, this.typeFor(rule, typeOf()), rule);
      } else if (kind === "event") {
        const name = el("input", {class: "rb-event", list: "rb-events", placeholder: "event name", value: rule.event || "",
          "aria-label": "Event name"});
        const where = el("div", {class: "rb-where"});
        const count = rule.count || {op: "gte", value: 1};
        const unit = rule.within ? Object.keys(rule.within)[0] : "days";
        const amount = rule.within ? rule.within[unit] : "";
        const addWhere = (w) => where.appendChild(this.whereRow(name, w));
        (rule.where || []).forEach(addWhere);
        body.append(
          name,
          el("span", {text: " count "}),
          select(COUNT_OPS.map((o) => [o, OP_LABELS[o]]), count.op, {class: "rb-count-op", "aria-label": "Count comparison"}),
          el("input", {type: "number", min: "0", class: "rb-count", value: count.value, "aria-label": "Times", style: "width:5em"}),
          el("span", {text: " times in the last "}),
          el("input", {type: "number", min: "1", class: "rb-within", value: amount, placeholder: "any time", "aria-label": "Window length", style: "width:6em"}),
          select([["days", "days"], ["hours", "hours"], ["minutes", "minutes"]], unit, {class: "rb-unit", "aria-label": "Window unit"}),
          where,
          el("button", {type: "button", class: "button rb-add-where", text: "+ property filter",
            onclick: () => { addWhere({property: "", op: "eq", value: ""}); this.changed(); }}),
        );
        if (this.root.dataset.journey) {  // journeys only: count events since the profile entered the journey
          const since = el("label", {class: "rb-since"}, [el("input", {type: "checkbox", class: "rb-since-box"})]);
          since.appendChild(document.createTextNode(" since enrolment"));
          since.querySelector("input").checked = !!rule.since_enrolment;
          body.insertBefore(since, where);
        }
        body.querySelectorAll("input, select").forEach((input) => input.addEventListener("change", () => this.changed()));
      } else if (kind === "crm") {
        const fields = this.info.crm_fields;
        const field = select(Object.entries(fields).map(([k, v]) => [k, v.label]), rule.crm, {class: "rb-crm", "aria-label": "CRM field"});
        const comparison = el("span", {class: "rb-comparison"});
        const fill = (r) => {
          const spec = fields[field.value] || {ops: ["eq"], type: "text"};
          this.fillComparison(comparison, spec.type, r, spec.ops, spec.choices);
        };
        field.addEventListener("change", () => { fill({op: "", value: ""}); this.changed(); });
        body.append(field, comparison);
        fill(rule);
      } else {
        body.append(select([["", "— choose a segment —"]].concat(this.info.segments.map((s) => [s.id, s.name])), rule.segment,
          {class: "rb-segment", "aria-label": "Segment", onchange: () => this.changed()}));
      }
    }

    typeFor(rule, fallback) {
      if (["before", "after", "within_last_days"].includes(rule.op)) return "date";
      if (typeof rule.value === "number" || ["gt", "gte", "lt", "lte", "between"].includes(rule.op)) return "number";
      if (typeof rule.value === "boolean") return "boolean";
      return fallback;
    }

    whereRow(eventInput, rule) {
      const row = el("div", {class: "rb-where-row"});
      const prop = el("input", {class: "rb-property", placeholder: "property", value: rule.property || "", "aria-label": "Property"});
      const comparison = el("span", {class: "rb-comparison"});
      const listId = "rb-props-" + Math.random().toString(36).slice(2);
      prop.setAttribute("list", listId);
      const refresh = async () => {
        const props = await this.propertiesFor(eventInput.value);
        this.addDatalist(listId, props.map((p) => p.name));
        return props;
      };
      prop.addEventListener("focus", refresh);
      prop.addEventListener("change", async () => {
        const props = await refresh();
        const type = (props.find((p) => p.name === prop.value) || {}).type || "text";
        if (type !== comparison.dataset.type) this.fillComparison(comparison, type, {op: "", value: ""});
        this.changed();
      });
      row.append(el("span", {text: "where "}), prop, comparison,
        el("button", {type: "button", class: "rb-remove", text: "✕", "aria-label": "Remove filter", onclick: () => { row.remove(); this.changed(); }}));
      this.fillComparison(comparison, this.typeFor(rule, "text"), rule);
      return row;
    }

    fillComparison(span, type, rule, ops, choices) {
      span.innerHTML = "";
      span.dataset.type = type;
      const allowed = ops || this.info.ops_by_type[type] || Object.keys(OP_LABELS);
      const op = allowed.includes(rule.op) ? rule.op : allowed[0];
      const opSelect = select(allowed.map((o) => [o, OP_LABELS[o] || o]), op, {class: "rb-op", "aria-label": "Operator"});
      const valueBox = el("span", {class: "rb-value"});
      const drawValue = () => {
        valueBox.innerHTML = "";
        const current = opSelect.value === op ? rule.value : undefined;
        if (opSelect.value === "exists" || type === "boolean") {
          valueBox.appendChild(select([["true", "true"], ["false", "false"]], current === false ? "false" : "true", {class: "rb-input", "aria-label": "Value"}));
        } else if (opSelect.value === "between") {
          const [low, high] = Array.isArray(current) ? current : ["", ""];
          valueBox.append(el("input", {type: "number", class: "rb-input rb-low", value: low, "aria-label": "From", style: "width:6em"}),
            el("span", {text: " and "}), el("input", {type: "number", class: "rb-input rb-high", value: high, "aria-label": "To", style: "width:6em"}));
        } else if (choices && opSelect.value !== "in") {
          valueBox.appendChild(select(choices.map((c) => [c, c]), current, {class: "rb-input", "aria-label": "Value"}));
        } else {
          const inputType = type === "number" && opSelect.value !== "in" ? "number" : type === "date" && opSelect.value !== "within_last_days" ? "date" : opSelect.value === "within_last_days" ? "number" : "text";
          valueBox.appendChild(el("input", {type: inputType, class: "rb-input", value: show(current), "aria-label": "Value",
            placeholder: opSelect.value === "in" ? "a, b, c" : ""}));
        }
        valueBox.querySelectorAll("input, select").forEach((input) => input.addEventListener("change", () => this.changed()));
        valueBox.querySelectorAll("input").forEach((input) => input.addEventListener("input", () => this.changed()));
      };
      opSelect.addEventListener("change", () => { drawValue(); this.changed(); });
      span.append(opSelect, valueBox);
      drawValue();
    }

    // --- serialisation ---------------------------------------------------------------------------------

    serialize(node) {
      if (node.classList.contains("rb-node")) {
        const negated = node.querySelector(":scope > .rb-bar .rb-not-box").checked;
        const inner = this.serialize(node.children[1]);
        return negated ? {not: inner} : inner;
      }
      if (node.dataset.kind === "group") {
        const mode = node.querySelector(":scope > .rb-group-head .rb-mode").value;
        const children = Array.from(node.querySelector(":scope > .rb-children").children).map((c) => this.serialize(c));
        return {[mode]: children};
      }
      const body = node.querySelector(":scope > .rb-body");
      const kind = body.dataset.kind;
      if (kind === "trait" || kind === "computed_trait") {
        return {[kind]: body.querySelector(".rb-trait").value.trim(), ...this.comparison(body.querySelector(":scope > .rb-comparison"))};
      }
      if (kind === "crm") {
        return {crm: body.querySelector(".rb-crm").value, ...this.comparison(body.querySelector(":scope > .rb-comparison"))};
      }
      if (kind === "segment") {
        const v = body.querySelector(".rb-segment").value;
        return {segment: v === "" ? null : Number(v)};
      }
      const rule = {event: body.querySelector(".rb-event").value.trim()};
      const where = Array.from(body.querySelectorAll(".rb-where-row")).map((row) => ({
        property: row.querySelector(".rb-property").value.trim(), ...this.comparison(row.querySelector(".rb-comparison"))}));
      if (where.length) rule.where = where;
      const countOp = body.querySelector(".rb-count-op").value;
      const count = Number(body.querySelector(".rb-count").value || "1");
      if (!(countOp === "gte" && count === 1)) rule.count = {op: countOp, value: count};
      const within = body.querySelector(".rb-within").value;
      if (within !== "") rule.within = {[body.querySelector(".rb-unit").value]: Number(within)};
      const since = body.querySelector(".rb-since-box");
      if (since && since.checked) rule.since_enrolment = true;
      return rule;
    }

    comparison(span) {
      const type = span.dataset.type;
      const op = span.querySelector(".rb-op").value;
      const inputs = span.querySelectorAll(".rb-input");
      if (op === "between") return {op, value: [Number(inputs[0].value), Number(inputs[1].value)]};
      const raw = inputs[0] ? inputs[0].value : "";
      if (op === "exists" || type === "boolean") return {op, value: raw === "true"};
      if (op === "in") {
        return {op, value: raw.split(",").map((v) => v.trim()).filter((v) => v !== "").map((v) => parseScalar(v, type === "number" ? "number" : "text"))};
      }
      if (op === "within_last_days") return {op, value: Number(raw)};
      return {op, value: parseScalar(raw, type === "number" ? "number" : "text")};
    }

    // --- preview ---------------------------------------------------------------------------------------

    async runPreview() {
      this.sync();
      this.preview.textContent = "Estimating…";
      const csrf = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value;
      try {
        const response = await fetch(this.root.dataset.previewUrl, {
          method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
          body: JSON.stringify({rule: JSON.parse(this.field.value), segment_id: Number(this.root.dataset.segmentId) || null}),
        });
        const data = await response.json();
        this.preview.innerHTML = "";
        if (!response.ok) {
          const list = el("ul", {class: "errorlist"});
          (data.errors || []).forEach((e) => list.appendChild(el("li", {text: (e.path || "rule") + ": " + e.message})));
          this.preview.appendChild(list);
          return;
        }
        this.sentence.textContent = data.sentence;
        this.sentence.style.opacity = "1";
        this.preview.appendChild(el("p", {class: "rb-count-result", text: "About " + data.count.toLocaleString() + " matching profile" + (data.count === 1 ? "" : "s") + " right now."}));
        if (data.sample.length) {
          const list = el("ul", {class: "rb-sample"});
          data.sample.forEach((p) => list.appendChild(el("li", {text: p.label + " (#" + p.id + ")"})));
          this.preview.appendChild(list);
        }
      } catch (e) {
        this.preview.textContent = "The estimate failed; try again.";
      }
    }
  }

  // Other builders (the journey builder) mount rule builders they create: window.cdpcrmRuleBuilder.mount(root).
  window.cdpcrmRuleBuilder = {mount: (root) => new Builder(root)};

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".rule-builder:not([data-manual])").forEach((root) => new Builder(root));
  });
})();
