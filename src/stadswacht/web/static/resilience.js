// "What if this fails" (issue #9): the infrastructure the user may see (substations and their
// supply areas, gateways, links, pumping stations, the sensors) on the map; a click on a node or
// a supply area asks the API what goes down with it, highlights the failed nodes, draws the
// blind spots (where a shot can no longer be located by 3 sensors, where a gauge no longer
// speaks, which zones lose their counts) and sums it up in the panel. With the layer on, the
// panel also shows each capability's coverage after its worst single failure and the one
// addition (a sensor, a battery) that would raise it most.
// What-if failures are magenta (a hypothetical), never red: red in the sensor health layer
// means a sensor is silent now.
import * as api from "./api.js";
import { CONFIG } from "./config.js";
import { el } from "./format.js";
import { lang, t } from "./i18n.js";

const EMPTY = { type: "FeatureCollection", features: [] };
const KIND_COLOR = ["match", ["get", "kind"],
  "substation", "#facc15", "feeder", "#facc15", "backup_power", "#a3e635", "link", "#38bdf8",
  "gateway", "#818cf8", "pumping_station", "#2dd4bf", "place", "#2dd4bf", "#e2e8f0"];
// Magenta: what would fail in a what-if (pure magenta, well apart from the red of a silent
// sensor and the violet of a quarantined one).
export const WOULD_FAIL = "#ff00ff";
const BLIND_COLOR = ["match", ["get", "layer"], "gunshot-lost", WOULD_FAIL, "gunshot-blind", "#475569",
  "hazard-lost", "#3b82f6", "crowd", "#f97316", "#94a3b8"];
const CAPS = ["gunshot", "crowd", "hazard"];
const ALL_SENSORS = "all sensors"; // the API's basis when the user sees every sensor

// A share as a percentage with one decimal, in the language shown: "62.7 %", "62,7 %".
export function pct(x) {
  if (x == null) return "—";
  const nf = new Intl.NumberFormat(lang() === "nl" ? "nl-NL" : "en-GB",
    { minimumFractionDigits: 1, maximumFractionDigits: 1, useGrouping: false });
  return `${nf.format(x * 100)} %`;
}

// A node kind in the language shown ("substation", "onderstation"); unknown kinds as they are.
export function kindName(kind) {
  const key = `rsKind_${kind}`;
  const name = t(key);
  return name === key ? kind : name;
}

// POST with the session's token (api.js reads only).
async function post(path, body) {
  const s = api.session();
  if (!s) throw new api.Unauthorized("not logged in");
  const headers = { Authorization: `Bearer ${s.token}`, "Content-Type": "application/json" };
  if (CONFIG.purpose) headers["X-Purpose"] = CONFIG.purpose;
  const r = await fetch(new URL(`${CONFIG.apiBase}${path}`, location.href), {
    method: "POST", headers, body: JSON.stringify(body),
  });
  if (r.status === 401) {
    api.logout();
    throw new api.Unauthorized("session expired");
  }
  const doc = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(doc.detail ?? `${path}: HTTP ${r.status}`);
  return doc;
}

// Supply areas and protected areas of the nodes, as polygons that can be clicked.
function areasOf(features) {
  const out = [];
  for (const f of features) {
    const p = f.properties;
    const ring = f.geometry?.type === "Polygon" ? f.geometry.coordinates[0] : p.polygon;
    if (ring) out.push({ type: "Feature", properties: { nid: f.id, kind: p.kind, role: "supply" },
      geometry: { type: "Polygon", coordinates: [ring] } });
    if (p.protects) out.push({ type: "Feature", properties: { nid: f.id, kind: p.kind, role: "protects" },
      geometry: { type: "Polygon", coordinates: [p.protects] } });
  }
  return out;
}

export class Resilience {
  // `box` holds the toggle (.rs-infra-toggle), the status line and the summary; `map` is the
  // SensorMap or null (no WebGL: the panel says the map is needed).
  constructor({ box, map }) {
    this.box = box;
    this.map = map;
    this.graph = null;
    this.result = null;
    this.target = null;
    this.status = "loading"; // loading | ok | none | denied | error
    this.error = null;
    this.coverage = null; // the /v1/resilience/coverage report, loaded when the layer is shown
    this.coverageStatus = null; // null | loading | ok | error
    this.toggle = box.querySelector(".rs-infra-toggle");
    this.toggle.checked = false;
    this.toggle.onchange = () => this.show(this.toggle.checked);
    const clear = box.querySelector(".rs-clear");
    clear.onclick = () => this.reset();
    this.covBox = el("div", { className: "rs-coverage", hidden: true });
    clear.before(this.covBox);
    const m = map?.map;
    if (m && !m.getSource("infra")) this.addLayers(m);
  }

  addLayers(m) {
    const hidden = { visibility: "none" };
    m.addSource("infra", { type: "geojson", data: EMPTY, promoteId: "nid" });
    m.addSource("infra-areas", { type: "geojson", data: EMPTY });
    m.addSource("infra-edges", { type: "geojson", data: EMPTY });
    m.addSource("blind", { type: "geojson", data: EMPTY });
    m.addLayer({ id: "blind-fill", type: "fill", source: "blind", layout: hidden,
      paint: { "fill-color": BLIND_COLOR, "fill-opacity": ["match", ["get", "layer"], "gunshot-blind", 0.25, 0.45] } }, "sensors");
    m.addLayer({ id: "blind-line", type: "line", source: "blind", layout: hidden,
      paint: { "line-color": BLIND_COLOR, "line-width": 1.5 } }, "sensors");
    m.addLayer({ id: "infra-areas", type: "fill", source: "infra-areas", layout: hidden,
      paint: { "fill-color": KIND_COLOR, "fill-opacity": 0.06 } }, "blind-fill");
    m.addLayer({ id: "infra-areas-line", type: "line", source: "infra-areas", layout: hidden,
      paint: { "line-color": KIND_COLOR, "line-width": 1, "line-dasharray": [3, 2] } }, "blind-fill");
    m.addLayer({ id: "infra-edges", type: "line", source: "infra-edges", layout: hidden,
      paint: { "line-color": "#94a3b8", "line-width": 0.8, "line-opacity": 0.5,
        "line-dasharray": ["case", ["get", "any_of"], ["literal", [2, 2]], ["literal", [1, 0]]] } }, "sensors");
    // A node that would fail keeps its kind's colour inside a thick magenta ring and a second,
    // outer magenta ring (a double ring no status layer uses); the one clicked is filled
    // magenta and ringed white.
    const failed = ["boolean", ["feature-state", "failed"], false];
    const initial = ["boolean", ["feature-state", "initial"], false];
    const radius = (extra) => ["interpolate", ["linear"], ["zoom"], 10, 2 + extra, 14, 5 + extra, 18, 11 + extra];
    m.addLayer({ id: "infra-would-fail", type: "circle", source: "infra", layout: hidden,
      filter: ["==", ["geometry-type"], "Point"],
      paint: {
        "circle-radius": radius(6), "circle-opacity": 0, "circle-stroke-color": WOULD_FAIL,
        "circle-stroke-width": 1.5, "circle-stroke-opacity": ["case", failed, 0.9, 0],
      } });
    m.addLayer({ id: "infra-nodes", type: "circle", source: "infra", layout: hidden,
      filter: ["==", ["geometry-type"], "Point"],
      paint: {
        "circle-color": ["case", initial, WOULD_FAIL, KIND_COLOR],
        "circle-radius": radius(0),
        "circle-stroke-color": ["case", initial, "#ffffff", failed, WOULD_FAIL, "#0e1621"],
        "circle-stroke-width": ["case", initial, 3, failed, 3.5, 1],
      } });
    this.layers = ["blind-fill", "blind-line", "infra-areas", "infra-areas-line", "infra-edges", "infra-would-fail",
      "infra-nodes"];
    m.on("click", "infra-nodes", (e) => this.whatif(e.features[0].properties.nid));
    m.on("click", "infra-areas", (e) => {
      if (m.queryRenderedFeatures(e.point, { layers: ["infra-nodes", "sensors"] }).length) return;
      const supply = e.features.find((f) => f.properties.role === "supply") ?? e.features[0];
      this.whatif(supply.properties.nid);
    });
  }

  async load() {
    this.status = "loading";
    this.render();
    try {
      this.graph = await api.get("/v1/resilience/graph");
      this.status = "ok";
    } catch (err) {
      this.graph = null;
      // 404: no graph configured; 403: this role does not see the infrastructure.
      this.status = /HTTP 404$/.test(err.message) ? "none" : /HTTP 403$/.test(err.message) ? "denied" : "error";
      if (this.status === "error") console.warn("infrastructure graph", err);
    }
    const features = (this.graph?.features ?? []).map((f) => ({ ...f, properties: { ...f.properties, nid: f.id } }));
    const m = this.map?.map;
    if (m) {
      const at = new Map(features.filter((f) => f.geometry?.type === "Point").map((f) => [f.id, f.geometry.coordinates]));
      m.getSource("infra").setData({ type: "FeatureCollection", features });
      m.getSource("infra-areas").setData({ type: "FeatureCollection", features: areasOf(features) });
      m.getSource("infra-edges").setData({ type: "FeatureCollection", features: (this.graph?.edges ?? [])
        .filter((e) => at.has(e.source) && at.has(e.target))
        .map((e) => ({ type: "Feature", properties: { any_of: e.any_of },
          geometry: { type: "LineString", coordinates: [at.get(e.source), at.get(e.target)] } })) });
    }
    this.render();
    if (this.toggle.checked) this.show(true);
  }

  show(on) {
    const m = this.map?.map;
    for (const l of m ? this.layers : []) m.setLayoutProperty(l, "visibility", on ? "visible" : "none");
    if (on && this.status === "ok" && !this.coverageStatus) this.loadCoverage();
    this.render();
  }

  // Coverage after the worst single failure, per capability, with the best addition.
  async loadCoverage() {
    this.coverageStatus = "loading";
    this.render();
    try {
      this.coverage = await api.get("/v1/resilience/coverage?k=1");
      this.coverageStatus = "ok";
    } catch (err) {
      this.coverage = null;
      this.coverageStatus = "error";
      console.warn("resilience coverage", err);
    }
    this.render();
  }

  // A node's name where it has one (from the graph or the what-if), else its id.
  nameOf(id) {
    if (id == null) return t("rsCauseWithheld");
    const f = this.graph?.features?.find((x) => x.id === id);
    return f?.properties?.name ?? this.result?.failed?.find((x) => x.id === id)?.name ?? id;
  }

  causeText(cause) {
    if (cause === "flood") return t("rsCauseFlood");
    if (cause === "withheld") return t("rsCauseWithheld");
    if (cause.startsWith("flood:")) return t("rsCauseFloodBy", { name: this.nameOf(cause.slice(6)) });
    return this.nameOf(cause);
  }

  // "own and shared sensors only; 2 of other agencies left out", or nothing for all sensors.
  basisText(doc) {
    if (!doc || doc.basis == null || doc.basis === ALL_SENSORS) return null;
    return t("rsPartial", { n: doc.sensors_left_out ?? 0 });
  }

  // Ask what goes down with `id`, and show it.
  async whatif(id) {
    if (!this.toggle.checked || this.status !== "ok") return;
    this.target = id;
    this.error = null;
    this.busy = true;
    this.render();
    try {
      this.result = await post("/v1/resilience/whatif", { fail: [id] });
    } catch (err) {
      this.result = null;
      this.error = err.message;
    }
    this.busy = false;
    this.paint();
    this.render();
  }

  paint() {
    const m = this.map?.map;
    if (!m) return;
    for (const f of this.graph?.features ?? []) m.setFeatureState({ source: "infra", id: f.id }, { failed: false, initial: false });
    const r = this.result;
    const features = [];
    for (const f of r?.failed ?? []) {
      m.setFeatureState({ source: "infra", id: f.id }, { failed: true, initial: f.cause === "initial" });
    }
    const caps = r?.capabilities ?? {};
    const add = (doc, layer) => {
      if (doc?.geometry?.coordinates?.length) features.push({ ...doc, properties: { ...doc.properties, layer } });
    };
    add(caps.gunshot?.blind, "gunshot-blind");
    add(caps.gunshot?.lost, "gunshot-lost");
    add(caps.hazard?.lost, "hazard-lost");
    for (const z of caps.crowd?.zones_geojson?.features ?? []) add(z, "crowd");
    this.blind = { type: "FeatureCollection", features }; // as drawn, for tests and consoles
    m.getSource("blind").setData(this.blind);
  }

  reset() {
    this.result = null;
    this.target = null;
    this.error = null;
    this.paint();
    this.render();
  }

  clear() {
    this.reset();
    this.toggle.checked = false;
    this.show(false);
    this.graph = null;
    this.coverage = null;
    this.coverageStatus = null;
    this.covBox.hidden = true;
    this.covBox.replaceChildren();
    const m = this.map?.map;
    for (const s of ["infra", "infra-areas", "infra-edges", "blind"]) m?.getSource(s)?.setData(EMPTY);
  }

  render() {
    const status = this.box.querySelector(".rs-status");
    const summary = this.box.querySelector(".rs-summary");
    this.box.dataset.status = this.status;
    this.toggle.disabled = this.status !== "ok" || !this.map;
    const n = this.graph?.features?.length ?? 0;
    status.textContent = {
      loading: t("rsLoading"), none: t("rsNone"), denied: t("rsDenied"), error: t("rsError"),
      ok: this.map ? t("rsHint", { n }) : t("rsNoMap"),
    }[this.status];
    this.renderCoverage();
    if (!this.target) {
      summary.hidden = true;
      return summary.replaceChildren();
    }
    const rows = [el("h3", { title: this.target }, t("rsIfFails", { id: this.nameOf(this.target) }))];
    if (this.busy) rows.push(el("p", { className: "muted" }, t("rsComputing")));
    else if (this.error) rows.push(el("p", { className: "error" }, this.error));
    else if (this.result) rows.push(...this.summaryRows(this.result));
    rows.push(el("p", { className: "muted rs-legend" }, t("rsLegendWhatIf")));
    summary.replaceChildren(...rows);
    summary.hidden = false;
  }

  renderCoverage() {
    const box = this.covBox;
    box.hidden = !(this.toggle.checked && this.status === "ok" && this.coverageStatus);
    if (box.hidden) return box.replaceChildren();
    const rows = [el("h3", {}, t("rsCoverage"))];
    if (this.coverageStatus === "loading") rows.push(el("p", { className: "muted" }, t("rsCoverageLoading")));
    else if (this.coverageStatus === "error") rows.push(el("p", { className: "error" }, t("rsCoverageError")));
    else {
      const zones = this.coverage.zones ?? {};
      for (const cap of CAPS) {
        const doc = this.coverage.capabilities?.[cap];
        if (!doc) continue;
        const item = el("div", { className: "rs-cov-cap", dataset: { cap } }, el("b", {}, t(`rsCap_${cap}`)));
        if (!doc.sensors) {
          item.append(el("span", { className: "rs-cov-figures" }, t("rsNoOwn", { n: doc.sensors_left_out ?? 0 })));
          rows.push(item);
          continue;
        }
        const figures = doc.failures?.length && doc.after < doc.before
          ? t("rsCovRow", { before: pct(doc.before), after: pct(doc.after), node: this.nameOf(doc.failures[0]) })
          : t("rsCovNoFailure", { before: pct(doc.before) });
        item.append(el("span", { className: "rs-cov-figures" }, figures));
        const adds = [];
        const s = doc.add_sensor;
        if (s) {
          adds.push(s.zone
            ? t("rsAddCounter", { zone: zones[s.zone] ?? s.zone, after: pct(s.after) })
            : t("rsAddSensor", { like: this.nameOf(s.like), after: pct(s.after) }));
        }
        const b = doc.add_backup;
        if (b && !b.withheld) adds.push(t("rsAddBackup", { node: this.nameOf(b.node), after: pct(b.after) }));
        // Nothing recommended (null) means no single addition raises the worst case.
        if (!adds.length && !b?.withheld) adds.push(t("rsNoAddition"));
        for (const a of adds) item.append(el("span", { className: "rs-add" }, a));
        const basis = this.basisText(doc);
        if (basis) item.append(el("span", { className: "muted rs-basis" }, basis));
        rows.push(item);
      }
    }
    box.replaceChildren(...rows);
  }

  summaryRows(r) {
    const dl = el("dl", { className: "rs-figures" });
    const row = (key, value, doc) => {
      const dd = el("dd", { dataset: { field: key } }, value);
      const basis = this.basisText(doc);
      if (basis) dd.append(el("small", { className: "muted rs-basis" }, ` · ${basis}`));
      dl.append(el("dt", {}, t(key)), dd);
    };
    row("rsFailed", String(r.failed.length));
    const down = (doc) => (doc.sensors || !doc.sensors_left_out
      ? t("rsSensorsDown", { n: doc.failed.length, of: doc.sensors })
      : t("rsNoOwn", { n: doc.sensors_left_out }));
    const shot = r.capabilities.gunshot;
    if (shot?.withheld) row("rsGunshot", t("rsWithheld"));
    else if (shot) {
      row("rsGunshot", down(shot), shot.sensors ? shot : null);
      if (shot.sensors) row("rsLocated", `${pct(shot.covered_before)} → ${pct(shot.covered_after)}`);
    }
    const crowd = r.capabilities.crowd;
    if (crowd?.withheld) row("rsCrowd", t("rsWithheld"));
    else if (crowd) {
      // Zone names are not sensitive: shown whatever sensors the user sees.
      const names = new Map((crowd.zones_geojson?.features ?? []).map((f) => [f.id, f.properties?.name]));
      const lost = crowd.lost.map((z) => names.get(z) ?? z);
      row("rsCrowd", lost.length ? lost.join(", ") : t("rsNoneLost"), crowd);
    }
    const hazard = r.capabilities.hazard;
    if (hazard?.withheld) row("rsHazard", t("rsWithheld"));
    else if (hazard) row("rsHazard", down(hazard), hazard.sensors ? hazard : null);
    const list = el("ul", { className: "rs-failed" }, ...r.failed.map((f) => el("li", { dataset: { id: f.id } },
      el("b", { title: f.id }, f.name ?? f.id), ` ${kindName(f.kind)}`,
      f.cause === "initial" ? "" : ` ← ${this.causeText(f.cause)}`)));
    return [dl, list];
  }
}
