// The dashboard: login, then the map, the live feed and a sensor's details, fed by the API.
import * as api from "./api.js";
import { CONFIG } from "./config.js";
import { Detections } from "./detections.js";
import { Feed } from "./feed.js";
import { Hotspots } from "./hotspots.js";
import { Health } from "./health.js";
import { Resilience } from "./resilience.js";
import { Incidents, post } from "./incidents.js";
import { el, formatAgo, formatClock, formatDateTime, formatNumber, formatValues } from "./format.js";
import { lang, setLang, t, translatePage } from "./i18n.js";
import { loadMapLibrary, SensorMap } from "./map.js";

const $ = (id) => document.getElementById(id);

const state = {
  devices: [],
  index: new Map(), // device id -> index in devices
  last: [], // per device: the newest reading seen, or null
  zones: { type: "FeatureCollection", features: [] },
  pending: [], // readings received since the last redraw
  zoneStates: [], // crowd state per zone, from /v1/zones
  selectedZone: null,
  selected: null,
  recent: [], // newest first, of the selected sensor
  skewMs: null, // browser clock minus server clock, estimated from the stream
  lastId: 0,
  resumeFrom: null,
  counts: { live: 0, stale: 0, never: 0, quarantined: 0, off: 0 },
  me: null, // {name, agency, role} of the user logged in
  clear: null, // the "clear quarantine" form of the selected sensor: {device, node}
  clearMessage: null, // {device, text, error}: the server's answer to the last clear
  map: null,
  feed: null,
  detections: null,
  incidents: null,
  hotspots: null, // the hotspot forecast layer (issue #8)
  health: null, // sensor health layer (issue #9)
  resilience: null, // infrastructure and "what if this fails" (issue #9)
  stream: null,
  timers: [],
};
window.stadswacht = state; // for the browser test and for operators' consoles

function serverNow() {
  return Date.now() - (state.skewMs ?? 0);
}

// A quarantined sensor still sends (its readings are kept, the detectors leave them out): it
// has its own state, not "decommissioned".
function sensorState(i) {
  const status = state.devices[i].status;
  if (status === "quarantined") return "quarantined";
  if (status !== "active") return "off";
  const last = state.last[i];
  if (!last) return "never";
  return serverNow() - last.received_us / 1000 > CONFIG.staleAfterS * 1000 ? "stale" : "live";
}

// --- login ---------------------------------------------------------------------------------
function showLogin(message = "") {
  stop();
  $("dashboard").hidden = true;
  $("login").hidden = false;
  for (const id of ["conn", "who", "logout"]) $(id).hidden = true;
  $("login-error").textContent = message;
  $("username").focus();
}

async function onLogin(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    await api.login($("username").value, $("password").value);
  } catch (err) {
    $("login-error").textContent = t("loginFailed", { detail: err.message });
    return;
  }
  $("password").value = "";
  start();
}

// --- dashboard -----------------------------------------------------------------------------
async function start() {
  $("login").hidden = true;
  $("dashboard").hidden = false;
  for (const id of ["conn", "who", "logout"]) $(id).hidden = false;
  $("who").textContent = api.session()?.user ?? "";
  state.me = null;
  api.get("/v1/users/me").then((me) => {
    state.me = me;
    if (state.selected !== null) renderDetails();
  }).catch((err) => console.warn("who am I", err));
  state.feed = new Feed($("feed"), { rows: CONFIG.feedRows });
  const lib = await loadMapLibrary();
  if (!lib) {
    mapMessage(t("noMapLib"));
  } else if (!state.map) {
    try {
      state.map = new SensorMap(lib, $("map"), { onSelect: select, describe });
      state.map.onZone = selectZone;
      await state.map.init();
    } catch (err) {
      state.map = null;
      mapMessage(t("noWebGL", { detail: err.message }));
    }
  }
  try {
    await loadDevices(true);
  } catch (err) {
    if (err instanceof api.Unauthorized) return showLogin(t("sessionExpired"));
    mapMessage(t("loadFailed", { what: "/v1/devices", detail: err.message }));
  }
  openStream();
  seed();
  state.detections = new Detections({
    list: $("detections"),
    details: $("detection"),
    map: state.map,
    device: (id) => state.devices[state.index.get(id)],
    areaName: (id) => state.zones.features.find((f) => f.id === id)?.properties?.name ?? id,
    // An infra finding may quarantine sensors or silence them: devices and health follow.
    onLive: (d) => d.kind === "infra" && refreshInfraSoon(),
  });
  state.detections.open();
  // --- incidents (issue #7): list, detail, actions; evidence opens in the detections panel ---
  state.incidents = new Incidents({
    list: $("incidents"),
    details: $("incident"),
    map: state.map,
    purpose: CONFIG.purpose ?? null,
    areaName: (id) => state.zones.features.find((f) => f.id === id)?.properties?.name ?? id,
    selectDetection: (id) => {
      if (!state.detections?.byId.has(id)) return false;
      state.detections.select(id, true);
      return true;
    },
  });
  state.incidents.open();
  // --- hotspot forecast (issue #8): a map layer of the newest run the user may read, off at first ---
  state.hotspots = new Hotspots({ box: $("hotspots"), map: state.map });
  state.hotspots.load();
  // --- end hotspot forecast ---
  // --- resilience (issue #9): sensor health layer and "what if this fails", off at first ---
  state.health = new Health({ box: $("resilience"), map: state.map });
  state.health.load();
  state.resilience = new Resilience({ box: $("resilience"), map: state.map });
  state.resilience.load();
  pollZones();
  state.timers.push(setInterval(pollZones, CONFIG.zonesEveryMs ?? 5000));
  state.timers.push(setInterval(redraw, CONFIG.renderEveryMs), setInterval(tick, 1000));
}

function stop() {
  for (const id of state.timers) clearInterval(id);
  state.timers = [];
  state.stream?.close();
  state.stream = null;
  state.detections?.close();
  state.detections = null;
  state.incidents?.close();
  state.incidents = null;
  state.hotspots?.clear(); // hotspot forecast (issue #8): not left on the map after logout
  state.hotspots = null;
  state.health?.clear(); // resilience (issue #9): nothing left on the map after logout
  state.health = null;
  state.resilience?.clear();
  state.resilience = null;
}

// At most every 2 s after infra findings come in: the devices (a quarantine changes their
// status) and the sensor health layer, fetched again.
let infraRefresh = null;
function refreshInfraSoon() {
  if (infraRefresh !== null) return;
  infraRefresh = setTimeout(() => {
    infraRefresh = null;
    if (!state.detections) return; // logged out meanwhile
    loadDevices(false).catch((err) => console.warn("reload of devices failed", err));
    state.health?.load();
  }, 2000);
}

function mapMessage(text) {
  $("map-message").textContent = text;
  $("map-message").hidden = false;
}

async function loadDevices(fit) {
  const [devices, zones] = await Promise.all([api.get("/v1/devices"), api.get("/v1/areas")]);
  const lastById = new Map(state.devices.map((d, i) => [d.id, state.last[i]]));
  const selectedId = state.selected === null ? null : state.devices[state.selected].id;
  state.devices = devices;
  state.index = new Map(devices.map((d, i) => [d.id, i]));
  state.last = devices.map((d) => lastById.get(d.id) ?? null);
  state.zones = zones;
  if (state.map) {
    state.map.setZones(zones);
    state.map.setSensors(devices);
    if (fit) state.map.fit(devices, zones);
    devices.forEach((_, i) => state.map.setState(i, sensorState(i)));
  }
  state.selected = null;
  if (selectedId !== null && state.index.has(selectedId)) select(state.index.get(selectedId));
  tick();
}

// The newest readings from before the page opened, so the map starts with last values.
async function seed() {
  const since = new Date(Date.now() - CONFIG.staleAfterS * 1000).toISOString();
  try {
    const page = await api.get("/v1/readings", { since, limit: 10000 });
    state.pending.unshift(...page.items);
  } catch (err) {
    console.warn("could not load recent readings", err);
  }
}

function openStream() {
  setConn("connecting");
  const es = new EventSource(api.streamUrl());
  state.stream = es;
  let fresh = null; // ids received on this connection while a backfill is under way
  es.addEventListener("ready", async () => {
    setConn("live");
    if (state.resumeFrom === null) return;
    // Readings stored while the stream was down: fetch them once, skip what streamed already.
    const after = state.resumeFrom;
    state.resumeFrom = null;
    fresh = new Set();
    try {
      const page = await api.get("/v1/readings", { after_id: after, limit: 10000 });
      state.pending.push(...page.items.filter((r) => !fresh.has(r.id)));
    } catch (err) {
      console.warn("backfill failed", err);
    }
    fresh = null;
  });
  es.addEventListener("reading", (e) => {
    const r = JSON.parse(e.data);
    fresh?.add(r.id);
    const skew = Date.now() - r.received_us / 1000;
    state.skewMs = state.skewMs === null ? skew : Math.min(state.skewMs, skew);
    if (r.id > state.lastId) state.lastId = r.id;
    state.pending.push(r);
  });
  es.onerror = async () => {
    setConn("down");
    if (state.resumeFrom === null && state.lastId) state.resumeFrom = state.lastId;
    if (es.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    try {
      await api.get("/v1/users/me");
    } catch (err) {
      if (err instanceof api.Unauthorized) return showLogin(t("sessionExpired"));
    }
    setTimeout(() => state.stream === es && openStream(), 3000);
  };
}

function setConn(which) {
  const conn = $("conn");
  conn.dataset.state = which;
  conn.textContent = t({ live: "streamLive", down: "streamDown", connecting: "streamConnecting" }[which]);
}

// --- crowd zones: level of service and density, from the crowd detector ---------------------
async function pollZones() {
  try {
    state.zoneStates = await api.get("/v1/zones");
  } catch (err) {
    if (err instanceof api.Unauthorized) return showLogin(t("sessionExpired"));
    return; // no detectors in this process: zones keep their plain colour
  }
  state.map?.setZoneStates(state.zoneStates, zoneLabel);
  renderZone();
}

// Counts of a handful of people come coarsened from the API ("<5"): shown as such.
function zoneLabel(st) {
  return st.density === null ? t("fewPeople", { n: st.occupancy_coarse })
    : t("zoneDensity", { d: formatNumber(st.density, 2), los: st.los });
}

const perMin = (value, coarse) => (value === null ? coarse : value.toFixed(0));

function selectZone(id) {
  state.selectedZone = id;
  renderZone();
  pollZones();
}

// The selected zone: its crowd state now and its forecast with the 80 % band.
function renderZone() {
  const box = $("zone");
  const st = state.zoneStates.find((z) => z.zone === state.selectedZone);
  if (!state.selectedZone || !st) {
    box.hidden = true;
    return;
  }
  const measured = st.updated !== null;
  const flows = st.gates.map((g) => `${g.gate}: ${t("flowInOut", {
    i: perMin(g.in_per_min, g.in_coarse), o: perMin(g.out_per_min, g.out_coarse) })}`).join(" · ");
  const coarse = st.occupancy === null;
  const rows = [
    ["zoneOccupancy", !measured ? t("never") : coarse ? st.occupancy_coarse
      : `${Math.round(st.occupancy)} ± ${Math.round(st.occupancy_sd)}`],
    ["zoneDensityNow", !measured ? "—" : coarse ? `— (${st.los})` : `${formatNumber(st.density, 2)} p/m² (${st.los})`],
    ["zoneArea", `${Math.round(st.walkable_area_m2)} m²`],
    ["zoneWarning", st.warning && st.warning !== "none" ? t(`level_${st.warning}`) : t("noWarning")],
    ["zoneFlows", flows || "—"],
  ];
  if (st.counter_flow?.flagged) rows.push(["zoneCounterFlow", t("counterFlowHigh")]);
  if (st.silent_gates.length) rows.push(["zoneSilent", st.silent_gates.join(", ")]);
  box.querySelector("h2 span").textContent = st.name;
  box.querySelector("dl").replaceChildren(...rows.flatMap(([k, v]) => [
    el("dt", {}, t(k)), el("dd", { dataset: { field: k } }, v)]));
  // The list names a few horizons; the chart draws every point with its band.
  const listed = st.forecast.filter((p) => FORECAST_LISTED_MIN.includes(p.horizon_min));
  box.querySelector(".forecast").replaceChildren(...(listed.length ? listed.map((p) =>
    el("li", {}, el("time", {}, `${formatClock(p.time)} (+${formatHorizon(p.horizon_min)})`),
      el("span", { className: "val" },
        `${formatNumber(p.density, 2)} p/m² [${formatNumber(p.low, 2)}–${formatNumber(p.high, 2)}]`)))
    : [el("li", { className: "muted" }, t("noForecast"))]));
  let chart = box.querySelector(".forecast-chart");
  if (!chart) {
    chart = el("div", { className: "forecast-chart" });
    box.querySelector(".forecast").before(chart);
  }
  chart.replaceChildren(...forecastChart(st));
  box.hidden = false;
}

const FORECAST_LISTED_MIN = [15, 30, 60, 120, 180];
const SVG = "http://www.w3.org/2000/svg";

function formatHorizon(min) {
  return min % 60 === 0 ? `${min / 60} h` : `${min} min`;
}

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

// The zone's forecast to 3 h as a line in its 80 % band, with the warning (2 p/m²) and
// critical (4 p/m²) densities, and a note on what it rests on (trend, normal band).
function forecastChart(st) {
  const note = el("p", { className: "muted forecast-basis", dataset: { basis: st.forecast_basis } },
    t(`forecastBasis_${st.forecast_basis}`));
  if (!st.forecast.length) return [note];
  const W = 260, H = 90, L = 26, B = 14, maxMin = 180;
  const top = Math.max(4.5, ...st.forecast.map((p) => p.high));
  const x = (min) => L + ((W - L - 4) * min) / maxMin;
  const y = (d) => H - B - ((H - B - 4) * d) / top;
  const pts = [{ horizon_min: 0, density: st.density ?? st.forecast[0].density,
    low: st.density ?? st.forecast[0].low, high: st.density ?? st.forecast[0].high }, ...st.forecast];
  const band = [...pts.map((p) => `${x(p.horizon_min)},${y(p.high)}`),
    ...pts.slice().reverse().map((p) => `${x(p.horizon_min)},${y(p.low)}`)].join(" ");
  const line = pts.map((p) => `${x(p.horizon_min)},${y(p.density)}`).join(" ");
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img",
    "aria-label": t("zoneForecast") });
  root.append(
    svg("polygon", { class: "band", points: band, fill: "#3b82f6", "fill-opacity": "0.25" }),
    svg("polyline", { class: "line", points: line, fill: "none", stroke: "#1d4ed8", "stroke-width": "1.5" }));
  for (const [d, colour] of [[2, "#d97706"], [4, "#dc2626"]]) {
    root.append(svg("line", { x1: L, x2: W - 4, y1: y(d), y2: y(d), stroke: colour, "stroke-dasharray": "3 3" }),
      svg("text", { x: 2, y: y(d) + 3, "font-size": "9", fill: colour }, `${d}`));
  }
  for (const min of [0, 60, 120, 180]) {
    const anchor = min === 0 ? "start" : min === maxMin ? "end" : "middle";
    root.append(svg("text", { x: x(min), y: H - 2, "font-size": "9", fill: "currentColor", "text-anchor": anchor },
      min === 0 ? t("forecastNow") : `+${min / 60} h`));
  }
  return [root, note];
}

// --- redraw, at most every CONFIG.renderEveryMs: every reading is applied, few are drawn ----
let reloadAfter = 0;

function redraw() {
  const batch = state.pending;
  if (batch.length === 0) return state.feed.flush();
  state.pending = [];
  const dirty = new Set();
  let unknown = false;
  for (const r of batch) {
    const i = state.index.get(r.device);
    if (i === undefined) {
      unknown = true;
    } else {
      const prev = state.last[i];
      if (!prev || r.received_us >= prev.received_us) {
        state.last[i] = r;
        dirty.add(i);
      }
      if (i === state.selected) state.recent.unshift(r);
    }
    state.feed.push(r);
  }
  state.feed.flush();
  if (state.map) for (const i of dirty) state.map.setState(i, sensorState(i));
  if (state.selected !== null && dirty.has(state.selected)) renderDetails();
  if (unknown && Date.now() > reloadAfter) {
    // A device registered after the page opened: fetch the list again, at most every 10 s.
    reloadAfter = Date.now() + 10000;
    loadDevices(false).catch((err) => console.warn("reload of devices failed", err));
  }
}

// Once a second: staleness, counters, and the "last seen" of the selected sensor.
function tick() {
  const counts = { live: 0, stale: 0, never: 0, quarantined: 0, off: 0 };
  for (let i = 0; i < state.devices.length; i++) {
    const st = sensorState(i);
    counts[st] += 1;
    state.map?.setState(i, st);
  }
  state.counts = counts;
  $("sensor-count").textContent = String(state.devices.length);
  for (const k of Object.keys(counts)) {
    const node = $(`count-${k}`);
    if (node) node.textContent = String(counts[k]);
  }
  $("rate").textContent = String(state.feed?.rate ?? 0);
  $("total").textContent = String(state.feed?.total ?? 0);
  if (state.selected !== null) renderDetails();
}

// --- details and search --------------------------------------------------------------------
function describe(i) {
  const d = state.devices[i];
  const last = state.last[i];
  return last ? `${d.id} · ${formatValues(last.values)}` : `${d.id} · ${t("never")}`;
}

async function select(i, fly = false) {
  if (state.clearMessage && state.clearMessage.device !== state.devices[i].id) state.clearMessage = null;
  state.selected = i;
  state.recent = state.last[i] ? [state.last[i]] : [];
  state.map?.select(i, fly, state.devices[i].position);
  renderDetails();
  const d = state.devices[i];
  try {
    const since = new Date(Date.now() - 600_000).toISOString();
    const page = await api.get("/v1/readings", { device: d.id, since, limit: 10000 });
    if (state.selected !== i) return;
    const seen = new Set(state.recent.map((r) => r.id));
    const older = page.items.filter((r) => !seen.has(r.id)).reverse();
    state.recent = [...state.recent, ...older].sort((a, b) => b.received_us - a.received_us);
    renderDetails();
  } catch (err) {
    console.warn("could not load readings of", d.id, err);
  }
}

function renderDetails() {
  const box = $("details");
  if (state.selected === null) {
    box.hidden = true;
    return;
  }
  const i = state.selected;
  const d = state.devices[i];
  const last = state.last[i];
  const zone = state.zones.features.find((f) => f.id === d.area);
  const st = sensorState(i);
  const rows = [
    ["kind", d.kind],
    ["agency", d.agency],
    ["area", zone?.properties?.name ?? d.area ?? "—"],
    ["status", t(st)],
    ["position", `${d.position.lat.toFixed(5)}, ${d.position.lon.toFixed(5)}`],
    ["lastSeen", last ? formatAgo(serverNow() - last.received_us / 1000) : t("never")],
    ["lastValue", last ? formatValues(last.values) : "—"],
  ];
  $("details-title").textContent = d.id;
  $("details-state").dataset.state = st;
  $("details-list").replaceChildren(...rows.flatMap(([k, v]) => [
    el("dt", {}, t(k)), el("dd", { dataset: { field: k } }, v)]));
  $("details-recent").replaceChildren(...state.recent.slice(0, 10).map((r) =>
    el("li", {}, el("time", {}, formatClock(r.time)), el("span", { className: "val" }, formatValues(r.values)))));
  renderQuarantine(d);
  box.hidden = false;
}

// --- quarantine (issue #9): why a sensor is quarantined, and a person clearing it ------------
// Who may clear (api/routes/devices.py QUARANTINE_ROLES, and administrators); the server
// decides, the panel only leaves the button out for the others.
const CLEAR_ROLES = new Set(["integrator", "supervisor", "admin"]);

function tOr(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

// Facts, form and message in slots of their own: the facts are redrawn every second, the form
// only when it changes, so what is typed in it keeps its focus.
function quarantineBox() {
  let box = $("details-quarantine");
  if (!box) {
    box = el("div", { id: "details-quarantine", className: "quarantine" },
      el("div", { className: "q-facts" }), el("div", { className: "q-form" }), el("div", { className: "q-msg" }));
    $("details-list").after(box);
  }
  return box;
}

function renderQuarantine(d) {
  const box = quarantineBox();
  const [facts, formSlot, msgSlot] = box.children;
  const quarantined = d.status === "quarantined";
  const msg = state.clearMessage?.device === d.id ? state.clearMessage : null;
  if (state.clear && (state.clear.device !== d.id || !quarantined)) state.clear = null;
  box.hidden = !quarantined && !msg;
  const parts = [];
  if (quarantined) {
    const q = d.quarantine ?? {};
    const detection = q.detection && state.detections?.byId.has(q.detection)
      ? el("button", { type: "button", className: "link", onclick: () => state.detections.select(q.detection, true) },
        q.detection)
      : q.detection ?? "—";
    const rows = [
      ["qCheck", q.check ? `${tOr(`infraCheck_${q.check}`, q.check)} (${q.check})` : "—"],
      ["qReason", q.reason ?? "—"],
      ["qSince", q.since ? `${formatDateTime(q.since)} (${formatAgo(serverNow() - Date.parse(q.since))})` : "—"],
      ["qDetection", detection],
    ];
    parts.push(el("h3", {}, t("detQuarantine")),
      el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", { dataset: { field: k } }, v)])));
  }
  facts.replaceChildren(...parts);
  const form = quarantined && CLEAR_ROLES.has(state.me?.role) ? clearForm(d) : null;
  if (formSlot.firstChild !== form) formSlot.replaceChildren(...(form ? [form] : []));
  msgSlot.replaceChildren(...(msg
    ? [el("p", { className: msg.error ? "inc-msg error" : "inc-msg ok", role: "alert" }, msg.text)] : []));
}

// The form survives the panel's redraw every second: the same node, with what was typed.
function clearForm(d) {
  if (state.clear?.device === d.id) {
    state.clear.node.querySelector("label span").textContent = t("qNote");
    state.clear.node.querySelector("button").textContent = t("qClear");
    return state.clear.node;
  }
  const input = el("input", { name: "note", required: true, minLength: 3, maxLength: 2000, autocomplete: "off" });
  const node = el("form", { className: "inc-form q-clear", onsubmit: (e) => {
    e.preventDefault();
    clearQuarantine(d.id, input.value);
  } },
  el("label", {}, el("span", {}, t("qNote")), input),
  el("div", { className: "inc-form-buttons" }, el("button", { type: "submit", className: "confirm" }, t("qClear"))));
  state.clear = { device: d.id, node };
  return node;
}

async function clearQuarantine(id, note) {
  if (note.trim().length < 3) return;
  try {
    const device = await post(`/v1/devices/${encodeURIComponent(id)}/clear`, { note: note.trim() });
    state.clear = null;
    state.clearMessage = { device: id, text: t("qCleared"), error: false };
    const i = state.index.get(id);
    if (i !== undefined) state.devices[i] = device;
    state.health?.load();
  } catch (err) {
    if (err instanceof api.Unauthorized) return showLogin(t("sessionExpired"));
    state.clearMessage = { device: id, text: t("incRefused", { detail: err.message }), error: true };
    // What the server knows may differ from what the page shows (cleared by someone else).
    loadDevices(false).catch((e) => console.warn("reload of devices failed", e));
  }
  tick();
}

function onSearch() {
  const q = $("search").value.trim().toLowerCase();
  const out = $("search-results");
  if (!q) return out.replaceChildren();
  const hits = [];
  for (let i = 0; i < state.devices.length && hits.length < 20; i++) {
    if (state.devices[i].id.toLowerCase().includes(q)) hits.push(i);
  }
  out.replaceChildren(...(hits.length ? hits.map((i) => el("li", {},
    el("button", { type: "button", onclick: () => { select(i, true); out.replaceChildren(); } },
      state.devices[i].id))) : [el("li", { className: "none" }, t("noMatch"))]));
}

function switchLang(code) {
  setLang(code);
  localStorage.setItem("stadswacht.lang", code);
  translatePage();
  for (const b of document.querySelectorAll("[data-lang]")) b.ariaPressed = String(b.dataset.lang === lang());
  if (state.stream) setConn($("conn").dataset.state);
  if (!$("dashboard").hidden) tick();
  if (state.zoneStates.length) state.map?.setZoneStates(state.zoneStates, zoneLabel);
  state.detections?.render();
  state.detections?.renderDetails();
  state.incidents?.render();
  state.incidents?.renderDetails();
  state.hotspots?.render(); // hotspot forecast (issue #8)
  state.health?.render(); // resilience (issue #9)
  state.resilience?.render();
  renderZone();
}

// --- boot ----------------------------------------------------------------------------------
function boot() {
  const preferred = localStorage.getItem("stadswacht.lang") ?? CONFIG.lang ??
    (navigator.language?.startsWith("nl") ? "nl" : "en");
  switchLang(preferred);
  for (const b of document.querySelectorAll("[data-lang]")) b.onclick = () => switchLang(b.dataset.lang);
  $("login-form").addEventListener("submit", onLogin);
  $("logout").onclick = () => {
    api.logout();
    showLogin();
  };
  $("details-close").onclick = () => {
    state.map?.select(null);
    state.selected = null;
    renderDetails();
  };
  $("zone-close").onclick = () => {
    state.selectedZone = null;
    renderZone();
  };
  $("detection-close").onclick = () => {
    state.detections?.select(null, false);
  };
  $("incident-close").onclick = () => state.incidents?.select(null, false);
  $("search").addEventListener("input", onSearch);
  $("search").addEventListener("keydown", (e) => {
    if (e.key === "Enter") $("search-results").querySelector("button")?.click();
  });
  if (api.session()) start();
  else showLogin();
}

boot();
