// Incidents: the list of what operators work on, one incident's detail (timeline, evidence,
// procedure, actions), and the live stream that keeps both current. The server decides who may
// do what; the panel offers what the lifecycle allows and shows the server's answer.
import * as api from "./api.js";
import { CONFIG } from "./config.js";
import { el, formatAgo, formatClock, formatDateTime } from "./format.js";
import { t } from "./i18n.js";

// Status changes the lifecycle allows (stadswacht.fusion.incident.TRANSITIONS), in the order
// the buttons are shown; the role check stays the server's.
const NEXT = {
  new: ["acknowledged", "dispatched", "resolved", "false_alarm"],
  acknowledged: ["dispatched", "resolved", "false_alarm"],
  dispatched: ["resolved", "false_alarm"],
  resolved: ["acknowledged"],
  false_alarm: ["acknowledged"],
};
const OPEN = new Set(["new", "acknowledged", "dispatched"]);
const CLOSED_SHOWN_MS = 24 * 3600 * 1000;

// The button that moves an incident to `to` from `from`: going back to acknowledged is a reopen.
function actionKey(from, to) {
  return to === "acknowledged" && !OPEN.has(from) ? "incAct_reopen" : `incAct_${to}`;
}

// A kind's name in the language shown; a kind without a string shows as it is.
function kindName(kind) {
  const name = t(`kind_${kind}`);
  return name === `kind_${kind}` ? kind : name;
}

function detailText(detail, status) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => d.msg ?? JSON.stringify(d)).join("; ");
  return `HTTP ${status}`;
}

// POST JSON with the session's token; a refusal throws with the server's own words.
export async function post(path, body) {
  const s = api.session();
  if (!s) throw new api.Unauthorized("not logged in");
  const r = await fetch(`${CONFIG.apiBase}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${s.token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const out = await r.json().catch(() => ({}));
  if (r.status === 401) throw new api.Unauthorized("session expired");
  if (!r.ok) throw Object.assign(new Error(detailText(out.detail, r.status)), { status: r.status });
  return out;
}

export class Incidents {
  // `map` may be null; `areaName(id)` names an area; `selectDetection(id)` selects a detection
  // in the detections panel and returns whether it could; `purpose` is stated to the API so that
  // other agencies' incidents come under a sharing agreement.
  constructor({ list, details, map, areaName, selectDetection, purpose = null }) {
    this.list = list;
    this.details = details;
    this.map = map;
    this.areaName = areaName ?? ((id) => id);
    this.selectDetection = selectDetection ?? (() => false);
    this.purpose = purpose;
    this.byId = new Map();
    this.selected = null;
    this.me = null; // {name, agency, role}
    this.stream = null;
    this.timer = null;
    this.marker = null;
    this.form = null; // the open reason form: {to, node}
    this.message = null; // {text, error} about the last action
    this.loadError = null;
  }

  async load() {
    const since = new Date(Date.now() - CLOSED_SHOWN_MS).toISOString();
    const purpose = this.purpose;
    try {
      const [open, recent] = await Promise.all([
        api.get("/v1/incidents", { open: true, purpose, limit: 500 }),
        api.get("/v1/incidents", { since, purpose, limit: 200 }),
      ]);
      for (const i of [...open, ...recent]) this.put(i, false);
      this.loadError = null;
    } catch (err) {
      if (err instanceof api.Unauthorized) throw err;
      this.loadError = err.message;
    }
    this.render();
    this.renderDetails();
  }

  open() {
    api.get("/v1/users/me").then((me) => {
      this.me = me;
      this.renderDetails();
    }).catch((err) => console.warn("incidents: who am I", err));
    const url = new URL(api.streamUrl("/v1/stream/incidents"));
    if (this.purpose) url.searchParams.set("purpose", this.purpose);
    const es = new EventSource(url.href);
    this.stream = es;
    es.addEventListener("incident", (e) => this.put(JSON.parse(e.data), true));
    // The browser reconnects by itself; what changed meanwhile comes with the next load.
    es.addEventListener("ready", () => this.load().catch((err) => console.warn("incidents", err)));
    // Ages and response deadlines move on without any message.
    this.timer = setInterval(() => this.render(), 5000);
  }

  close() {
    this.stream?.close();
    this.stream = null;
    clearInterval(this.timer);
    this.timer = null;
    this.marker?.remove();
    this.marker = null;
  }

  put(incident, live) {
    const old = this.byId.get(incident.id);
    if (old && old.version > incident.version) return;
    this.byId.set(incident.id, incident);
    if (!live) return;
    this.render();
    if (this.selected === incident.id) this.renderDetails();
  }

  // Open ones first, worst first, then the latest activity.
  sorted() {
    const activity = (i) => i.timeline?.at(-1)?.at ?? i.last_time ?? i.opened_at ?? "";
    return [...this.byId.values()].sort((a, b) =>
      (OPEN.has(b.status) - OPEN.has(a.status)) || (b.severity - a.severity) ||
      (activity(a) < activity(b) ? 1 : -1));
  }

  overdue(i) {
    return i.status === "new" && !i.escalated && i.respond_by != null && Date.parse(i.respond_by) < Date.now();
  }

  flags(i) {
    const out = [];
    if (i.escalated) out.push(el("b", { className: "inc-flag escalated" }, t("incEscalated")));
    else if (this.overdue(i)) out.push(el("b", { className: "inc-flag overdue" }, t("incOverdue")));
    if (i._withheld?.length) out.push(el("b", { className: "inc-flag shared" }, t("incShared")));
    return out;
  }

  render() {
    const items = this.sorted();
    if (this.loadError && !items.length) {
      this.list.replaceChildren(el("li", { className: "none error" }, t("incLoadFailed", { detail: this.loadError })));
      return;
    }
    this.list.replaceChildren(...(items.length ? items.slice(0, 100).map((i) => {
      const age = Date.now() - Date.parse(i.opened_at ?? i.first_time);
      return el("li", { className: i.id === this.selected ? "sel" : "",
        dataset: { id: i.id, status: i.status, severity: String(i.severity ?? "") } },
      el("button", { type: "button", onclick: () => this.select(i.id, true) },
        el("span", { className: "sev", title: t("incSeverity") }, String(i.severity ?? "?")),
        el("span", { className: "inc-main" },
          el("span", { className: "inc-line" },
            el("b", { className: `kind ${i.kind}` }, kindName(i.kind)),
            el("span", { className: "inc-area" }, i.area ? this.areaName(i.area) : ""),
            ...this.flags(i)),
          el("span", { className: "inc-line muted" },
            el("span", { className: `inc-status st-${i.status}` }, t(`incStatus_${i.status}`)),
            el("span", { className: "inc-title" }, this.evidenceLine(i)))),
        el("time", { className: "muted", dateTime: i.opened_at ?? "" },
          Number.isNaN(age) ? "" : formatAgo(age))));
    }) : [el("li", { className: "none" }, t("incNone"))]));
  }

  // How many detections the incident rests on, and of which kinds when more than one.
  evidenceLine(i) {
    if (i.detections == null) return "";
    const kinds = [...new Set(i.detections.map((d) => d.kind))];
    const n = t("incDetectionsN", { n: i.detections.length });
    return kinds.length > 1 ? `${n} (${kinds.map(kindName).join(", ")})` : n;
  }

  select(id, fly) {
    if (id !== this.selected) {
      this.form = null;
      this.message = null;
    }
    this.selected = id;
    this.render();
    this.renderDetails();
    const i = this.byId.get(id);
    if (fly && i?.position) this.map?.flyTo(i.position);
  }

  mine(i) {
    return this.me !== null && (this.me.agency === i.agency || this.me.role === "admin");
  }

  renderDetails() {
    const i = this.byId.get(this.selected);
    if (!i) {
      this.details.hidden = true;
      this.placeMarker(null);
      return;
    }
    const box = this.details;
    box.dataset.severity = String(i.severity ?? "");
    box.querySelector("h2 span").textContent = i.area ? `${kindName(i.kind)} · ${this.areaName(i.area)}`
      : (i.title ?? kindName(i.kind));
    const tlp = i.classification ?? "";
    const rows = [
      ["incStatus", el("span", { className: `inc-status st-${i.status}` }, t(`incStatus_${i.status}`))],
      ["incSeverity", el("span", { className: "sev-text" }, `${i.severity} · ${t(`incSev_${i.severity}`)}`)],
      ["incKind", kindName(i.kind)],
      ["incClassification", el("span", { className: "tlp", dataset: { tlp } }, tlp)],
      ["incOwner", i.agency],
      ["incArea", i.area ? this.areaName(i.area) : "—"],
      ["incOpened", i.opened_at ? formatDateTime(i.opened_at) : "—"],
    ];
    if (i.respond_by && OPEN.has(i.status)) {
      const late = i.escalated ? ` · ${t("incEscalatedTo", { role: i.escalate_to ?? "supervisor" })}`
        : this.overdue(i) ? ` · ${t("incOverdue")}` : "";
      rows.push(["incRespondBy", `${formatClock(i.respond_by)}${late}`]);
    }
    const parts = [];
    if (i._withheld?.length) {
      parts.push(el("p", { className: "withheld", role: "note" },
        t("incWithheld", { fields: i._withheld.join(", ") })));
    }
    parts.push(el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", { dataset: { field: k } }, v)])));
    parts.push(...this.actions(i));
    parts.push(el("h3", {}, t("incSteps")), this.stepList(i));
    parts.push(el("h3", {}, t("incTimeline")), this.timeline(i));
    parts.push(el("h3", {}, t("incEvidence")), this.evidence(i));
    box.querySelector(".inc-body").replaceChildren(...parts);
    box.hidden = false;
    this.placeMarker(i.position);
  }

  actions(i) {
    if (!this.mine(i)) {
      return this.me ? [el("p", { className: "muted inc-readonly" }, t("incReadOnly", { agency: i.agency }))] : [];
    }
    const buttons = (NEXT[i.status] ?? []).map((to) => el("button", {
      type: "button", className: `act act-${to}`, dataset: { to },
      ariaPressed: String(this.form?.to === to),
      onclick: () => this.openForm(to),
    }, t(actionKey(i.status, to))));
    const out = [el("div", { className: "inc-actions" }, ...buttons)];
    if (this.form && (NEXT[i.status] ?? []).includes(this.form.to)) out.push(this.formNode(i));
    else this.form = null;
    if (this.message) {
      out.push(el("p", { className: this.message.error ? "inc-msg error" : "inc-msg ok", role: "alert" }, this.message.text));
    }
    return out;
  }

  openForm(to) {
    if (this.form?.to !== to) this.form = { to, node: null };
    this.message = null;
    this.renderDetails();
    this.form?.node?.querySelector("input").focus();
  }

  // The reason form survives live updates of the incident: the same node, with what was typed.
  formNode(i) {
    const f = this.form;
    if (f.node) {
      f.node.querySelector("label span").textContent = t("incReason", { action: t(actionKey(i.status, f.to)) });
      return f.node;
    }
    const input = el("input", { name: "why", required: true, maxLength: 2000, autocomplete: "off" });
    f.node = el("form", { className: "inc-form", onsubmit: (e) => { e.preventDefault(); this.submit(f.to, input.value); } },
      el("label", {}, el("span", {}, t("incReason", { action: t(actionKey(i.status, f.to)) })), input),
      el("div", { className: "inc-form-buttons" },
        el("button", { type: "submit", className: "confirm" }, t("incConfirm")),
        el("button", { type: "button", onclick: () => { this.form = null; this.renderDetails(); } }, t("incCancel"))));
    return f.node;
  }

  async submit(to, why) {
    const id = this.selected;
    if (!why.trim()) return;
    try {
      const changed = await post(`/v1/incidents/${encodeURIComponent(id)}/transition`, { to, why });
      this.form = null;
      this.message = { text: t("incDone", { status: t(`incStatus_${changed.status}`) }), error: false };
      this.put(changed, true);
    } catch (err) {
      this.message = { text: t("incRefused", { detail: err.message }), error: true };
    }
    this.renderDetails();
  }

  stepList(i) {
    if (i.steps == null) return el("p", { className: "muted" }, t("incWithheldPart"));
    if (!i.steps.length) return el("p", { className: "muted" }, t("incNoSteps"));
    const editable = this.mine(i) && OPEN.has(i.status);
    return el("ol", { className: "inc-steps" }, ...i.steps.map((s) => {
      const box = el("input", { type: "checkbox", checked: s.done, disabled: !editable,
        onchange: () => this.markStep(s.id, box.checked, box) });
      const who = s.done ? t("incStepBy", { by: s.by ?? "?", at: s.at ? formatClock(s.at) : "" }) : "";
      return el("li", { className: s.done ? "done" : "", dataset: { step: s.id, mandatory: String(s.mandatory) } },
        el("label", {}, box,
          el("span", {}, el("span", { className: "step-text" }, s.text),
            s.mandatory ? el("b", { className: "mandatory", title: t("incMandatory") }, ` ${t("incMandatoryMark")}`) : null)),
        who ? el("span", { className: "muted step-by" }, who) : null,
        s.note ? el("span", { className: "muted step-note" }, s.note) : null);
    }));
  }

  async markStep(step, done, box) {
    box.disabled = true;
    try {
      const changed = await post(`/v1/incidents/${encodeURIComponent(this.selected)}/steps/${encodeURIComponent(step)}`, { done, note: "" });
      this.message = null;
      this.put(changed, true);
    } catch (err) {
      this.message = { text: t("incRefused", { detail: err.message }), error: true };
    }
    this.renderDetails();
  }

  timeline(i) {
    if (i.timeline == null) return el("p", { className: "muted" }, t("incWithheldPart"));
    return el("ol", { className: "inc-timeline" }, ...i.timeline.slice().reverse().map((e) => {
      const move = e.event === "step" || e.event === "evidence" ? t(`incEvent_${e.event}`)
        : e.from_status ? `${t(`incStatus_${e.from_status}`)} → ${t(`incStatus_${e.to_status}`)}`
        : `${t(`incEvent_${e.event}`)} · ${t(`incStatus_${e.to_status}`)}`;
      return el("li", { dataset: { event: e.event } },
        el("time", { dateTime: e.at }, formatClock(e.at)),
        el("span", { className: "tl-who" }, `${e.by}${e.role ? ` (${e.role})` : ""}`),
        el("span", { className: "tl-move" }, move),
        e.why ? el("span", { className: "tl-why" }, e.why) : null);
    }));
  }

  evidence(i) {
    if (i.detections == null) return el("p", { className: "muted" }, t("incWithheldPart"));
    return el("ul", { className: "inc-evidence" }, ...i.detections.map((d) =>
      el("li", {}, el("button", { type: "button", dataset: { detection: d.detection },
        onclick: () => this.showDetection(d.detection) },
      el("b", { className: `kind ${d.kind}` }, kindName(d.kind)),
      el("time", {}, formatClock(d.time)),
      el("span", {}, `${Math.round(d.probability * 100)} %`),
      el("span", { className: "muted" }, d.agency)))));
  }

  showDetection(id) {
    if (this.selectDetection(id)) return;
    this.message = { text: t("incNoDetection", { id }), error: true };
    this.renderDetails();
  }

  // The selected incident's place on the map, as a ring marker (MapLibre's own Marker, so the
  // map's layers stay as they are).
  placeMarker(position) {
    if (!this.map?.lib?.Marker) return;
    if (!position) {
      this.marker?.remove();
      this.marker = null;
      return;
    }
    if (!this.marker) {
      this.marker = new this.map.lib.Marker({ element: el("div", { className: "inc-marker" }) });
    }
    this.marker.setLngLat([position.lon, position.lat]).addTo(this.map.map);
  }
}
