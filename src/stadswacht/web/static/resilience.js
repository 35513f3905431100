// "What if this fails" (issue #9): the infrastructure the user may see (substations and their
// supply areas, gateways, links, pumping stations, the sensors) on the map; a click on a node or
// a supply area asks the API what goes down with it, highlights the failed nodes, draws the
// blind spots (where a shot can no longer be located by 3 sensors, where a gauge no longer
// speaks, which zones lose their counts) and sums it up in the panel.
import * as api from "./api.js";
import { CONFIG } from "./config.js";
import { el } from "./format.js";
import { t } from "./i18n.js";

const EMPTY = { type: "FeatureCollection", features: [] };
const KIND_COLOR = ["match", ["get", "kind"],
  "substation", "#facc15", "feeder", "#facc15", "backup_power", "#a3e635", "link", "#38bdf8",
  "gateway", "#818cf8", "pumping_station", "#2dd4bf", "place", "#2dd4bf", "#e2e8f0"];
const BLIND_COLOR = ["match", ["get", "layer"], "gunshot-lost", "#ef4444", "gunshot-blind", "#475569",
  "hazard-lost", "#3b82f6", "crowd", "#f97316", "#94a3b8"];
const pct = (x) => (x == null ? "—" : `${(x * 100).toFixed(1)} %`);

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
    this.toggle = box.querySelector(".rs-infra-toggle");
    this.toggle.checked = false;
    this.toggle.onchange = () => this.show(this.toggle.checked);
    box.querySelector(".rs-clear").onclick = () => this.reset();
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
    const failed = ["boolean", ["feature-state", "failed"], false];
    m.addLayer({ id: "infra-nodes", type: "circle", source: "infra", layout: hidden,
      filter: ["==", ["geometry-type"], "Point"],
      paint: {
        "circle-color": ["case", failed, "#ef4444", KIND_COLOR],
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 10, 2, 14, 5, 18, 11],
        "circle-stroke-color": ["case", ["boolean", ["feature-state", "initial"], false], "#ffffff", "#0e1621"],
        "circle-stroke-width": ["case", ["boolean", ["feature-state", "initial"], false], 3, 1],
      } });
    this.layers = ["blind-fill", "blind-line", "infra-areas", "infra-areas-line", "infra-edges", "infra-nodes"];
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
    if (!this.target) {
      summary.hidden = true;
      return summary.replaceChildren();
    }
    const rows = [el("h3", {}, t("rsIfFails", { id: this.target }))];
    if (this.busy) rows.push(el("p", { className: "muted" }, t("rsComputing")));
    else if (this.error) rows.push(el("p", { className: "error" }, this.error));
    else if (this.result) rows.push(...this.summaryRows(this.result));
    rows.push(el("p", { className: "muted rs-legend" }, t("rsLegend")));
    summary.replaceChildren(...rows);
    summary.hidden = false;
  }

  summaryRows(r) {
    const dl = el("dl", { className: "rs-figures" });
    const row = (key, value) => dl.append(el("dt", {}, t(key)), el("dd", { dataset: { field: key } }, value));
    row("rsFailed", String(r.failed.length));
    const shot = r.capabilities.gunshot;
    if (shot?.withheld) row("rsGunshot", t("rsWithheld"));
    else if (shot) {
      row("rsGunshot", t("rsSensorsDown", { n: shot.failed.length, of: shot.sensors }));
      row("rsLocated", `${pct(shot.covered_before)} → ${pct(shot.covered_after)}`);
    }
    const crowd = r.capabilities.crowd;
    if (crowd?.withheld) row("rsCrowd", t("rsWithheld"));
    else if (crowd) row("rsCrowd", crowd.lost.length ? crowd.lost.join(", ") : t("rsNoneLost"));
    const hazard = r.capabilities.hazard;
    if (hazard?.withheld) row("rsHazard", t("rsWithheld"));
    else if (hazard) row("rsHazard", t("rsSensorsDown", { n: hazard.failed.length, of: hazard.sensors }));
    const list = el("ul", { className: "rs-failed" }, ...r.failed.map((f) => el("li", { dataset: { id: f.id } },
      el("b", {}, f.id), ` ${f.kind}`, f.cause === "initial" ? "" : ` ← ${f.cause}`)));
    return [dl, list];
  }
}
