// The masks drawn in the studio: rectangles for an image (SOP Instance UID), a series (Series
// Instance UID) or a device signature (manufacturer, model, rows, columns), in the library's
// ExplicitMasks form, which the run takes as explicit regions. Which mask wins for an image is
// the library's decision (Masks::choose): the viewer asks the engine, never this file.
import { maskScript } from '../../pkg/dicom_deid.js';
import { download } from '../views/download.js';

export class Masks {
  constructor(onChange) {
    this.images = new Map();
    this.series = new Map();
    this.devices = [];
    this.scripts = []; // imported CTP scripts: {name, text}
    this.onChange = onChange;
  }

  /** Adds `rects` ({x0, y0, x1, y1}) for `scope` (`image`, `series` or `device`) of `card`. */
  add(scope, card, rects) {
    if (!rects.length) return;
    if (scope === 'image') push(this.images, card.sop_instance_uid, rects);
    else if (scope === 'series') push(this.series, card.series_uid, rects);
    else {
      const d = this.#device(card, true);
      d.regions.push(...rects);
    }
    this.onChange();
  }

  /** Removes every mask drawn for `card` in `scope`. */
  clear(scope, card) {
    if (scope === 'image') this.images.delete(card.sop_instance_uid);
    else if (scope === 'series') this.series.delete(card.series_uid);
    else this.devices = this.devices.filter((d) => d !== this.#device(card, false));
    this.onChange();
  }

  /** The rectangles drawn for `card` at each scope (for the tile flag and the viewer's list). */
  for(card) {
    return [
      ...(this.images.get(card.sop_instance_uid) ?? []),
      ...(this.series.get(card.series_uid) ?? []),
      ...(this.#device(card, false)?.regions ?? []),
    ];
  }

  count() {
    const n = (m) => [...m.values()].reduce((s, r) => s + r.length, 0);
    return n(this.images) + n(this.series) + this.devices.reduce((s, d) => s + d.regions.length, 0);
  }

  /** The library's ExplicitMasks, or undefined when nothing was drawn. */
  explicit() {
    if (!this.count()) return undefined;
    return {
      images: Object.fromEntries(this.images),
      series: Object.fromEntries(this.series),
      devices: this.devices,
    };
  }

  /** Saves the masks as a CTP pixel script (for `dcm-deid --pixel-script`). Masks for an image
   * or a series name its original UID, so the file is then labelled as holding PHI. */
  exportScript() {
    const masks = this.explicit();
    if (!masks) return;
    const phi = this.images.size || this.series.size;
    download(phi ? 'studio-masks-PHI.script' : 'studio-masks.script',
      new Blob([maskScript(masks)], { type: 'text/plain' }));
  }

  /** Adds a CTP pixel script to the run's scripts. */
  importScript(name, text) {
    this.scripts.push({ name, text });
    this.onChange();
  }

  #device(card, make) {
    let d = this.devices.find((x) => x.manufacturer === card.manufacturer && x.model === card.model &&
      x.rows === card.rows && x.columns === card.columns);
    if (!d && make) {
      d = { manufacturer: card.manufacturer, model: card.model, rows: card.rows, columns: card.columns, regions: [] };
      this.devices.push(d);
    }
    return d;
  }
}

function push(map, key, rects) {
  map.set(key, [...(map.get(key) ?? []), ...rects]);
}
