// Sensor health (issue #9) as a map layer: each device the user may see, ringed by its health:
// quarantined (its readings are kept but not used until a person clears it), silent (an open
// infra detection says it missed its heartbeats or went dark in an outage), suspect (another
// open infra detection names it: stuck, drifting, at odds with its neighbours, spoofed...) or ok.
import * as api from "./api.js";
import { el } from "./format.js";
import { t } from "./i18n.js";
import { COLORS } from "./map.js";

export const HEALTH = ["ok", "quarantined", "silent", "suspect"];
// Quarantined has the same colour here as a quarantined sensor's dot and the header's count.
export const HEALTH_COLORS = { ok: "#22c55e", quarantined: COLORS.quarantined, silent: "#ef4444", suspect: "#f59e0b" };
const SILENT_CHECKS = new Set(["silent", "outage"]);
const EMPTY = { type: "FeatureCollection", features: [] };

// The newest version of every infra detection that is still open.
function openFindings(detections) {
  const newest = new Map();
  for (const d of detections) {
    const seen = newest.get(d.id);
    if (!seen || (d.version ?? 1) > (seen.version ?? 1)) newest.set(d.id, d);
  }
  return [...newest.values()].filter((d) => !d.details?.ended && !d.details?.cleared);
}

// device id -> { health, checks } from the devices and the infra detections.
export function healthOf(devices, detections) {
  const out = new Map(devices.map((d) => [d.id, { health: "ok", checks: [] }]));
  for (const f of openFindings(detections)) {
    const det = f.details ?? {};
    const ids = det.device ? [det.device] : det.devices ?? f.sensors ?? [];
    const silent = SILENT_CHECKS.has(det.check);
    for (const id of ids) {
      const h = out.get(id);
      if (!h) continue;
      h.checks.push(det.check ?? f.kind);
      if (silent) h.health = "silent";
      else if (h.health === "ok") h.health = "suspect";
    }
  }
  for (const d of devices) if (d.status === "quarantined") out.get(d.id).health = "quarantined";
  return out;
}

export class Health {
  // `box` holds the toggle (.rs-health-toggle) and the legend (.rs-health-legend); `map` is the
  // SensorMap, or null without WebGL (the legend still counts the devices by health).
  constructor({ box, map }) {
    this.box = box;
    this.map = map;
    this.toggle = box.querySelector(".rs-health-toggle");
    this.toggle.checked = false;
    this.toggle.onchange = () => this.show(this.toggle.checked);
    this.status = "loading";
    this.counts = null;
    this.health = new Map();
    const m = map?.map;
    if (m && !m.getSource("health")) {
      m.addSource("health", { type: "geojson", data: EMPTY });
      // A ring under each sensor: the live status keeps its colour in the middle.
      m.addLayer({ id: "health", type: "circle", source: "health", layout: { visibility: "none" },
        paint: {
          "circle-color": ["match", ["get", "health"], ...HEALTH.flatMap((h) => [h, HEALTH_COLORS[h]]), "#64748b"],
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 10, 4, 14, 9, 18, 16],
          "circle-opacity": ["case", ["==", ["get", "health"], "ok"], 0.35, 0.85],
        } }, "sensors");
    }
  }

  async load() {
    this.status = "loading";
    this.render();
    try {
      // Every infra finding still open, however long ago it began: an outage that started
      // yesterday is still an outage (asking for the last 24 h would drop it).
      const [devices, detections] = await Promise.all([
        api.get("/v1/devices"),
        api.get("/v1/detections", { kind: "infra", open: "true", newest_first: "true", limit: 2000 }),
      ]);
      this.devices = devices;
      this.health = healthOf(devices, detections);
      this.status = "ok";
    } catch (err) {
      console.warn("sensor health", err);
      this.status = "error";
      this.devices = [];
      this.health = new Map();
    }
    this.counts = Object.fromEntries(HEALTH.map((h) => [h, 0]));
    for (const h of this.health.values()) this.counts[h.health] += 1;
    this.map?.map.getSource("health")?.setData({
      type: "FeatureCollection",
      features: (this.devices ?? []).filter((d) => d.position).map((d) => ({
        type: "Feature",
        geometry: { type: "Point", coordinates: [d.position.lon, d.position.lat] },
        properties: { device: d.id, health: this.health.get(d.id).health, checks: this.health.get(d.id).checks.join(", ") },
      })),
    });
    this.render();
  }

  show(on) {
    this.map?.map.setLayoutProperty("health", "visibility", on ? "visible" : "none");
    if (on) this.load(); // what is shown is current when it is turned on
  }

  clear() {
    this.toggle.checked = false;
    this.map?.map.getSource("health")?.setData(EMPTY);
    this.map?.map.setLayoutProperty("health", "visibility", "none");
  }

  render() {
    const legend = this.box.querySelector(".rs-health-legend");
    this.box.dataset.health = this.status;
    if (this.status !== "ok") {
      legend.replaceChildren(el("p", { className: "muted" }, t(this.status === "error" ? "rsHealthError" : "rsLoading")));
      return;
    }
    legend.replaceChildren(...HEALTH.map((h) => el("span", { className: "rs-key", dataset: { health: h } },
      el("i", { style: `background: ${HEALTH_COLORS[h]}` }), `${t(`rsH_${h}`)} `, el("b", {}, String(this.counts[h])))));
  }
}
