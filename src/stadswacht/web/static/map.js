// The map: zones and sensors as GeoJSON sources drawn with WebGL by MapLibre GL JS.
//
// Sensors are one GeoJSON source whose features carry a numeric id (their index); live status
// changes are feature-state updates, so 10,000 sensors never re-upload their geometry.
import { CONFIG } from "./config.js";

// A sensor's live status; quarantined is the purple of the sensor health legend (health.js).
export const COLORS = { live: "#22c55e", stale: "#f59e0b", never: "#64748b", off: "#ef4444", quarantined: "#a855f7" };
// Layers drawn over the crowd zones that take a click before the zone: sensors, detections,
// and the infrastructure of "what if this fails" while it is shown (resilience.js).
const OVER_ZONES = ["sensors", "detections", "infra-nodes", "infra-areas"];
const KIND_COLORS = ["match", ["get", "kind"], "gunshot", "#ef4444", "fireworks", "#f59e0b", "crowd", "#f97316", "#a78bfa"];
const EMPTY = { type: "FeatureCollection", features: [] };
const M_PER_DEG = 111_320;

// A detection's 95 % uncertainty ellipse as a closed GeoJSON ring (orientation: degrees
// clockwise from north of the major axis).
export function ellipseRing(lon, lat, { semi_major_m: a, semi_minor_m: b, orientation_deg: deg }, n = 48) {
  const th = (deg * Math.PI) / 180;
  const kx = M_PER_DEG * Math.cos((lat * Math.PI) / 180);
  const ring = [];
  for (let k = 0; k <= n; k++) {
    const phi = (2 * Math.PI * k) / n;
    const u = Math.max(a, 0.5) * Math.cos(phi), v = Math.max(b, 0.5) * Math.sin(phi);
    // major axis along (sin th, cos th) in (east, north)
    const east = u * Math.sin(th) + v * Math.cos(th);
    const north = u * Math.cos(th) - v * Math.sin(th);
    ring.push([lon + east / kx, lat + north / M_PER_DEG]);
  }
  return ring;
}

const BLANK_STYLE = {
  version: 8,
  sources: {},
  layers: [{ id: "background", type: "background", paint: { "background-color": "#0e1621" } }],
};

// Load the vendored library; null when `make` has not installed it.
export async function loadMapLibrary() {
  try {
    return await import("./vendor/maplibre-gl.mjs");
  } catch (err) {
    console.warn("map library not available", err);
    return null;
  }
}

export class SensorMap {
  constructor(lib, container, { onSelect, describe }) {
    this.lib = lib;
    this.onSelect = onSelect;
    this.describe = describe;
    this.states = [];
    this.selected = null;
    this.map = new lib.Map({
      container,
      style: CONFIG.styleUrl ?? BLANK_STYLE,
      center: [4.29, 52.096],
      zoom: 14,
      attributionControl: false,
    });
    this.map.addControl(new lib.NavigationControl({ showCompass: false }), "top-right");
    this.map.addControl(new lib.ScaleControl({ unit: "metric" }), "bottom-left");
    this.loaded = new Promise((resolve) => this.map.on("load", resolve));
    this.hover = new lib.Popup({ closeButton: false, closeOnClick: false, className: "hover" });
  }

  async init() {
    await this.loaded;
    const m = this.map;
    m.addSource("zones", { type: "geojson", data: EMPTY, promoteId: "zone" });
    m.addSource("sensors", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    m.addSource("detections", { type: "geojson", data: EMPTY });
    m.addSource("evidence", { type: "geojson", data: EMPTY });
    m.addLayer({
      id: "zones-fill",
      type: "fill",
      source: "zones",
      // Coloured by the crowd's level of service (Fruin A-F) where the zone is measured.
      paint: {
        "fill-color": ["match", ["coalesce", ["feature-state", "los"], "-"],
          "A", "#22c55e", "B", "#84cc16", "C", "#eab308", "D", "#f59e0b", "E", "#f97316",
          "F", "#ef4444", "#38bdf8"],
        "fill-opacity": ["case", ["==", ["coalesce", ["feature-state", "los"], "-"], "-"], 0.12, 0.3],
      },
    });
    m.addLayer({
      id: "zones-line",
      type: "line",
      source: "zones",
      paint: { "line-color": "#38bdf8", "line-width": 2 },
    });
    const state = ["coalesce", ["feature-state", "st"], "never"];
    const selected = ["boolean", ["feature-state", "sel"], false];
    m.addLayer({
      id: "sensors",
      type: "circle",
      source: "sensors",
      paint: {
        "circle-color": ["match", state, "live", COLORS.live, "stale", COLORS.stale,
          "off", COLORS.off, "quarantined", COLORS.quarantined, COLORS.never],
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 10, 1.5, 14, 4, 18, 10],
        "circle-stroke-color": ["case", selected, "#ffffff", "#0e1621"],
        "circle-stroke-width": ["case", selected, 3, 1],
      },
    });
    // Detections on top: the sensors that heard one (lines), its ellipse, its centre.
    m.addLayer({
      id: "evidence",
      type: "line",
      source: "evidence",
      paint: { "line-color": KIND_COLORS, "line-width": 1.5, "line-dasharray": [2, 2], "line-opacity": 0.8 },
    });
    m.addLayer({
      id: "detections-ellipse",
      type: "fill",
      source: "detections",
      filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": KIND_COLORS, "fill-opacity": 0.35, "fill-outline-color": "#ffffff" },
    });
    m.addLayer({
      id: "detections-outline",
      type: "line",
      source: "detections",
      filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "line-color": "#ffffff", "line-width": 1.5 },
    });
    m.addLayer({
      id: "detections",
      type: "circle",
      source: "detections",
      filter: ["==", ["geometry-type"], "Point"],
      paint: {
        "circle-color": KIND_COLORS,
        "circle-radius": ["case", ["boolean", ["get", "selected"], false], 5, 4],
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 1,
      },
    });
    m.on("click", "detections", (e) => this.onDetection?.(e.features[0].properties.id));
    m.on("click", "zones-fill", (e) => {
      // A sensor, a detection or a shown substation or supply area on top of the zone takes
      // the click (hidden layers render nothing, so they never do).
      const over = OVER_ZONES.filter((id) => m.getLayer(id));
      if (m.queryRenderedFeatures(e.point, { layers: over }).length) return;
      const zone = e.features.find((f) => f.properties.zone !== undefined);
      if (zone) this.onZone?.(zone.properties.zone);
    });
    m.on("click", "sensors", (e) => this.onSelect(e.features[0].id));
    m.on("mousemove", "sensors", (e) => {
      m.getCanvas().style.cursor = "pointer";
      this.hover.setLngLat(e.features[0].geometry.coordinates)
        .setText(this.describe(e.features[0].id)).addTo(m);
    });
    m.on("mouseleave", "sensors", () => {
      m.getCanvas().style.cursor = "";
      this.hover.remove();
    });
  }

  setZones(collection) {
    const features = collection.features.map((f) => ({ ...f, properties: { ...f.properties, zone: f.id } }));
    this.map.getSource("zones").setData({ ...collection, features });
    for (const marker of this.zoneLabels ?? []) marker.remove();
    this.zoneText = new Map();
    // Zone names as HTML labels: text layers would need a glyph server.
    this.zoneLabels = collection.features.map((f) => {
      const el = document.createElement("div");
      el.className = "zone-label";
      el.dataset.zone = f.id;
      el.textContent = f.properties?.name ?? f.id ?? "";
      this.zoneText.set(f.id, [el, el.textContent]);
      const ring = f.geometry.coordinates[0];
      const c = ring.reduce(([x, y], [a, b]) => [x + a / ring.length, y + b / ring.length], [0, 0]);
      return new this.lib.Marker({ element: el }).setLngLat(c).addTo(this.map);
    });
  }

  // Crowd state per zone: colour by level of service, density in the label.
  setZoneStates(states, describe) {
    for (const st of states) {
      this.map.setFeatureState({ source: "zones", id: st.zone }, { los: st.updated ? st.los : "-" });
      const entry = this.zoneText?.get(st.zone);
      if (entry) {
        entry[0].textContent = st.updated ? `${entry[1]} · ${describe(st)}` : entry[1];
        entry[0].dataset.los = st.updated ? st.los : "";
        entry[0].dataset.warning = st.warning ?? "none";
      }
    }
  }

  setSensors(devices) {
    this.states = devices.map(() => null);
    this.map.getSource("sensors").setData({
      type: "FeatureCollection",
      features: devices.map((d, i) => ({
        type: "Feature",
        id: i,
        geometry: { type: "Point", coordinates: [d.position.lon, d.position.lat] },
        properties: { device: d.id, kind: d.kind, agency: d.agency },
      })),
    });
    this.selected = null;
  }

  fit(devices, zones) {
    const b = new this.lib.LngLatBounds();
    for (const d of devices) b.extend([d.position.lon, d.position.lat]);
    for (const f of zones.features) for (const p of f.geometry.coordinates[0]) b.extend(p);
    if (!b.isEmpty()) this.map.fitBounds(b, { padding: 40, duration: 0, maxZoom: 17 });
  }

  setState(i, st) {
    if (this.states[i] === st) return;
    this.states[i] = st;
    this.map.setFeatureState({ source: "sensors", id: i }, { st });
  }

  select(i, fly = false, position = null) {
    if (this.selected !== null) this.map.setFeatureState({ source: "sensors", id: this.selected }, { sel: false });
    this.selected = i;
    if (i === null) return;
    this.map.setFeatureState({ source: "sensors", id: i }, { sel: true });
    const at = position && [position.lon, position.lat];
    // Pan only to bring a sensor into view: the operator keeps the overview they chose.
    if (fly && at && !this.map.getBounds().contains(at)) this.map.easeTo({ center: at, duration: 300 });
  }

  // Draw detections (newest version of each); `selected` gets the lines to its sensors.
  setDetections(detections, sensorsById, selected = null) {
    const features = [];
    const lines = [];
    for (const d of detections) {
      if (!d.position) continue;
      const { lon, lat } = d.position;
      const props = { id: d.id, kind: d.kind, selected: d.id === selected };
      if (d.uncertainty) {
        features.push({ type: "Feature", properties: props,
          geometry: { type: "Polygon", coordinates: [ellipseRing(lon, lat, d.uncertainty)] } });
      }
      features.push({ type: "Feature", properties: props, geometry: { type: "Point", coordinates: [lon, lat] } });
      if (d.id !== selected) continue;
      for (const s of d.sensors ?? []) {
        const dev = sensorsById(s);
        if (!dev) continue;
        lines.push({ type: "Feature", properties: { kind: d.kind, sensor: s },
          geometry: { type: "LineString", coordinates: [[lon, lat], [dev.position.lon, dev.position.lat]] } });
      }
    }
    this.map.getSource("detections").setData({ type: "FeatureCollection", features });
    this.map.getSource("evidence").setData({ type: "FeatureCollection", features: lines });
  }

  // A GeoJSON polygon layer (fill and outline) under the sensors, hidden until shown; a click
  // on it goes to `onClick(feature)` unless a sensor or detection on top takes it. Asking again
  // for the same id (after a new login) gives the same layer, with the new click handler.
  polygonLayer(id, { color, opacity = 0.45, onClick }) {
    this.polygons ??= new Map();
    const known = this.polygons.get(id);
    if (known) {
      known.onClick = onClick;
      return known;
    }
    const m = this.map;
    const layers = [`${id}-fill`, `${id}-line`];
    m.addSource(id, { type: "geojson", data: EMPTY });
    m.addLayer({ id: layers[0], type: "fill", source: id, layout: { visibility: "none" },
      paint: { "fill-color": color, "fill-opacity": opacity } }, "sensors");
    m.addLayer({ id: layers[1], type: "line", source: id, layout: { visibility: "none" },
      paint: { "line-color": color, "line-width": 1 } }, "sensors");
    let bounds = null;
    const layer = {
      onClick,
      setData: (collection) => {
        m.getSource(id).setData(collection);
        bounds = new this.lib.LngLatBounds();
        for (const f of collection.features) for (const p of f.geometry.coordinates[0]) bounds.extend(p);
      },
      show: (on) => layers.forEach((l) => m.setLayoutProperty(l, "visibility", on ? "visible" : "none")),
      // Bring the layer into view when it lies outside it (a forecast may cover another area).
      reveal: () => {
        if (bounds && !bounds.isEmpty() && !m.getBounds().contains(bounds.getCenter())) {
          m.fitBounds(bounds, { padding: 40, duration: 0, maxZoom: 15 });
        }
      },
    };
    m.on("click", layers[0], (e) => {
      if (m.queryRenderedFeatures(e.point, { layers: ["sensors", "detections"] }).length) return;
      layer.onClick?.(e.features[0]);
    });
    this.polygons.set(id, layer);
    return layer;
  }

  flyTo(position) {
    // Close enough that a 95 % ellipse of a few metres is visible around the marker.
    this.map.easeTo({ center: [position.lon, position.lat], zoom: Math.max(this.map.getZoom(), 17.5), duration: 400 });
  }

  resize() {
    this.map.resize();
  }
}
