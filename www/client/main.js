// The page: boots the engine (one compiled wasm module, an instance here for the batch ledger and
// one per worker), mounts the views, and runs a batch when asked. Stable hooks for automated
// drives: #pick-folder, #start, #inventory, #studio-open, body[data-ready=yes],
// body[data-state=done|cancelled|failed|held|inventoried|surveyed], #summary.
import init, { inputOrder } from '../pkg/dicom_deid.js';
import { clearScratch } from '../shared/scratch.js';
import { filesFromDrop, filesFromInput, formatBytes } from './files.js';
import { WorkerPool } from './pool.js';
import { newBatch, runBatch, runInventory, runSurvey } from './run.js';
import { Studio } from './studio/studio.js';
import { canSaveDirectly, openSink } from './sink.js';
import { download } from './views/download.js';
import { mountKey } from './views/key.js';
import { mountOptions } from './views/options.js';
import { mountPixels } from './views/pixels.js';
import { mountPreReview } from './views/prereview.js';
import { confirmRelease, hideResults, showResults, showVerification } from './views/results.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = {
  inputs: [], running: null, pool: null, options: null, pixels: null, key: null, last: null,
  overrides: null, // the File of an edited pre-review, whose decisions override the profile
  studio: null,
};

function workerCount() {
  const asked = Number(params.get('workers'));
  if (asked > 0) return asked;
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 8));
}

async function boot() {
  const module = await WebAssembly.compileStreaming(fetch('pkg/dicom_deid_bg.wasm'));
  await init({ module_or_path: module });
  await clearScratch(); // what a closed or crashed tab left behind goes now
  state.options = mountOptions();
  state.pixels = mountPixels();
  state.key = mountKey();
  state.pool = new WorkerPool(module, workerCount(), Number(params.get('rotate')) || 0);
  await state.pool.start();
  state.studio = new Studio({ survey, settings: engineSettings, module });
  state.showPreReview = mountPreReview((file) => { state.overrides = file; });
  if ('serviceWorker' in navigator && params.get('sw') !== '0') {
    try {
      await navigator.serviceWorker.register('sw.js');
      await navigator.serviceWorker.ready;
    } catch { /* offline support is optional */ }
  }
  $('engine').textContent = `Ready (${state.pool.size} workers).`;
  document.body.dataset.ready = 'yes';
  refresh();
}

/** Keeps the inputs in the order the batch commits them (the library's input order). */
function setInputs(list) {
  if (state.running) return; // the drop zone and pickers wait for the run to end
  state.inputs = Array.from(inputOrder(list.map((f) => f.path)), (i) => list[i]);
  state.studio?.reset();
  refresh();
}

function refresh() {
  const bytes = state.inputs.reduce((s, f) => s + f.file.size, 0);
  $('file-count').textContent = state.inputs.length
    ? `${state.inputs.length} files, ${formatBytes(bytes)} selected.`
    : 'No files yet.';
  $('start').disabled = Boolean(state.running) || !state.inputs.length || document.body.dataset.ready !== 'yes';
  $('inventory').disabled = $('start').disabled;
  $('studio-open').disabled = $('start').disabled;
  $('cancel').disabled = !state.running;
}

/** Progress text at most every 100 ms, so the main thread stays free. */
function progressReporter(total, totalBytes) {
  const t0 = performance.now();
  let last = 0;
  return (done, bytes, force = false) => {
    const now = performance.now();
    if (!force && now - last < 100 && done < total) return;
    last = now;
    const rate = bytes / Math.max((now - t0) / 1000, 0.001);
    const left = rate > 0 ? (totalBytes - bytes) / rate : 0;
    $('progress').value = total ? done / total : 1;
    $('progress-text').textContent = `${done} / ${total} files, ${formatBytes(bytes)} of ${formatBytes(totalBytes)}, ` +
      `${formatBytes(rate)}/s, about ${Math.ceil(left)} s left`;
  };
}

/** The settings the engine takes (workers, viewer, batch): options, pixels with the studio's
 * masks and scripts, pre-review decisions, key and lookup. */
async function engineSettings() {
  const pixels = await state.pixels();
  const masks = state.studio?.masks;
  if (masks) {
    pixels.regions = masks.explicit();
    pixels.scripts = [...masks.scripts, ...pixels.scripts];
  }
  const options = state.options();
  // The models are fetched only when the library will use them (Clean Pixel Data and detection on).
  const detecting = options.clean_pixel_data && (pixels.detect_text || pixels.mask_detected_text);
  const textModel = detecting ? await fetchTextModel() : undefined;
  return { options, pixels, overrides: await state.overrides?.text(), textModel, ...state.key.settings() };
}

/** The text-detection models (the detector, and the reader that confirms doubtful lines),
 * fetched from the page's own origin the first time they are needed. */
async function fetchTextModel() {
  if (!state.textModel) {
    const fetchOne = async (name) => {
      const r = await fetch(`pkg/${name}`);
      if (!r.ok) throw new Error('the text-detection model is not installed with this page');
      return r.arrayBuffer();
    };
    const [detector, reader] = await Promise.all(['text-detection.onnx', 'text-reader.onnx'].map(fetchOne));
    state.textModel = { detector, reader };
  }
  return state.textModel;
}

/** The settings of a run: the engine's, and what the studio's review adds to the log. */
async function settingsNow() {
  const review = state.studio?.runSettings() ?? {};
  return { ...(await engineSettings()), ...review };
}

/** The studio's survey: every input's card and thumbnail, made by the workers. */
async function survey(inputs, onCard) {
  const run = { cancelled: false };
  state.running = run;
  refresh();
  try {
    await runSurvey({ pool: state.pool, inputs, settings: await engineSettings(), onCard, isCancelled: () => run.cancelled });
    document.body.dataset.state = 'surveyed';
  } finally {
    state.running = null;
    refresh();
  }
}

/** The element inventory and the values to review, offered as two separate downloads. */
async function inventory() {
  let settings;
  try {
    settings = await settingsNow();
    newBatch(settings).free(); // checks the settings as a run would
  } catch (err) {
    $('inventory-text').textContent = `Cannot start: ${err.message}`;
    return;
  }
  const run = { cancelled: false };
  state.running = run;
  document.body.dataset.state = 'running';
  refresh();
  const totalBytes = state.inputs.reduce((s, f) => s + f.file.size, 0);
  const progress = progressReporter(state.inputs.length, totalBytes);
  try {
    const r = await runInventory({
      pool: state.pool, inputs: state.inputs, settings, onProgress: progress, isCancelled: () => run.cancelled,
    });
    progress(state.inputs.length, totalBytes, true);
    const offer = (id, name, text) => {
      $(id).hidden = false;
      $(id).onclick = () => download(name, new Blob([text], { type: 'text/csv' }));
    };
    offer('inventory-save', 'inventory-noPHI.csv', r.inventory);
    offer('prereview-save', 'pre_review-PHI.csv', r.preReview);
    state.showPreReview(r.preReview);
    $('inventory-text').textContent = `${r.examined} files examined` +
      (r.unread ? `, ${r.unread} could not be read (not DICOM or damaged)` : '') + '.';
    document.body.dataset.state = 'inventoried';
  } catch (err) {
    $('inventory-text').textContent = run.cancelled ? 'Cancelled.' : `Stopped: ${err.message}`;
    document.body.dataset.state = run.cancelled ? 'cancelled' : 'failed';
    if (!run.cancelled) await restartPool();
  } finally {
    state.running = null;
    refresh();
  }
}

async function start() {
  let batch, sink, settings;
  try {
    settings = await settingsNow();
    batch = newBatch(settings);
  } catch (err) {
    $('progress-text').textContent = `Cannot start: ${err.message}`;
    return;
  }
  try {
    sink = await openSink($('direct').checked && canSaveDirectly());
  } catch {
    batch.free();
    return; // the save dialog was dismissed
  }
  if (state.last) {
    // The previous run's zip, if it was not saved, goes now.
    state.last.batch.free();
    await state.last.scratch.remove();
    state.last = null;
  }
  await clearScratch();
  const run = { cancelled: false };
  state.running = run;
  document.body.dataset.state = 'running';
  hideResults();
  refresh();
  // Images the reviewer excluded in the studio are not run (the batch records them).
  const excluded = settings.excluded ?? new Set();
  const running = state.inputs.filter((i) => !excluded.has(i.path));
  const totalBytes = running.reduce((s, f) => s + f.file.size, 0);
  const progress = progressReporter(running.length, totalBytes);
  progress(0, 0, true);
  try {
    const result = await runBatch({
      batch, pool: state.pool, inputs: state.inputs, excluded, settings, sink,
      onProgress: progress, isCancelled: () => run.cancelled, confirmRelease,
    });
    progress(running.length, totalBytes, true);
    state.last = result;
    showResults(result, sink, state.inputs);
    state.studio.afterRun(result.rows);
    document.body.dataset.state = 'done';
  } catch (err) {
    if (run.cancelled) {
      $('progress-text').textContent = 'Cancelled. Nothing was saved.';
      document.body.dataset.state = 'cancelled';
    } else if (err.name === 'ResidualPhi') {
      $('progress-text').textContent = `Stopped: ${err.message}. Nothing was saved.`;
      hideResults();
      $('results').hidden = false;
      for (const id of ['linkage', 'quarantine']) $(id).hidden = true;
      for (const id of ['summary', 'review-note']) $(id).textContent = '';
      showVerification(err.verification, err.detail);
      document.body.dataset.state = 'held';
    } else {
      $('progress-text').textContent = `Stopped: ${err.message}`;
      document.body.dataset.state = 'failed';
      await restartPool();
    }
  } finally {
    state.running = null;
    refresh();
  }
}

/** Fresh workers for the next run (after a cancel or a failure). */
async function restartPool() {
  document.body.dataset.ready = 'no';
  refresh();
  try {
    await state.pool.start();
    document.body.dataset.ready = 'yes';
  } catch (err) {
    $('engine').textContent = `The engine could not restart: ${err.message}. Reload the page.`;
  }
  refresh();
}

/** Stops at once: the workers are terminated (and restarted for the next run). */
async function cancel() {
  if (!state.running) return;
  state.running.cancelled = true;
  state.pool.terminate();
  await restartPool();
}

function wire() {
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    setInputs(await filesFromDrop(e.dataTransfer));
  });
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('pick-folder').click(); }
  });
  $('pick-folder').addEventListener('change', (e) => setInputs(filesFromInput(e.target)));
  $('pick-files').addEventListener('change', (e) => setInputs(filesFromInput(e.target)));
  if (!canSaveDirectly()) {
    $('direct').checked = false;
    $('direct-label').hidden = true;
  }
  if (params.get('direct') === '0') $('direct').checked = false;
  $('start').addEventListener('click', start);
  $('studio-open').addEventListener('click', async () => {
    try {
      await state.studio.open(state.inputs);
    } catch (err) {
      $('studio-count').textContent = `Stopped: ${err.message}`;
      if (err.name !== 'AbortError') await restartPool();
    }
  });
  $('inventory').addEventListener('click', inventory);
  // Read when a run starts, so a file edited since it was chosen is read as it is then.
  $('overrides').addEventListener('change', (e) => {
    state.overrides = e.target.files[0] ?? null;
  });
  $('cancel').addEventListener('click', cancel);
}

wire();
try {
  await boot();
} catch (err) {
  $('engine').textContent = `The engine could not start: ${err.message}`;
}
