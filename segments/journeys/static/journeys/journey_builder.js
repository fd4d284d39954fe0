// Journey builder for the Django admin: trigger, steps (waits, branches, splits, actions), goal and exit.
// Conditions use the segment rule builder (window.cdpcrmRuleBuilder); the hidden JSON field is written on
// every change and before the form is submitted, and the server validates it (errors name the step).
(function () {
  "use strict";

  const UNITS = [["minutes", "minutes"], ["hours", "hours"], ["days", "days"]];
  const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

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
      if (String(v) === String(value === null || value === undefined ? "" : value)) option.selected = true;
      node.appendChild(option);
    });
    return node;
  }

  function field(label, control) {
    return el("label", {class: "jb-field"}, [el("span", {text: label}), control]);
  }

  class JourneyBuilder {
    constructor(root) {
      this.root = root;
      this.field = root.querySelector(".journey-builder-json");
      this.choices = JSON.parse(document.getElementById(root.dataset.choicesId).textContent);
      let definition;
      try { definition = JSON.parse(this.field.value || "{}"); } catch (e) { definition = {}; }
      this.definition = definition && typeof definition === "object" ? definition : {};
      this.counter = 0;
      this.render();
      root.addEventListener("change", () => setTimeout(() => this.sync(), 0));
      root.addEventListener("input", () => setTimeout(() => this.sync(), 0));
      const form = root.closest("form");
      if (form) form.addEventListener("submit", () => this.sync());
    }

    ruleBuilder(rule, label) {
      const box = el("div", {class: "rule-builder", "data-manual": "1", "data-journey": "1",
        "data-suggestions-url": this.root.dataset.suggestionsUrl, "data-preview-url": this.root.dataset.previewUrl,
        "data-segment-id": "", "aria-label": label});
      const json = el("textarea", {class: "rule-builder-json", hidden: true});
      json.value = JSON.stringify(rule && (rule.all || rule.any) ? rule : {all: rule ? [rule] : []});
      box.append(json, el("div", {class: "rule-builder-tree", "aria-label": label}), el("p", {class: "rule-builder-sentence"}),
        el("div", {class: "rule-builder-preview-bar"}, [
          el("button", {type: "button", class: "button rule-builder-preview-btn", text: "Estimate size"}),
          el("details", {class: "rule-builder-json-view"}, [el("summary", {text: "Show JSON"}), el("pre")]),
        ]), el("div", {class: "rule-builder-preview"}));
      window.cdpcrmRuleBuilder.mount(box);
      return box;
    }

    ruleValue(box) {
      try { return JSON.parse(box.querySelector(".rule-builder-json").value); } catch (e) { return {all: []}; }
    }

    render() {
      this.root.querySelector(".jb-body").innerHTML = "";
      const body = this.root.querySelector(".jb-body");
      this.triggerBox = el("fieldset", {class: "jb-trigger"}, [el("legend", {text: "When does a profile enter?"})]);
      this.stepsBox = el("ol", {class: "jb-steps", "aria-label": "Steps"});
      const add = select(this.choices.step_types, "wait", {class: "jb-new-type", "aria-label": "Type of the new step"});
      const addBar = el("div", {class: "jb-add"}, [add, el("button", {type: "button", class: "button jb-add-step", text: "+ Add step",
        onclick: () => { this.stepsBox.appendChild(this.stepNode({id: this.freshId(add.value), type: add.value})); this.refreshTargets(); this.sync(); }})]);
      this.goalBox = this.optionalRule("goal", "Goal: end the journey as converted when", this.definition.goal);
      this.exitBox = this.optionalRule("exit", "Exit: take the profile out when", this.definition.exit);
      body.append(this.triggerBox, el("h3", {text: "Steps (the first step is where profiles start)"}), this.stepsBox, addBar, this.goalBox, this.exitBox);
      this.fillTrigger(this.definition.trigger || {type: "event", event: ""});
      (this.definition.steps || []).forEach((step) => this.stepsBox.appendChild(this.stepNode(step)));
      this.refreshTargets();
      this.sync();
    }

    optionalRule(key, label, rule) {
      const box = el("fieldset", {class: `jb-${key}`}, [el("legend", {text: label.split(":")[0]})]);
      const toggle = el("input", {type: "checkbox", class: `jb-${key}-on`});
      toggle.checked = !!rule;
      const holder = el("div", {class: "jb-rule-holder"});
      const show = () => {
        holder.innerHTML = "";
        if (toggle.checked) holder.appendChild(this.ruleBuilder(rule, label));
      };
      toggle.addEventListener("change", show);
      box.append(el("label", {}, [toggle, document.createTextNode(" " + label)]), holder);
      show();
      return box;
    }

    freshId(type) {
      const ids = new Set(this.stepIds());
      let n = ids.size + 1;
      while (ids.has(`${type}${n}`)) n += 1;
      return `${type}${n}`;
    }

    stepIds() {
      return Array.from(this.root.querySelectorAll(".jb-step-id")).map((i) => i.value.trim()).filter(Boolean);
    }

    fillTrigger(trigger) {
      const box = this.triggerBox;
      box.querySelectorAll(":scope > :not(legend)").forEach((n) => n.remove());
      const type = select(this.choices.trigger_types, trigger.type, {class: "jb-trigger-type", "aria-label": "Trigger"});
      const detail = el("div", {class: "jb-trigger-detail"});
      const fill = (t) => {
        detail.innerHTML = "";
        if (t.type === "segment_entered" || t.type === "segment_exited") {
          detail.appendChild(field("Segment", select([["", "— choose —"], ...this.choices.segments], t.segment, {class: "jb-segment"})));
        } else if (t.type === "event") {
          detail.appendChild(field("Event name", el("input", {class: "jb-event", list: "rb-events", value: t.event || ""})));
          detail.dataset.where = JSON.stringify(t.where || []);
        } else {
          detail.append(
            field("Change", select(this.choices.crm_changes, t.change, {class: "jb-change"})),
            field("To (optional)", el("input", {class: "jb-to", value: t.to || "", placeholder: "stage, lifecycle or tier"})),
            field("Field (for a field change)", select([["", "—"], ...this.choices.contact_fields], t.field, {class: "jb-crm-field"})));
        }
      };
      type.addEventListener("change", () => fill({type: type.value}));
      const onlyIf = this.optionalRule("if", "Only if the profile also matches", trigger.if);
      box.append(field("Trigger", type), detail, onlyIf);
      fill(trigger);
    }

    targetSelect(cls, value, label) {
      const node = select([["", "end the journey"]], value, {class: `jb-target ${cls}`, "data-value": value || "", "aria-label": label});
      return node;
    }

    refreshTargets() {
      const ids = this.stepIds();
      this.root.querySelectorAll(".jb-target").forEach((node) => {
        const current = node.value || node.dataset.value || "";
        node.innerHTML = "";
        [["", "end the journey"], ...ids.map((i) => [i, `→ ${i}`])].forEach(([v, label]) => {
          const option = el("option", {value: v, text: label});
          if (v === current) option.selected = true;
          node.appendChild(option);
        });
        node.dataset.value = current;
      });
    }

    duration(cls, value) {
      const unit = value ? Object.keys(value)[0] : "hours";
      return el("span", {class: `jb-duration ${cls}`}, [
        el("input", {type: "number", min: "1", class: "jb-amount", value: value ? value[unit] : 1, "aria-label": "Amount", style: "width:6em"}),
        select(UNITS, unit, {class: "jb-unit", "aria-label": "Unit"})]);
    }

    stepNode(step) {
      const li = el("li", {class: "jb-step", "data-type": step.type});
      const head = el("div", {class: "jb-step-head"}, [
        el("strong", {text: (this.choices.step_types.find(([v]) => v === step.type) || [0, step.type])[1]}),
        field("Step id", el("input", {class: "jb-step-id", value: step.id || "", size: 14, onchange: () => this.refreshTargets()})),
        el("button", {type: "button", class: "button jb-up", text: "↑", title: "Move up", "aria-label": "Move up",
          onclick: () => { if (li.previousElementSibling) li.parentNode.insertBefore(li, li.previousElementSibling); this.sync(); }}),
        el("button", {type: "button", class: "jb-remove", text: "✕", title: "Remove step", "aria-label": "Remove step",
          onclick: () => { li.remove(); this.refreshTargets(); this.sync(); }}),
      ]);
      const body = el("div", {class: "jb-step-body"});
      const t = step.type;
      const text = (cls, label, value, attrs) => field(label, el("input", {class: cls, value: value === undefined || value === null ? "" : value, ...(attrs || {})}));
      const options = (cls, label, choices, value) => field(label, select([["", "— choose —"], ...choices], value, {class: cls}));
      if (t === "wait") body.append(field("Wait for", this.duration("jb-wait", step.duration)));
      if (t === "wait_until") {
        const days = el("span", {class: "jb-weekdays"}, DAYS.map((d, i) => el("label", {}, [
          el("input", {type: "checkbox", value: i, checked: (step.weekdays || []).includes(i)}), document.createTextNode(d)])));
        body.append(text("jb-time", "Time of day (HH:MM)", step.time || "09:00"), field("Only on", days),
          text("jb-tz", "Time zone trait", step.timezone_trait || "timezone"));
      }
      if (t === "wait_event") body.append(text("jb-event", "Event", step.event, {list: "rb-events"}), field("Give up after", this.duration("jb-timeout", step.timeout)));
      if (t === "branch") {
        const holder = el("div", {class: "jb-branch-rule"});
        holder.appendChild(this.ruleBuilder(step.rule, "Branch condition"));
        body.append(el("div", {text: "Yes if the profile matches:"}), holder);
      }
      if (t === "split") {
        const paths = el("div", {class: "jb-paths"});
        const addPath = (p) => paths.appendChild(el("div", {class: "jb-path"}, [
          el("input", {type: "number", min: "1", max: "100", class: "jb-percent", value: p.percent, "aria-label": "Percent", style: "width:5em"}),
          el("span", {text: " % → "}), this.targetSelect("jb-path-next", p.next, "Path goes to")]));
        (step.paths || [{percent: 50, next: null}, {percent: 50, next: null}]).forEach(addPath);
        body.append(paths, el("button", {type: "button", class: "button", text: "+ path", onclick: () => { addPath({percent: 10, next: null}); this.refreshTargets(); }}));
      }
      if (t === "send_email") body.append(options("jb-template", "Template", this.choices.templates, step.template),
        options("jb-mailbox", "Send from mailbox", this.choices.mailboxes || [], step.mailbox));
      if (t === "task") body.append(text("jb-title", "Task title", step.title), text("jb-due", "Due in hours", step.due_hours === undefined ? 24 : step.due_hours, {type: "number", min: "0"}));
      if (t === "set_field") body.append(options("jb-field", "Contact field", this.choices.settable_fields, step.field), text("jb-value", "Value", step.value));
      if (t === "tag") body.append(text("jb-tag", "Tag", step.tag), field("Action", select([["add", "add"], ["remove", "remove"]], step.action || "add", {class: "jb-action"})));
      if (t === "loyalty_points") body.append(text("jb-points", "Points (negative to remove)", step.points, {type: "number"}), text("jb-reason", "Reason", step.reason));
      if (t === "enrol") body.append(options("jb-journey", "Journey", this.choices.journeys, step.journey));
      if (t === "webhook") body.append(options("jb-endpoint", "Webhook endpoint", this.choices.endpoints, step.endpoint));
      if (t === "audience") body.append(options("jb-destination", "Audience", this.choices.destinations, step.destination),
        field("Action", select([["add", "add"], ["remove", "remove"]], step.action || "add", {class: "jb-action"})));
      const next = el("div", {class: "jb-next"});
      if (t === "branch") next.append(field("If yes", this.targetSelect("jb-yes", step.yes, "If yes")), field("If no", this.targetSelect("jb-no", step.no, "If no")));
      else if (t === "wait_event") next.append(field("When it happens", this.targetSelect("jb-next-step", step.next, "Next step")), field("If it does not", this.targetSelect("jb-timeout-next", step.timeout_next, "On timeout")));
      else if (t !== "split") next.append(field("Then", this.targetSelect("jb-next-step", step.next, "Next step")));
      li.append(head, body, next);
      return li;
    }

    serializeStep(li) {
      const q = (sel) => li.querySelector(sel);
      const val = (sel) => (q(sel) ? q(sel).value.trim() : "");
      const num = (sel) => (val(sel) === "" ? null : Number(val(sel)));
      const target = (sel) => val(sel) || null;
      const dur = (sel) => { const box = q(sel); return {[box.querySelector(".jb-unit").value]: Number(box.querySelector(".jb-amount").value)}; };
      const t = li.dataset.type;
      const step = {id: val(".jb-step-id"), type: t};
      if (t === "wait") step.duration = dur(".jb-wait");
      if (t === "wait_until") {
        step.time = val(".jb-time");
        const days = Array.from(li.querySelectorAll(".jb-weekdays input:checked")).map((i) => Number(i.value));
        if (days.length) step.weekdays = days;
        if (val(".jb-tz")) step.timezone_trait = val(".jb-tz");
      }
      if (t === "wait_event") { step.event = val(".jb-event"); step.timeout = dur(".jb-timeout"); step.timeout_next = target(".jb-timeout-next"); }
      if (t === "branch") { step.rule = this.ruleValue(q(".jb-branch-rule .rule-builder")); step.yes = target(".jb-yes"); step.no = target(".jb-no"); }
      if (t === "split") step.paths = Array.from(li.querySelectorAll(".jb-path")).map((p) => ({percent: Number(p.querySelector(".jb-percent").value), next: p.querySelector(".jb-target").value || null}));
      if (t === "send_email") { step.template = num(".jb-template"); step.mailbox = num(".jb-mailbox"); }
      if (t === "task") { step.title = val(".jb-title"); step.due_hours = num(".jb-due"); }
      if (t === "set_field") { step.field = val(".jb-field"); step.value = val(".jb-value"); }
      if (t === "tag") { step.tag = val(".jb-tag"); step.action = val(".jb-action"); }
      if (t === "loyalty_points") { step.points = num(".jb-points"); if (val(".jb-reason")) step.reason = val(".jb-reason"); }
      if (t === "enrol") step.journey = num(".jb-journey");
      if (t === "webhook") step.endpoint = num(".jb-endpoint");
      if (t === "audience") { step.destination = num(".jb-destination"); step.action = val(".jb-action"); }
      if (!["branch", "split", "wait_event"].includes(t) || t === "wait_event") step.next = target(".jb-next-step");
      return step;
    }

    serializeTrigger() {
      const box = this.triggerBox;
      const type = box.querySelector(".jb-trigger-type").value;
      const trigger = {type};
      const v = (sel) => (box.querySelector(sel) ? box.querySelector(sel).value.trim() : "");
      if (type === "segment_entered" || type === "segment_exited") trigger.segment = v(".jb-segment") ? Number(v(".jb-segment")) : null;
      else if (type === "event") {
        trigger.event = v(".jb-event");
        const where = JSON.parse(box.querySelector(".jb-trigger-detail").dataset.where || "[]");
        if (where.length) trigger.where = where;
      } else {
        trigger.change = v(".jb-change");
        if (v(".jb-to")) trigger.to = v(".jb-to");
        if (v(".jb-crm-field")) trigger.field = v(".jb-crm-field");
      }
      const onlyIf = box.querySelector(".jb-if .rule-builder");
      if (onlyIf) trigger.if = this.ruleValue(onlyIf);
      return trigger;
    }

    sync() {
      const definition = {trigger: this.serializeTrigger(), steps: Array.from(this.stepsBox.children).map((li) => this.serializeStep(li))};
      const goal = this.goalBox.querySelector(".rule-builder");
      const exit = this.exitBox.querySelector(".rule-builder");
      if (goal) definition.goal = this.ruleValue(goal);
      if (exit) definition.exit = this.ruleValue(exit);
      this.field.value = JSON.stringify(definition);
      const view = this.root.querySelector(".journey-builder-json-view pre");
      if (view) view.textContent = JSON.stringify(definition, null, 2);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".journey-builder").forEach((root) => new JourneyBuilder(root));
  });
})();
