// Detections: the list in the side panel, the map layers, and the live stream that feeds them.
import * as api from "./api.js";
import { el, formatClock, formatDateTime, formatNumber } from "./format.js";
import { lang, t } from "./i18n.js";

// The kinds an impulse detector raises: shown with rounds, an ellipse and the reports heard.
const IMPULSE = new Set(["gunshot", "fireworks", "impulsive_other"]);

// A key's text in the language shown, or `fallback` when there is no such key.
function tOr(key, fallback, vars = {}) {
  const text = t(key, vars);
  return text === key ? fallback : text;
}

// A kind's name in the language shown; a kind without a string shows as it is.
export function kindName(kind) {
  return tOr(`kind_${kind}`, kind);
}

// The detector's own one-line summary, in the language shown (English when there is no Dutch).
function summaryOf(d) {
  const x = d.details ?? {};
  return (lang() === "nl" ? x.summary_nl : null) ?? x.summary_en ?? "";
}

export class Detections {
  // `map` may be null (no WebGL); `device(id)` gives a registered device or undefined;
  // `areaName(id)` names an area; `onLive(d)` hears of every detection that comes in live.
  constructor({ list, details, map, device, areaName = null, onLive = null }) {
    this.list = list;
    this.details = details;
    this.map = map;
    this.device = device;
    this.areaName = areaName ?? ((id) => id);
    this.onLive = onLive;
    this.byId = new Map();
    this.selected = null;
    this.stream = null;
    if (map) map.onDetection = (id) => this.select(id, false);
  }

  // The newest detections of the last two days (a replayed scenario's night can be more than a
  // day old), and every hazard warning of the last week, so a warning in force is never missed.
  async load(sinceMs = 48 * 3600 * 1000) {
    const since = new Date(Date.now() - sinceMs).toISOString();
    const week = new Date(Date.now() - 7 * 24 * 3600 * 1000).toISOString();
    const [found, hazards] = await Promise.all([
      api.get("/v1/detections", { since, limit: 1000, newest_first: true }),
      api.get("/v1/detections", { since: week, kind: "hazard", limit: 1000, newest_first: true }),
    ]);
    for (const d of [...found, ...hazards]) this.put(d, false);
    this.render();
  }

  open() {
    const es = new EventSource(api.streamUrl("/v1/stream/detections"));
    this.stream = es;
    es.addEventListener("detection", (e) => this.put(JSON.parse(e.data), true));
    // The browser reconnects by itself; detections missed meanwhile come with the next load.
    es.addEventListener("ready", () => this.load().catch((err) => console.warn("detections", err)));
  }

  close() {
    this.stream?.close();
    this.stream = null;
  }

  put(d, live) {
    const old = this.byId.get(d.id);
    if (old && old.version > d.version) return;
    this.byId.set(d.id, d);
    if (live) {
      this.onLive?.(d);
      this.render();
      // A new gunshot takes the operator's attention; an update of the selected one refreshes it.
      if (!old && d.kind === "gunshot") this.select(d.id, true);
      else if (this.selected === d.id) this.renderDetails();
    }
  }

  sorted() {
    return [...this.byId.values()].sort((a, b) => (a.time < b.time ? 1 : -1));
  }

  render() {
    const items = this.sorted();
    this.list.replaceChildren(...(items.length ? items.slice(0, 50).map((d) => {
      const crowd = d.kind === "crowd";
      const what = crowd ? `${d.details?.zone_name ?? d.area} · ${crowdLine(d)}`
        : d.kind === "hazard" ? `${d.details?.station_name ?? ""} · ${hazardLine(d)}`
        : IMPULSE.has(d.kind) ? t("roundsN", { n: d.details?.rounds ?? 1 })
        : summaryOf(d);
      const extra = d.kind === "gunshot" && d.uncertainty ? `±${d.uncertainty.semi_major_m.toFixed(1)} m` : "";
      return el("li", { className: d.id === this.selected ? "sel" : "" },
        el("button", { type: "button", onclick: () => this.select(d.id, true), dataset: { kind: d.kind, id: d.id } },
          el("time", {}, formatClock(d.time)),
          el("b", { className: `kind ${d.kind}` }, kindName(d.kind)),
          el("span", { className: "what" }, what),
          el("span", { className: "muted" }, extra)));
    }) : [el("li", { className: "none" }, t("noDetections"))]));
    this.map?.setDetections(items, this.device, this.selected);
    this.renderWarnings(items);
  }

  // The hazard warnings in force (newest version not an all clear), worst first, in the
  // colour of their level, with the link to the public CAP feed.
  renderWarnings(items) {
    const box = document.getElementById("warnings");
    if (!box) return;
    const rank = (d) => d.details?.level_index ?? -1;
    const active = items.filter((d) => d.kind === "hazard" && d.details?.level)
      .sort((a, b) => rank(b) - rank(a));
    box.replaceChildren(...(active.length ? active.map((d) =>
      el("li", { dataset: { level: d.details.level } },
        el("button", { type: "button", onclick: () => this.select(d.id, true) },
          el("b", { className: "wlevel" }, t(`wlevel_${d.details.level}`)),
          el("span", {}, `${t(`hazard_${d.details.hazard}`)} · ${d.details.station_name ?? d.area ?? ""}`),
          el("span", { className: "muted" }, formatClock(d.updated_at ?? d.detected_at)))))
      : [el("li", { className: "none" }, t("noWarnings"))]));
  }

  select(id, fly) {
    this.selected = id;
    const d = this.byId.get(id);
    this.render();
    this.renderDetails();
    if (fly && d?.position) this.map?.flyTo(d.position);
  }

  renderDetails() {
    const d = this.byId.get(this.selected);
    if (!d) {
      this.details.hidden = true;
      return;
    }
    const u = d.uncertainty;
    const rows = d.kind === "crowd" ? crowdRows(d) : d.kind === "hazard" ? hazardRows(d)
      : d.kind === "infra" ? infraRows(d) : d.kind === "websignal" ? websignalRows(d, this.areaName)
      : !IMPULSE.has(d.kind) ? otherRows(d) : [
      ["detKind", kindName(d.kind)],
      ["detTime", formatDateTime(d.time)],
      ["detRaised", formatDateTime(d.detected_at)],
      ["detRounds", String(d.details?.rounds ?? 1)],
      ["detProbability", `${Math.round(d.probability * 100)} %`],
      ["detPosition", d.position ? `${d.position.lat.toFixed(6)}, ${d.position.lon.toFixed(6)}` : "—"],
      ["detUncertainty", u ? t("ellipse", { a: u.semi_major_m.toFixed(1), b: u.semi_minor_m.toFixed(1) }) : "—"],
      ["detSensors", (d.sensors ?? []).join(", ")],
      ["detEvidence", t("evidenceN", { n: d.evidence?.length ?? 0 })],
    ];
    if (d.details?.poor_geometry) rows.push(["detWarning", t("poorGeometry")]);
    this.details.querySelector("h2 span").textContent = `${kindName(d.kind)} · ${d.id}`;
    this.details.querySelector("dl").replaceChildren(...rows.flatMap(([k, v]) => [
      el("dt", {}, t(k)), el("dd", { dataset: { field: k } }, v)]));
    this.details.hidden = false;
  }
}

function crowdLine(d) {
  const x = d.details ?? {};
  const density = x.basis === "forecast" && x.forecast_density != null ? x.forecast_density : x.density;
  return t("crowdLine", { level: t(`level_${x.level}`), d: formatNumber(density ?? 0, 2), basis: t(`basis_${x.basis}`) });
}

function hazardValue(x, v) {
  const unit = { water_level: "cm NAP", rain: "mm", temperature: "°C", wind: "m/s" }[x.quantity?.split(".")[0]] ?? "";
  return v == null ? "—" : `${Number(v).toFixed(0)} ${unit}`;
}

function hazardLine(d) {
  const x = d.details ?? {};
  return t("hazardLine", {
    hazard: t(`hazard_${x.hazard}`), level: t(`wlevel_${x.level ?? "none"}`),
    value: hazardValue(x, x.value), basis: t(`basis_${x.basis}`),
  });
}

function hazardRows(d) {
  const x = d.details ?? {};
  const rows = [
    ["detKind", `${t(`hazard_${x.hazard}`)} · ${t(`wlevel_${x.level ?? "none"}`)}`],
    ["detStation", `${x.station_name ?? ""} (${(d.sensors ?? []).join(", ")})`],
    ["detTime", formatDateTime(d.time)],
    ["detChange", `${t(`change_${x.change}`)} · ${formatDateTime(d.updated_at ?? d.detected_at)}`],
    ["detValue", `${hazardValue(x, x.value)} (${t(`basis_${x.basis}`)})`],
  ];
  if (x.onset) rows.push(["detOnset", formatDateTime(x.onset)]);
  if (x.peak != null) rows.push(["detPeak", `${hazardValue(x, x.peak)} · ${formatClock(x.peak_time)}`]);
  rows.push(["detLevels", Object.entries(x.levels ?? {}).map(([k, v]) => `${t(`wlevel_${k}`)} ${v}`).join(", ")]);
  rows.push(["detProbability", `${Math.round(d.probability * 100)} %`]);
  return rows;
}

function crowdRows(d) {
  const x = d.details ?? {};
  const rows = [
    ["detKind", `${t("kind_crowd")} · ${x.zone_name ?? d.area}`],
    ["detTime", formatDateTime(d.time)],
    ["detRaised", formatDateTime(d.detected_at)],
    ["detLevel", `${t(`level_${x.level}`)} (${formatNumber(x.threshold, Number.isInteger(x.threshold) ? 0 : 1)} p/m²)`],
    ["detDensity", `${formatNumber(x.density ?? 0, 2)} p/m²`],
  ];
  if (x.forecast_density != null) {
    const band = x.forecast_band_80
      ? ` [${formatNumber(x.forecast_band_80[0], 2)}–${formatNumber(x.forecast_band_80[1], 2)}]` : "";
    rows.push(["detForecast", `${formatNumber(x.forecast_density, 2)} p/m²${band} · ${formatClock(x.forecast_time)}`]);
  }
  rows.push(["detEscalate", (x.escalate_to ?? []).join(", ") || "—"]);
  return rows;
}

// An infrastructure finding (issue #9): what the infra detector says in words, which check
// found what on which sensors, since when, whether it is over and whether it quarantines them.
function infraRows(d) {
  const x = d.details ?? {};
  const devices = x.device ? [x.device] : x.devices ?? d.sensors ?? [];
  return [
    ["detKind", kindName(d.kind)],
    ["detSummary", summaryOf(d) || "—"],
    ["detType", x.type ? tOr(`infraType_${x.type}`, x.type) : "—"],
    ["detCheck", x.check ? `${tOr(`infraCheck_${x.check}`, x.check)} (${x.check})` : "—"],
    ["detDevices", devices.join(", ") || "—"],
    ["detBegan", formatDateTime(d.time)],
    ["detRaised", formatDateTime(d.detected_at)],
    ["detEnded", x.ended ? formatDateTime(x.ended) : t("detOngoing")],
    ["detQuarantine", t(x.quarantine ? "detQuarantineYes" : "detQuarantineNo")],
    ["detProbability", `${Math.round(d.probability * 100)} %`],
  ];
}

// A burst of web posts about one area (issue #10): how many people post about what against
// how many are normal, a few of the posts (authors already pseudonymised by the platform) and
// the area.
function websignalRows(d, areaName) {
  const x = d.details ?? {};
  const type = x.info_type_name?.[lang()] ?? x.info_type_name?.en ?? x.info_type ?? "—";
  const examples = (x.examples ?? []).map((e) => el("li", {},
    el("time", {}, e.time ? formatClock(e.time) : ""),
    el("b", { className: "ws-author" }, e.author ?? ""),
    el("span", { className: "ws-text" }, e.text ?? "")));
  const rows = [
    ["detKind", kindName(d.kind)],
    ["detSummary", summaryOf(d) || "—"],
    ["detInfoType", type],
    ["detAuthors", t("authorsVsExpected", {
      n: x.authors ?? "?", e: formatNumber(x.expected_authors, 1), min: formatNumber((x.window_s ?? 0) / 60) })],
    ["detPosts", String(x.posts ?? d.evidence?.length ?? 0)],
    ["detArea", d.area ? areaName(d.area) : "—"],
    ["detBegan", formatDateTime(d.time)],
    ["detRaised", formatDateTime(d.detected_at)],
  ];
  if (x.status) rows.push(["detStatus", tOr(`wsStatus_${x.status}`, x.status)]);
  rows.push(["detProbability", `${Math.round(d.probability * 100)} %`]);
  if (examples.length) rows.push(["detExamples", el("ul", { className: "ws-examples" }, ...examples)]);
  return rows;
}

// A kind this panel has no template for: what every detection has, and its summary if any.
function otherRows(d) {
  const rows = [["detKind", kindName(d.kind)]];
  const text = summaryOf(d);
  if (text) rows.push(["detSummary", text]);
  rows.push(
    ["detTime", formatDateTime(d.time)],
    ["detRaised", formatDateTime(d.detected_at)],
    ["detProbability", `${Math.round(d.probability * 100)} %`],
    ["detPosition", d.position ? `${d.position.lat.toFixed(6)}, ${d.position.lon.toFixed(6)}` : "—"],
    ["detSensors", (d.sensors ?? []).join(", ") || "—"],
  );
  return rows;
}
