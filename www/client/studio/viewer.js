// The viewer: one image at a time in a dialog, rendered by the viewer worker (any frame, any
// window, invert), with zoom and pan, a cine, mask drawing by mouse or keyboard, the engine's
// own preview of the masks the run will paint, and the tags before and after (tags.js).
import { Channel } from '../pool.js';
import { CARD, CONFIGURE, LOAD, OPEN, RENDER, TAGS } from '../../shared/protocol.js';
import { showTags } from './tags.js';

const $ = (id) => document.getElementById(id);
/** Window presets (centre, width) in modality units, as viewers name them. */
const PRESETS = {
  'soft tissue': [40, 400], lung: [-600, 1500], bone: [400, 1800], brain: [40, 80], abdomen: [60, 400],
};
const STEP = 4; // keyboard mask moves, in image pixels

let worker = null; // the viewer worker's channel, started on first use
let current = null; // the open image's state

async function channel(module) {
  if (!worker) {
    worker = new Channel(new Worker(new URL('../../worker/view.js', import.meta.url), { type: 'module' }), new Set());
    await worker.ask({ kind: LOAD, module });
  }
  return worker;
}

/**
 * Opens `entry` ({file, path, card}) in the viewer. `masks`: the studio's Masks; `series` and
 * `device`: how many images a series or device mask would cover; `onMark(mark)` records the
 * reviewer's mark; `settings()` gives the run's settings (the engine previews with them).
 */
export async function openViewer({ entry, masks, module, settings, series, device, onMark, onClose }) {
  const dialog = $('viewer');
  current = {
    entry, masks, settings, frame: 0, window: null, invert: false, zoom: 1, pan: [0, 0],
    pending: [], engineMask: [], fate: entry.card.fate, rendering: false, again: false, playing: null,
  };
  $('viewer-title').textContent = entry.path;
  $('mask-series').textContent = `Mask this series (${series} images)`;
  $('mask-device').textContent = `Mask every image of this device and size (${device})`;
  $('viewer-error').textContent = '';
  selectTab('image');
  dialog.onclose = () => { stopCine(); current = null; onClose(); };
  current.onMark = onMark;
  if (!dialog.open) dialog.showModal();
  const ch = await channel(module);
  try {
    await ch.ask({ kind: CONFIGURE, ...(await settings()) });
    const { info } = await ch.ask({ kind: OPEN, file: entry.file });
    current.info = info;
    setupImage(info);
    await refreshEngineMask();
    render();
  } catch (err) {
    $('viewer-error').textContent = `This image cannot be shown here: ${err.message}`;
  }
}

function setupImage(info) {
  for (const id of ['viewer-canvas', 'viewer-overlay']) {
    $(id).width = info.width;
    $(id).height = info.height;
  }
  $('frame').max = Math.max(0, info.frames - 1);
  $('frame').value = Math.floor(info.frames / 2);
  current.frame = Number($('frame').value);
  $('frame-row').hidden = info.frames < 2;
  const grey = info.photometric.startsWith('MONOCHROME');
  $('window-row').hidden = !grey;
  current.window = info.window ?? (info.range ? rangeWindow(info.range) : null);
  showWindow();
  fit();
}

function rangeWindow([lo, hi]) {
  return { center: (lo + hi) / 2, width: Math.max(1, hi - lo) };
}

function showWindow() {
  $('wc').value = current.window ? Math.round(current.window.center) : '';
  $('ww').value = current.window ? Math.round(current.window.width) : '';
  $('frame-text').textContent = `Frame ${current.frame + 1} of ${current.info?.frames ?? 1}`;
}

/** Renders the current frame and window; a request made while one renders waits for it. */
async function render() {
  if (!current?.info) return;
  if (current.rendering) { current.again = true; return; }
  current.rendering = true;
  try {
    const w = current.window;
    const { picture } = await worker.ask({
      kind: RENDER, frame: current.frame, center: w?.center, width: w?.width, invert: current.invert,
    });
    if (!current) return;
    $('viewer-canvas').getContext('2d').putImageData(new ImageData(picture.data, picture.width, picture.height), 0, 0);
    drawOverlay();
  } catch (err) {
    if (current) $('viewer-error').textContent = `This frame cannot be shown: ${err.message}`;
  } finally {
    if (current) {
      current.rendering = false;
      if (current.again) { current.again = false; render(); }
    }
  }
}

/** The regions the run will paint on this image, asked of the engine with the run's settings. */
async function refreshEngineMask() {
  const ch = await channel();
  await ch.ask({ kind: CONFIGURE, ...(await current.settings()) });
  const { card } = await ch.ask({ kind: CARD, file: current.entry.file });
  if (!current) return;
  current.engineMask = card?.mask ?? [];
  current.proposed = card?.text_boxes ?? [];
  $('mask-accept').hidden = !current.proposed.length;
  $('mask-accept').textContent = `Accept the ${current.proposed.length} text box(es) found as masks to apply`;
  current.fate = card?.fate ?? current.fate;
  current.source = card?.mask_source ?? '';
  const note = {
    masked: `The run will paint ${current.engineMask.length} region(s) (${current.source}), shown in black.`,
    held: 'No mask covers this image: the run will hold it back. Draw a mask to release it masked.',
    released: 'No mask covers this image: it will be written unmasked (you chose to accept the risk).',
    untouched: current.engineMask.length
      ? 'Clean Pixel Data is off: the masks (outlined) will not be painted.'
      : 'The pixels will be written as they are.',
  };
  $('mask-note').textContent = note[current.fate] ?? '';
}

function drawOverlay() {
  const o = $('viewer-overlay');
  const g = o.getContext('2d');
  g.clearRect(0, 0, o.width, o.height);
  const box = (r) => [r.x0, r.y0, r.x1 - r.x0, r.y1 - r.y0];
  const preview = $('mask-preview').checked;
  for (const r of current.engineMask) {
    if (current.fate === 'masked' && preview) {
      g.fillStyle = '#000';
      g.fillRect(...box(r));
    }
    g.strokeStyle = '#f0a500';
    g.lineWidth = Math.max(1, o.width / 400);
    g.strokeRect(...box(r));
  }
  g.setLineDash([3, 3]);
  g.strokeStyle = '#e0245e';
  for (const r of current.proposed ?? []) g.strokeRect(...box(r));
  g.setLineDash([6, 4]);
  g.strokeStyle = '#39c';
  for (const r of current.pending) g.strokeRect(...box(r));
  g.setLineDash([]);
  $('mask-apply').disabled = $('mask-series').disabled = $('mask-device').disabled = !current.pending.length;
}

/** Fits the image to the pane, then applies zoom and pan. */
function fit() {
  const pane = $('viewer-pane');
  const { width, height } = current.info;
  const scale = Math.min(pane.clientWidth / width, pane.clientHeight / height) * current.zoom;
  const stack = $('viewer-stack');
  stack.style.width = `${width * scale}px`;
  stack.style.height = `${height * scale}px`;
  stack.style.transform = `translate(${current.pan[0]}px, ${current.pan[1]}px)`;
}

/** Image pixel under a pointer event. */
function at(e) {
  const r = $('viewer-canvas').getBoundingClientRect();
  const { width, height } = current.info;
  const clamp = (v, max) => Math.max(0, Math.min(max, Math.round(v)));
  return [clamp(((e.clientX - r.left) / r.width) * width, width), clamp(((e.clientY - r.top) / r.height) * height, height)];
}

function tool() {
  return document.querySelector('input[name=tool]:checked')?.value ?? 'window';
}

function onPointerDown(e) {
  if (!current?.info) return;
  e.preventDefault();
  $('viewer-stack').setPointerCapture(e.pointerId);
  const start = { x: e.clientX, y: e.clientY, at: at(e), window: { ...current.window }, pan: [...current.pan] };
  const t = tool();
  let drawing = null;
  if (t === 'mask') {
    drawing = { x0: start.at[0], y0: start.at[1], x1: start.at[0], y1: start.at[1] };
    current.pending.push(drawing);
  }
  const move = (ev) => {
    const dx = ev.clientX - start.x, dy = ev.clientY - start.y;
    if (t === 'window' && current.window) {
      const span = current.info.range ? current.info.range[1] - current.info.range[0] : current.window.width;
      const k = Math.max(span, 1) / 400;
      current.window = { center: start.window.center + dy * k, width: Math.max(1, start.window.width + dx * k) };
      showWindow();
      render();
    } else if (t === 'pan') {
      current.pan = [start.pan[0] + dx, start.pan[1] + dy];
      fit();
    } else if (drawing) {
      const [x, y] = at(ev);
      Object.assign(drawing, {
        x0: Math.min(start.at[0], x), x1: Math.max(start.at[0], x), y0: Math.min(start.at[1], y), y1: Math.max(start.at[1], y),
      });
      drawOverlay();
    }
  };
  const up = () => {
    $('viewer-stack').removeEventListener('pointermove', move);
    $('viewer-stack').removeEventListener('pointerup', up);
    if (drawing && (drawing.x1 - drawing.x0 < 2 || drawing.y1 - drawing.y0 < 2)) current.pending.pop();
    drawOverlay();
  };
  $('viewer-stack').addEventListener('pointermove', move);
  $('viewer-stack').addEventListener('pointerup', up);
}

/** Keyboard masks: `n` a new rectangle, arrows move it, Shift+arrows resize it, Enter applies
 * it to the image, Delete drops it. `,` and `.` step frames; 1/2/3 mark the image. */
function onKey(e) {
  if (!current?.info || e.target.matches('input[type=number], input[type=search], select')) return;
  const marks = { 1: 'ok', 2: 'mask', 3: 'exclude' };
  const last = current.pending.at(-1);
  const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  const { width, height } = current.info;
  if (e.key === 'n') {
    const w = Math.max(8, Math.round(width / 4)), h = Math.max(8, Math.round(height / 8));
    current.pending.push({ x0: 0, y0: 0, x1: w, y1: h });
  } else if (arrows[e.key] && last) {
    const [dx, dy] = arrows[e.key].map((v) => v * STEP * (e.altKey ? 4 : 1));
    if (e.shiftKey) {
      last.x1 = Math.max(last.x0 + 1, Math.min(width, last.x1 + dx));
      last.y1 = Math.max(last.y0 + 1, Math.min(height, last.y1 + dy));
    } else {
      const mx = Math.max(-last.x0, Math.min(width - last.x1, dx)), my = Math.max(-last.y0, Math.min(height - last.y1, dy));
      last.x0 += mx; last.x1 += mx; last.y0 += my; last.y1 += my;
    }
  } else if (e.key === 'Enter' && last) {
    applyMask('image');
  } else if (e.key === 'Delete' && last) {
    current.pending.pop();
  } else if (e.key === ',' || e.key === '.') {
    step(e.key === '.' ? 1 : -1);
  } else if (marks[e.key]) {
    current.onMark(marks[e.key]);
    $('viewer-mark').textContent = `Marked: ${e.key === '1' ? 'ok' : e.key === '2' ? 'needs mask' : 'exclude'}`;
  } else {
    return;
  }
  e.preventDefault();
  drawOverlay();
}

async function applyMask(scope) {
  current.masks.add(scope, current.entry.card, current.pending.map(({ x0, y0, x1, y1 }) => ({ x0, y0, x1, y1 })));
  current.pending = [];
  await refreshEngineMask();
  drawOverlay();
}

function step(by) {
  const frames = current.info.frames;
  current.frame = (current.frame + by + frames) % frames;
  $('frame').value = current.frame;
  showWindow();
  render();
}

function stopCine() {
  if (current?.playing) clearInterval(current.playing);
  if (current) current.playing = null;
  $('cine').textContent = 'Play';
}

function selectTab(tab) {
  for (const t of ['image', 'tags']) {
    $(`tab-${t}`).setAttribute('aria-selected', String(t === tab));
    $(`pane-${t}`).hidden = t !== tab;
  }
  if (tab === 'tags' && current) loadTags();
}

async function loadTags() {
  const target = $('tags-table');
  target.textContent = '';
  $('tags-note').textContent = 'Reading the tags…';
  try {
    const ch = await channel();
    await ch.ask({ kind: CONFIGURE, ...(await current.settings()) });
    const { comparison } = await ch.ask({ kind: TAGS, file: current.entry.file });
    if (current) showTags(comparison);
  } catch (err) {
    $('tags-note').textContent = `The tags cannot be compared: ${err.message}`;
  }
}

function wire() {
  $('viewer-stack').addEventListener('pointerdown', onPointerDown);
  $('viewer-pane').addEventListener('wheel', (e) => {
    if (!current?.info) return;
    e.preventDefault();
    current.zoom = Math.max(0.25, Math.min(16, current.zoom * (e.deltaY < 0 ? 1.2 : 1 / 1.2)));
    fit();
  }, { passive: false });
  $('viewer').addEventListener('keydown', onKey);
  $('frame').addEventListener('input', () => { current.frame = Number($('frame').value); showWindow(); render(); });
  $('cine').addEventListener('click', () => {
    if (current.playing) return stopCine();
    current.playing = setInterval(() => { if (!current.rendering) step(1); }, 1000 / 15);
    $('cine').textContent = 'Stop';
  });
  for (const id of ['wc', 'ww']) {
    $(id).addEventListener('change', () => {
      const c = Number($('wc').value), w = Number($('ww').value);
      if (Number.isFinite(c) && w > 0) { current.window = { center: c, width: w }; render(); }
    });
  }
  $('wl-preset').addEventListener('change', (e) => {
    const v = e.target.value;
    if (v === 'file') current.window = current.info.window ?? rangeWindow(current.info.range ?? [0, 255]);
    else if (v === 'range') current.window = rangeWindow(current.info.range ?? [0, 255]);
    else current.window = { center: PRESETS[v][0], width: PRESETS[v][1] };
    showWindow();
    render();
  });
  $('invert').addEventListener('change', (e) => { current.invert = e.target.checked; render(); });
  $('zoom-fit').addEventListener('click', () => { current.zoom = 1; current.pan = [0, 0]; fit(); });
  $('mask-apply').addEventListener('click', () => applyMask('image'));
  $('mask-series').addEventListener('click', () => applyMask('series'));
  $('mask-device').addEventListener('click', () => applyMask('device'));
  $('mask-clear').addEventListener('click', async () => {
    for (const scope of ['image', 'series', 'device']) current.masks.clear(scope, current.entry.card);
    current.pending = [];
    await refreshEngineMask();
    drawOverlay();
  });
  $('mask-preview').addEventListener('change', drawOverlay);
  // The detector's boxes become pending masks: the reviewer then applies them to the image,
  // its series or its device with the buttons above.
  $('mask-accept').addEventListener('click', () => {
    current.pending.push(...current.proposed.map((r) => ({ ...r })));
    drawOverlay();
  });
  for (const m of ['ok', 'mask', 'exclude']) {
    $(`viewer-${m}`).addEventListener('click', () => {
      current.onMark(m);
      $('viewer-mark').textContent = `Marked: ${m === 'mask' ? 'needs mask' : m}`;
    });
  }
  $('tab-image').addEventListener('click', () => selectTab('image'));
  $('tab-tags').addEventListener('click', () => selectTab('tags'));
  addEventListener('resize', () => current?.info && fit());
}

wire();
