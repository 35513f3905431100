// The live feed: every reading is counted, at most `perFlush` rows are drawn per redraw.
import { t } from "./i18n.js";
import { el, formatValues, formatClock } from "./format.js";

export class Feed {
  constructor(list, { rows = 200, perFlush = 25 } = {}) {
    this.list = list;
    this.rows = rows;
    this.perFlush = perFlush;
    this.pending = [];
    this.total = 0;
    this.second = Math.floor(Date.now() / 1000);
    this.thisSecond = 0;
    this.rate = 0;
  }

  push(reading) {
    this.pending.push(reading);
    this.total += 1;
    this.count(1);
  }

  count(n) {
    const now = Math.floor(Date.now() / 1000);
    if (now !== this.second) {
      // The rate shown is the count of the last whole second.
      this.rate = now === this.second + 1 ? this.thisSecond : 0;
      this.second = now;
      this.thisSecond = 0;
    }
    this.thisSecond += n;
  }

  // Draw what came since the last redraw: the newest rows, and one row counting the rest.
  flush() {
    this.count(0);
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const shown = batch.slice(-this.perFlush);
    const frag = document.createDocumentFragment();
    for (let i = shown.length - 1; i >= 0; i--) frag.append(row(shown[i]));
    if (batch.length > shown.length) {
      frag.append(el("li", { className: "more" }, t("moreReadings", { n: batch.length - shown.length })));
    }
    this.list.prepend(frag);
    while (this.list.childElementCount > this.rows) this.list.lastElementChild.remove();
  }
}

function row(r) {
  return el("li", { dataset: { device: r.device, id: String(r.id ?? "") } },
    el("time", {}, formatClock(r.time)),
    el("span", { className: "dev" }, r.device),
    el("span", { className: "val", title: formatValues(r.values) }, formatValues(r.values)));
}
