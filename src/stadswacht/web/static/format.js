// Small DOM and formatting helpers. Text from the API is only ever set as textContent.
import { lang, t } from "./i18n.js";

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  const { dataset, ...rest } = props;
  Object.assign(node, rest);
  if (dataset) Object.assign(node.dataset, dataset);
  for (const c of children) if (c != null) node.append(c);
  return node;
}

// Value names end in their unit (temperature_c, level_cm_nap): show the unit as a symbol.
const UNITS = [["_cm_nap", " cm NAP"], ["_pct", " %"], ["_mm", " mm"], ["_ms", " m/s"], ["_deg", "°"], ["_c", " °C"],
  ["_v", " V"], ["_s", " s"], ["_db", " dB"], ["_m", " m"]];

export function formatValues(values) {
  return Object.entries(values ?? {}).map(([k, v]) => {
    if (typeof v === "number" && !Number.isInteger(v)) v = +v.toPrecision(6); // no float noise
    for (const [suffix, unit] of UNITS) {
      if (k.endsWith(suffix) && typeof v === "number") return `${k.slice(0, -suffix.length)} ${v}${unit}`;
    }
    return `${k} ${typeof v === "object" ? JSON.stringify(v) : v}`;
  }).join(" · ");
}

// A number with a fixed number of decimals in the language shown: "0.25" in English, "0,25" in
// Dutch; no thousands separators, so a figure reads the same in both.
export function formatNumber(x, digits = 0) {
  if (x == null || Number.isNaN(Number(x))) return "—";
  return Number(x).toLocaleString(lang() === "nl" ? "nl-NL" : "en-GB", {
    minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false,
  });
}

export function formatClock(time) {
  const d = new Date(time);
  return Number.isNaN(d.getTime()) ? String(time) : d.toLocaleTimeString([], { hour12: false });
}

// Date and time to the tenth of a second, in the browser's time zone.
export function formatDateTime(time) {
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return String(time);
  const tenth = Math.floor(d.getMilliseconds() / 100);
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour12: false })}.${tenth}`;
}

export function formatAgo(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return t("agoS", { n: s });
  if (s < 7200) return t("agoM", { n: Math.round(s / 60) });
  return t("agoH", { n: Math.round(s / 3600) });
}
