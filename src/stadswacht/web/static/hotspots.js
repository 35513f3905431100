// The hotspot forecast (issue #8) as a map layer: the top cells of the newest run the user may
// read, off until switched on. A forecast of places for patrol planning, never of persons.
import * as api from "./api.js";
import { el } from "./format.js";
import { t } from "./i18n.js";

const EMPTY = { type: "FeatureCollection", features: [] };
// Rank 1 (highest expected count) red, the last of the top cells yellow.
const RAMP = ["#dc2626", "#f97316", "#facc15"];
const COLOR = ["interpolate", ["linear"], ["get", "shade"], 0, RAMP[0], 0.5, RAMP[1], 1, RAMP[2]];

const pct = (x) => `${Math.round((x ?? 0) * 100)} %`;

export class Hotspots {
  // `box` holds the toggle (.hs-toggle), the refresh button, the legend and the cell's details;
  // `map` may be null (no WebGL): the legend still says which forecast there is.
  constructor({ box, map }) {
    this.box = box;
    this.map = map;
    this.doc = null; // the run as the API gives it, or null: none the user may see
    this.status = "loading"; // loading | none | error | ok
    this.cell = null; // the clicked cell's properties
    this.toggle = box.querySelector(".hs-toggle");
    this.toggle.checked = false;
    this.toggle.onchange = () => this.show(this.toggle.checked);
    box.querySelector(".hs-refresh").onclick = () => this.load();
    this.layer = map?.polygonLayer("hotspots", {
      color: COLOR,
      onClick: (f) => {
        this.cell = f.properties;
        this.renderCell();
      },
    });
  }

  async load() {
    this.status = "loading";
    this.render();
    try {
      this.doc = await api.get("/v1/forecasts/hotspots/latest");
      this.status = "ok";
    } catch (err) {
      this.doc = null;
      // 404: there is no forecast this user may see; that is no error.
      this.status = /HTTP 404$/.test(err.message) ? "none" : "error";
      if (this.status === "error") console.warn("hotspot forecast", err);
    }
    this.cell = null;
    const features = this.doc?.geojson?.features ?? [];
    const n = features.length;
    this.layer?.setData({
      type: "FeatureCollection",
      features: features.map((f) => ({
        ...f, properties: { ...f.properties, shade: n > 1 ? (f.properties.rank - 1) / (n - 1) : 0 },
      })),
    });
    this.render();
    if (this.toggle.checked) this.show(true);
  }

  show(on) {
    this.layer?.show(on);
    if (on && this.doc?.geojson?.features?.length) this.layer?.reveal();
    if (!on) {
      this.cell = null;
      this.renderCell();
    }
  }

  clear() {
    this.doc = null;
    this.toggle.checked = false;
    this.layer?.setData(EMPTY);
    this.layer?.show(false);
  }

  render() {
    const legend = this.box.querySelector(".hs-legend");
    const d = this.doc;
    this.toggle.disabled = this.status !== "ok" || !d?.geojson?.features?.length;
    this.box.dataset.status = this.status;
    if (!d) {
      const key = { loading: "hsLoading", none: "hsNone", error: "hsError" }[this.status];
      legend.replaceChildren(el("p", { className: "muted hs-none" }, t(key)));
      return this.renderCell();
    }
    const tlp = d.classification ?? "";
    const n = d.geojson?.features?.length ?? 0;
    const line = el("p", { className: "hs-line" },
      el("b", { className: "hs-model" }, d.model ?? "—"), " · ",
      el("span", { className: "hs-day" }, d.day ?? "—"), " · ",
      el("span", { className: "hs-by" }, t("hsBy", { who: d.created_by ?? d.agency ?? "—" })), " ",
      el("span", { className: "tlp", dataset: { tlp } }, tlp));
    const ramp = el("p", { className: "hs-ramp" },
      el("span", { className: "hs-swatch", style: `background: linear-gradient(to right, ${RAMP.join(", ")})` }),
      el("span", { className: "muted" }, t("hsRamp", { n, top: pct(d.top) })));
    const parts = [line, ramp, el("p", { className: "muted hs-note" }, t("hsNote"))];
    if (d._withheld?.length) {
      parts.push(el("p", { className: "withheld", role: "note" },
        t("hsWithheld", { agency: d.agency ?? "—", fields: d._withheld.join(", ") })));
    }
    legend.replaceChildren(...parts);
    this.renderCell();
  }

  // The clicked cell: its expected count and what it rests on (shares of the expectation).
  renderCell() {
    const dl = this.box.querySelector(".hs-cell");
    const c = this.cell;
    if (!c || !this.doc) {
      dl.hidden = true;
      return dl.replaceChildren();
    }
    const rows = [
      ["hsRank", String(c.rank)],
      ["hsExpected", Number(c.expected).toFixed(3)],
      ["hsLongRun", pct(c.long_run)],
      ["hsRecent", pct(c.recent)],
      ["hsNearRepeat", pct(c.near_repeat)],
    ];
    dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", { dataset: { field: k } }, v)]));
    dl.hidden = false;
  }
}
