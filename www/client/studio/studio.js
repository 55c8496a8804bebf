// The review studio: after a drop, before anything is written, a grid of thumbnails grouped by
// patient, study and series (made progressively by the workers), each tile with its flags and
// the reviewer's mark; a filter, a "reviewed N of M" counter, keyboard review, the seeded
// sample queue and the sign-off. Cards and thumbnails hold PHI and live only in this tab.
// Stable hooks: each tile is `.tile[data-input][data-flags][data-mark]`; #studio-open,
// #studio-count, #studio-filter, body[data-studio=surveying|ready].
import { sampleOf } from '../../pkg/dicom_deid.js';
import { randomSeed } from '../run.js';
import { Masks } from './masks.js';
import { openViewer } from './viewer.js';

const $ = (id) => document.getElementById(id);
const MARKS = { ok: 'ok', mask: 'needs mask', exclude: 'exclude' };
const KEYS = { 1: 'ok', g: 'ok', 2: 'mask', m: 'mask', 3: 'exclude', x: 'exclude' };

/** What a flag means, for tile titles and the filter. */
const FLAG_TEXT = {
  'burned-in': 'Burned In Annotation YES',
  'at-risk': 'may show burned-in text',
  'mask-rule': 'a mask rule matches',
  'text-found': 'the text detector found text outside every mask',
  held: 'will be held back (no mask)',
  'no-pixels': 'no image',
  'no-decoder': 'cannot be shown in the browser',
  masked: 'masks drawn here',
  unreadable: 'not readable',
  quarantined: 'held back by the last run',
  failed: 'failed in the last run',
  skipped: 'skipped by the last run',
};

export class Studio {
  /** `survey(inputs, onCard)` runs the workers; `viewerSettings()` gives the run's settings. */
  constructor({ survey, settings, module }) {
    this.survey = survey;
    this.settings = settings;
    this.module = module;
    this.entries = [];
    this.masks = new Masks(() => this.#masksChanged());
    this.sample = new Set();
    this.seed = null;
    this.signedOff = null;
    this.history = [];
    this.#wire();
  }

  /** Surveys `inputs` ({file, path}) and shows them; resolves when every tile is in. */
  async open(inputs) {
    this.entries = inputs.map((input, index) => ({ ...input, index, card: null, mark: null, flags: [] }));
    this.sample.clear();
    this.history = [];
    this.signedOff = null;
    $('studio-grid').textContent = '';
    $('studio').hidden = false;
    document.body.dataset.studio = 'surveying';
    this.#count();
    await this.survey(inputs, (index, result) => this.#add(this.entries[index], result));
    document.body.dataset.studio = 'ready';
    this.#count();
    this.#suggest();
  }

  /** Forgets the grid and the marks (new files were chosen); masks drawn stay for the run. */
  reset() {
    this.entries = [];
    this.sample.clear();
    this.history = [];
    this.signedOff = null;
    $('studio-grid').textContent = '';
    $('studio').hidden = true;
    delete document.body.dataset.studio;
  }

  /** After a run: tiles of inputs held back, failed or skipped carry it (`quarantined`,
   * `failed`, `skipped`), so the grid shows what was not written. */
  afterRun(rows) {
    const byPath = new Map(rows.map((r) => [r.path, r.status]));
    for (const e of this.entries) {
      e.flags = e.flags.filter((f) => !['quarantined', 'failed', 'skipped'].includes(f));
      const status = byPath.get(e.path);
      if (['quarantined', 'failed', 'skipped'].includes(status)) e.flags.push(status);
      if (e.tile) this.#decorate(e);
    }
  }

  /** What the run takes from the studio: masks (explicit regions) and the log's review. */
  runSettings() {
    const looked = this.entries.filter((e) => e.mark);
    const count = (m) => looked.filter((e) => e.mark === m).length;
    const sampled = this.entries.filter((e) => this.sample.has(e.index) && e.mark);
    return {
      regions: this.masks.explicit(),
      excluded: new Set(this.entries.filter((e) => e.mark === 'exclude').map((e) => e.path)),
      sampleSeed: this.seed ?? undefined,
      reviewer: $('reviewer').value.trim(),
      review: this.entries.length ? {
        sign_off_utc: this.signedOff ?? '',
        notes: `studio: ${looked.length} of ${this.entries.length} images reviewed, ${count('ok')} ok, ` +
          `${count('mask')} needing a mask, ${count('exclude')} excluded; ${this.masks.count()} mask regions drawn`,
        sample_ok: this.sample.size ? sampled.filter((e) => e.mark === 'ok').length : undefined,
        sample_fail: this.sample.size ? sampled.filter((e) => e.mark !== 'ok').length : undefined,
      } : undefined,
    };
  }

  #add(entry, result) {
    entry.card = result.card ?? null;
    entry.flags = result.card ? [...result.card.flags] : ['unreadable'];
    if (result.thumbReason && !entry.flags.includes('no-decoder')) entry.flags.push('no-decoder');
    const tile = document.createElement('button');
    tile.type = 'button';
    tile.className = 'tile';
    tile.dataset.input = entry.path;
    tile.dataset.index = entry.index;
    tile.tabIndex = -1;
    const canvas = document.createElement('canvas');
    if (result.thumbnail) {
      const t = result.thumbnail;
      canvas.width = t.width;
      canvas.height = t.height;
      canvas.getContext('2d').putImageData(new ImageData(t.data, t.width, t.height), 0, 0);
    } else {
      canvas.width = canvas.height = 1;
    }
    const caption = document.createElement('span');
    caption.className = 'caption';
    tile.append(canvas, caption);
    entry.tile = tile;
    this.#decorate(entry);
    this.#group(entry).appendChild(tile);
    if (!$('studio-grid').querySelector('.tile[tabindex="0"]')) tile.tabIndex = 0;
    if (!this.#visible(entry)) tile.hidden = true;
    this.#count();
  }

  /** The series box of an entry, with its study and patient boxes, made when first met. */
  #group(entry) {
    const c = entry.card ?? {};
    const level = (parent, key, cls, label) => {
      let box = [...parent.children].find((b) => b.dataset.key === key);
      if (!box) {
        box = document.createElement('div');
        box.className = cls;
        box.dataset.key = key;
        const h = document.createElement('div');
        h.className = `${cls}-label`;
        h.textContent = label;
        box.appendChild(h);
        parent.appendChild(box);
      }
      return box;
    };
    const patient = level($('studio-grid'), `p:${c.patient_id ?? ''}`, 'g-patient',
      entry.card === null ? 'Unreadable files' : `Patient ${c.patient_name || '(no name)'} — ID ${c.patient_id || '(none)'}`);
    const study = level(patient, `s:${c.study_uid ?? ''}`, 'g-study',
      `Study ${c.study_date || ''} ${c.study_description || ''}`.trim());
    const series = level(study, `r:${c.series_uid ?? ''}`, 'g-series',
      `Series ${c.series_number || '?'} ${c.modality || ''} ${c.series_description || ''}`.trim());
    let tiles = series.querySelector(':scope > .tiles');
    if (!tiles) {
      tiles = document.createElement('div');
      tiles.className = 'tiles';
      series.appendChild(tiles);
    }
    return tiles;
  }

  /** The tile's flags, mark and title from the entry. */
  #decorate(entry) {
    const flags = [...entry.flags];
    if (entry.card && this.masks.for(entry.card).length) flags.push('masked');
    if (this.sample.has(entry.index)) flags.push('sample');
    const t = entry.tile;
    t.dataset.flags = flags.join(' ');
    t.dataset.mark = entry.mark ?? '';
    const c = entry.card;
    const size = flags.includes('no-pixels') ? 'no image' : `${c?.columns}×${c?.rows}${c?.frames > 1 ? ` ×${c.frames}` : ''}`;
    t.querySelector('.caption').textContent = (this.sample.has(entry.index) ? '★ ' : '') + (c
      ? `${c.modality || '?'} ${size}` +
        (entry.mark ? ` · ${MARKS[entry.mark]}` : '')
      : 'not readable');
    t.title = `${entry.path}\n` + flags.map((f) => FLAG_TEXT[f] ?? f).join('\n') +
      (c?.mask_source ? `\nmask rule: ${c.mask_source}` : '') + (c?.held_because ? `\n${c.held_because}` : '');
  }

  #visible(entry) {
    const f = $('studio-filter').value;
    if (f === 'all') return true;
    if (f === 'unreviewed') return !entry.mark;
    if (f === 'sample') return this.sample.has(entry.index);
    return (entry.tile?.dataset.flags ?? '').split(' ').includes(f);
  }

  #filter() {
    for (const e of this.entries) if (e.tile) e.tile.hidden = !this.#visible(e);
  }

  #count() {
    const done = this.entries.filter((e) => e.mark).length;
    const shown = this.entries.filter((e) => e.tile).length;
    const inSample = [...this.sample].filter((i) => this.entries[i].mark).length;
    $('studio-count').textContent = `Reviewed ${done} of ${this.entries.length}` +
      (shown < this.entries.length ? ` (${shown} shown so far)` : '') +
      (this.sample.size ? `; sample: ${inSample} of ${this.sample.size} reviewed` : '') +
      (this.signedOff ? `; signed off ${this.signedOff}` : '');
  }

  /** Images at risk with Clean Pixel Data off: the page suggests the option. */
  #suggest() {
    const atRisk = this.entries.filter((e) => e.flags.includes('at-risk')).length;
    const on = $('opt-clean_pixel_data')?.checked;
    $('studio-suggest').hidden = !atRisk || on;
    $('studio-suggest-text').textContent = `${atRisk} images may show names or dates burned into their pixels, ` +
      'and the Clean Pixel Data Option is off: they would be written unmasked.';
  }

  mark(entry, mark) {
    this.history.push([entry, entry.mark]);
    entry.mark = entry.mark === mark ? null : mark;
    this.#decorate(entry);
    this.#count();
  }

  #undo() {
    const last = this.history.pop();
    if (!last) return;
    last[0].mark = last[1];
    this.#decorate(last[0]);
    this.#count();
  }

  #masksChanged() {
    for (const e of this.entries) if (e.tile) this.#decorate(e);
    this.#count();
    $('masks-export').disabled = !this.masks.count();
  }

  #tiles() {
    return [...$('studio-grid').querySelectorAll('.tile')].filter((t) => !t.hidden);
  }

  #entryOf(tile) {
    return this.entries[Number(tile.dataset.index)];
  }

  /** Moves focus by `dx` tiles, or by a row of the tile's own series box with `dy`. */
  #move(from, dx, dy) {
    const tiles = this.#tiles();
    let i = tiles.indexOf(from);
    if (dy) {
      const perRow = Math.max(1, Math.floor(from.parentElement.clientWidth / from.offsetWidth));
      i += dy * perRow;
    } else {
      i += dx;
    }
    const to = tiles[Math.max(0, Math.min(tiles.length - 1, i))];
    if (!to) return;
    from.tabIndex = -1;
    to.tabIndex = 0;
    to.focus();
  }

  #open(entry) {
    if (!entry?.card) return;
    const same = (f) => this.entries.filter((e) => e.card && f(e.card));
    openViewer({
      entry,
      masks: this.masks,
      module: this.module,
      settings: this.settings,
      series: same((c) => c.series_uid === entry.card.series_uid).length,
      device: same((c) => c.manufacturer === entry.card.manufacturer && c.model === entry.card.model &&
        c.rows === entry.card.rows && c.columns === entry.card.columns).length,
      onMark: (m) => this.mark(entry, m),
      onClose: () => entry.tile.focus(),
    });
  }

  #drawSample() {
    const typed = Number($('sample-seed').value);
    this.seed = Number.isSafeInteger(typed) && $('sample-seed').value !== '' ? typed : randomSeed();
    $('sample-seed').value = this.seed;
    this.sample = new Set(sampleOf(this.entries.map((e) => e.path), this.seed));
    for (const e of this.entries) if (e.tile) this.#decorate(e);
    $('studio-filter').value = 'sample';
    this.#filter();
    this.#count();
    this.#tiles()[0]?.focus();
  }

  #wire() {
    const grid = $('studio-grid');
    grid.addEventListener('click', (e) => {
      const tile = e.target.closest('.tile');
      if (tile) this.#open(this.#entryOf(tile));
    });
    grid.addEventListener('keydown', (e) => {
      const tile = e.target.closest('.tile');
      if (!tile || e.ctrlKey || e.metaKey || e.altKey) return;
      const entry = this.#entryOf(tile);
      const moves = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1],
        PageDown: [0, 4], PageUp: [0, -4] };
      if (moves[e.key]) {
        e.preventDefault();
        this.#move(tile, ...moves[e.key]);
      } else if (KEYS[e.key]) {
        e.preventDefault();
        this.mark(entry, KEYS[e.key]);
        if (entry.mark) this.#move(tile, 1, 0);
      } else if (e.key === 'u') {
        this.#undo();
      } else if (e.key === ' ' || e.key === 'Enter') {
        e.preventDefault();
        this.#open(entry);
      }
    });
    $('studio-filter').addEventListener('change', () => this.#filter());
    $('sample-draw').addEventListener('click', () => this.#drawSample());
    $('sign-off').addEventListener('click', () => {
      if (!$('reviewer').value.trim()) {
        $('sign-off-text').textContent = 'Enter the reviewer\'s name first.';
        $('reviewer').focus();
        return;
      }
      this.signedOff = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      $('sign-off-text').textContent = `Signed off by ${$('reviewer').value.trim()} at ${this.signedOff}; ` +
        'the de-identification log of the next run records it.';
      this.#count();
    });
    $('studio-turn-on').addEventListener('click', () => {
      const box = $('opt-clean_pixel_data');
      box.checked = true;
      box.dispatchEvent(new Event('change'));
      this.#suggest();
    });
    $('masks-export').addEventListener('click', () => this.masks.exportScript());
    $('masks-import').addEventListener('change', async (e) => {
      const f = e.target.files[0];
      if (f) this.masks.importScript(f.name, await f.text());
    });
  }
}
