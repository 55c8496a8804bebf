// The page: collects files and options, runs a pool of module workers (one wasm instance each),
// and streams their outputs into one zip. Workers are started and loaded when the page opens,
// so nothing is fetched once processing has started. Cancel terminates the workers at once.
import init, { Audit, Names, Session, ZipStream, generateKey, keyFromHex, keyToHex, presetOptions } from './pkg/dicom_deid.js';
import { filesFromDrop, filesFromInput, formatBytes } from './files.js';
import { canSaveDirectly, openSink } from './sink.js';

const OPTIONS = [
  ['retain_safe_private', 'Retain Safe Private Option', 'Keep private (vendor) attributes listed as safe in PS3.15 Table E.3.10-1; remove all other private data.'],
  ['retain_uids', 'Retain UIDs Option', 'Keep the original study, series and instance UIDs instead of replacing them.'],
  ['retain_device_identity', 'Retain Device Identity Option', 'Keep scanner identity (station name, serial number); AE titles are replaced by stable pseudonyms.'],
  ['retain_institution_identity', 'Retain Institution Identity Option', 'Keep the institution name, address and department.'],
  ['retain_patient_characteristics', 'Retain Patient Characteristics Option', 'Keep sex, age (capped at 90), size, weight and similar; clean free-text characteristics.'],
  ['retain_long_full_dates', 'Retain Longitudinal Temporal Information with Full Dates Option', 'Keep all dates and times unchanged.'],
  ['retain_long_modified_dates', 'Retain Longitudinal Temporal Information with Modified Dates Option', 'Shift every date by a per-patient number of days, so intervals survive.'],
  ['clean_descriptors', 'Clean Descriptors Option', 'Keep descriptions and comments, removing names, IDs, dates and phone numbers found in them.'],
  ['clean_structured_content', 'Clean Structured Content Option', 'Keep structured report content, cleaning names, dates, UIDs and text items.'],
  ['clean_graphics', 'Clean Graphics Option', 'Keep overlays and graphic annotations, dropping free-text annotations.'],
];

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = { files: [], key: null, lookup: null, running: false };
let wasmModule = null;
let workers = [];

// ---------- engine and worker pool ----------
async function loadEngine() {
  wasmModule = await WebAssembly.compileStreaming(fetch('pkg/dicom_deid_bg.wasm'));
  await init({ module_or_path: wasmModule });
  await startWorkers();
  if ('serviceWorker' in navigator && params.get('sw') !== '0') {
    try {
      await navigator.serviceWorker.register('sw.js');
      await navigator.serviceWorker.ready;
    } catch { /* offline support is optional */ }
  }
  $('engine').textContent = `Ready (${workers.length} workers).`;
  document.body.dataset.ready = 'yes';
  refresh();
}

function workerCount() {
  const asked = Number(params.get('workers'));
  if (asked > 0) return asked;
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 8));
}

async function startWorkers() {
  workers.forEach((w) => w.terminate());
  workers = [];
  const ready = [];
  for (let i = 0; i < workerCount(); i++) {
    const w = new Worker('worker.js', { type: 'module' });
    ready.push(new Promise((resolve, reject) => {
      w.onmessage = (e) => (e.data.type === 'ready' ? resolve() : reject(new Error(e.data.reason)));
      w.onerror = (e) => reject(new Error(e.message));
    }));
    w.postMessage({ type: 'load', module: wasmModule });
    workers.push(w);
  }
  await Promise.all(ready);
}

// ---------- form ----------
function buildOptions() {
  const fs = $('options');
  for (const [id, name, help] of OPTIONS) {
    const label = document.createElement('label');
    label.className = 'option';
    label.innerHTML = `<input type="checkbox" id="opt-${id}" name="${id}"> <span></span><small></small>`;
    label.querySelector('span').textContent = name;
    label.querySelector('small').textContent = help;
    fs.appendChild(label);
    label.querySelector('input').addEventListener('change', () => {
      document.querySelector('input[name=preset][value=custom]').checked = true;
      const full = $('opt-retain_long_full_dates'), mod = $('opt-retain_long_modified_dates');
      if (id === 'retain_long_full_dates' && full.checked) mod.checked = false;
      if (id === 'retain_long_modified_dates' && mod.checked) full.checked = false;
    });
  }
  for (const r of document.querySelectorAll('input[name=preset]')) r.addEventListener('change', applyPreset);
}

function applyPreset() {
  const preset = document.querySelector('input[name=preset]:checked').value;
  if (preset === 'custom') return;
  const o = presetOptions(preset);
  for (const [id] of OPTIONS) $(`opt-${id}`).checked = Boolean(o[id]);
}

function options() {
  const o = {};
  for (const [id] of OPTIONS) o[id] = $(`opt-${id}`).checked;
  return o;
}

function setKey(bytes) {
  state.key = bytes;
  const hex = keyToHex(bytes);
  $('key-status').textContent = `Key ready (fingerprint ${hex.slice(0, 8)}…). Export it to reuse it next time.`;
  $('key-export').disabled = false;
}

function download(name, blob) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 60_000);
}

/** Orders files as the CLI walks folders (by path component), so both commit in one order. */
function byPath(a, b) {
  const x = a.path.split('/'), y = b.path.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}

function setFiles(list) {
  state.files = list.sort(byPath);
  refresh();
}

function refresh() {
  const bytes = state.files.reduce((s, f) => s + f.file.size, 0);
  $('file-count').textContent = state.files.length
    ? `${state.files.length} files, ${formatBytes(bytes)} selected.`
    : 'No files yet.';
  $('start').disabled = state.running || !state.files.length || document.body.dataset.ready !== 'yes';
  $('cancel').disabled = !state.running;
}

// ---------- processing ----------
let current = null;

async function run() {
  if (!state.key) setKey(generateKey());
  const opts = options();
  const lookupText = state.lookup;
  let session;
  try {
    // Checks the options and the lookup table before anything is written.
    session = new Session(opts, state.key, lookupText ?? undefined);
  } catch (err) {
    $('progress-text').textContent = `Cannot start: ${String(err.message ?? err).replace(/^\[[a-z-]+\]\s*/, '')}`;
    return;
  }
  let sink;
  try {
    sink = await openSink($('direct').checked && canSaveDirectly());
  } catch {
    session.free();
    return; // the save dialog was dismissed
  }
  document.body.dataset.phase = 'running';
  state.running = true;
  refresh();
  $('results').hidden = true;
  $('save').hidden = true;
  const zip = new ZipStream();
  const audit = new Audit();
  const jsonlParts = [];
  const csvParts = [Audit.csvHeader()];
  const linkage = { rows: [], uids: new Set(), patients: new Map() };
  const names = new Names();
  const rows = [];
  const total = state.files.length;
  const totalBytes = state.files.reduce((s, f) => s + f.file.size, 0);
  let next = 0, finished = 0, doneBytes = 0;
  const t0 = performance.now();
  let writes = Promise.resolve();
  const job = { cancelled: false, sink };
  const cancelled = new Promise((resolve) => { job.stop = resolve; });
  current = job;

  const progress = () => {
    const secs = (performance.now() - t0) / 1000;
    const rate = doneBytes / Math.max(secs, 0.001);
    const left = rate > 0 ? (totalBytes - doneBytes) / rate : 0;
    $('progress').value = total ? finished / total : 1;
    $('progress-text').textContent = `${finished} / ${total} files, ${formatBytes(doneBytes)} of ${formatBytes(totalBytes)}, ` +
      `${formatBytes(rate)}/s, about ${Math.ceil(left)} s left`;
  };

  const record = (index, status, detail, warnings = '') => {
    rows.push({ index, status, detail, warnings });
    if (status === 'skipped') audit.skip(detail);
    if (status === 'failed') audit.fail(detail);
  };

  const handle = (msg, index) => {
    const { path, file } = state.files[index];
    doneBytes += file.size;
    if (msg.type === 'error') {
      const skipped = msg.kind === 'not-dicom' || msg.kind === 'dicomdir';
      record(index, skipped ? 'skipped' : 'failed', msg.reason);
      linkage.rows.push([path, skipped ? 'skipped' : 'failed', msg.reason, '', '']);
      return;
    }
    const chosen = names.claim(msg.name, msg.alt.name, msg.digest);
    if (chosen === undefined) {
      record(index, 'skipped', Names.duplicateReason());
      linkage.rows.push([path, 'skipped', Names.duplicateReason(), '', '']);
      return;
    }
    const { name, jsonl, csv } = chosen === msg.name ? msg : msg.alt;
    const bytes = msg.bytes;
    writes = writes.then(async () => {
      if (job.cancelled) return;
      await sink.write(zip.header(name, bytes.length, msg.crc32));
      await sink.write(bytes);
    });
    audit.done(jsonl, csv);
    jsonlParts.push(jsonl);
    csvParts.push(csv);
    record(index, 'done', name, msg.warnings);
    linkage.rows.push([path, 'deidentified', name, msg.originalPatientId, msg.newPatientId]);
    linkage.patients.set(msg.originalPatientId, msg.newPatientId);
    for (const line of msg.uids.split('\n')) if (line) linkage.uids.add(line + '\n');
  };

  // Results are committed (named, written, audited) in input order, as the CLI does, so the
  // zip is the same whatever the number of workers; a worker may run ahead of the commit point
  // by one file per worker, which bounds what is held in memory.
  const pending = new Map();
  const waiting = new Map();
  let nextCommit = 0;
  const flush = () => {
    while (pending.has(nextCommit)) {
      const msg = pending.get(nextCommit);
      pending.delete(nextCommit);
      handle(msg, nextCommit);
      nextCommit++;
      finished++;
    }
    progress();
    for (const [i, release] of waiting) {
      if (i < nextCommit) { waiting.delete(i); release(); }
    }
  };
  const committed = (index) =>
    (index < nextCommit ? Promise.resolve() : new Promise((release) => waiting.set(index, release)));

  const pump = (worker) => new Promise((resolve, reject) => {
    const finish = async (index, msg) => {
      pending.set(index, msg);
      try { flush(); } catch (err) { return reject(err); }
      // Run ahead of the commit point by at most one file per worker: memory stays bounded.
      await committed(index - workers.length);
      step();
    };
    const step = async () => {
      if (job.cancelled) return resolve();
      try {
        await writes; // back-pressure on the zip stream; a failed write stops the run
      } catch (err) {
        return reject(err);
      }
      if (next >= total) return resolve();
      const index = next++;
      let buffer;
      try {
        buffer = await state.files[index].file.arrayBuffer();
      } catch {
        return finish(index, { type: 'error', kind: 'read', reason: 'the file could not be read' });
      }
      worker.onmessage = (e) => finish(index, e.data);
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage({ type: 'file', id: index, buffer }, [buffer]);
    };
    worker.onmessage = (e) => (e.data.type === 'session-ready' ? step() : reject(new Error(e.data.reason)));
    worker.postMessage({ type: 'session', options: opts, key: state.key, lookup: lookupText });
  });

  try {
    progress();
    await Promise.race([Promise.all(workers.map(pump)), cancelled]);
    await writes;
    if (job.cancelled) return;
    jsonlParts.push(audit.summaryLine(session));
    const jsonlBlob = new Blob(jsonlParts);
    const csvBlob = new Blob(csvParts);
    await sink.write(zip.header('audit.jsonl', jsonlBlob.size, audit.jsonlCrc));
    await sink.write(new Uint8Array(await jsonlBlob.arrayBuffer()));
    await sink.write(zip.header('audit.csv', csvBlob.size, audit.csvCrc));
    await sink.write(new Uint8Array(await csvBlob.arrayBuffer()));
    await sink.write(zip.finish());
    const blob = await sink.close();
    showResults(audit.summary(), rows, blob, sink, linkage);
  } catch (err) {
    if (!job.cancelled) {
      await sink.abort();
      $('progress-text').textContent = `Stopped: ${err.message}`;
    }
  } finally {
    session.free();
    names.free();
    state.running = false;
    current = null;
    document.body.dataset.phase = job.cancelled ? 'cancelled' : 'done';
    refresh();
  }
}

async function cancel() {
  if (!current) return;
  current.cancelled = true;
  current.stop();
  await current.sink.abort();
  $('progress-text').textContent = 'Cancelled. Nothing was saved.';
  document.body.dataset.ready = 'no';
  state.running = false;
  refresh();
  await startWorkers(); // terminate at once, then start fresh workers
  document.body.dataset.ready = 'yes';
  refresh();
}

function showResults(summary, rows, blob, sink, linkage) {
  $('results').hidden = false;
  const reasons = (m) => Object.entries(m).map(([r, n]) => `${n} × ${r}`).join('; ');
  $('summary').textContent = `${summary.found} files: ${summary.deidentified} de-identified, ` +
    `${summary.skipped} skipped, ${summary.failed} failed.` +
    (summary.skipped ? ` Skipped: ${reasons(summary.skipped_reasons)}.` : '') +
    (summary.failed ? ` Failed: ${reasons(summary.failed_reasons)}.` : '') +
    (sink.kind === 'file' ? ` The zip was saved as ${sink.name}.` : '');
  if (blob) {
    const a = $('save');
    a.href = URL.createObjectURL(blob);
    a.hidden = false;
  }
  const tbody = $('table').querySelector('tbody');
  tbody.textContent = '';
  rows.sort((a, b) => a.index - b.index);
  const shown = rows.filter((r) => r.status !== 'done' || r.warnings).slice(0, 2000);
  for (const r of shown) {
    const tr = document.createElement('tr');
    tr.className = r.status;
    for (const text of [state.files[r.index].path, r.status, r.detail, r.warnings]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
  $('linkage').onclick = () => download('linkage-CONTAINS-PHI.zip', linkageZip(linkage));
}

function csvCell(s) {
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function linkageZip(linkage) {
  const z = new ZipStream();
  const enc = new TextEncoder();
  const parts = [];
  const table = 'input_path,status,output_name_or_reason,original_patient_id,new_patient_id\n' +
    linkage.rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
  parts.push(z.entry('linkage.csv', enc.encode(table)));
  parts.push(z.entry('uid_mapping.csv', enc.encode('id_old,id_new\n' + [...linkage.uids].join(''))));
  const pats = [...linkage.patients].map(([a, b]) => `${csvCell(a)},${csvCell(b)}\n`).join('');
  parts.push(z.entry('patid_mapping.csv', enc.encode('id_old,id_new\n' + pats)));
  parts.push(z.finish());
  return new Blob(parts, { type: 'application/zip' });
}

// ---------- wiring ----------
function wire() {
  buildOptions();
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    setFiles(await filesFromDrop(e.dataTransfer));
  });
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('pick-folder').click(); }
  });
  $('pick-folder').addEventListener('change', (e) => setFiles(filesFromInput(e.target)));
  $('pick-files').addEventListener('change', (e) => setFiles(filesFromInput(e.target)));
  $('key-generate').addEventListener('click', () => setKey(generateKey()));
  $('key-import').addEventListener('change', async (e) => {
    try { setKey(keyFromHex(await e.target.files[0].text())); } catch (err) {
      $('key-status').textContent = `That file is not a key: ${err.message}`;
    }
  });
  $('key-export').addEventListener('click', () =>
    download('project.key', new Blob([keyToHex(state.key) + '\n'], { type: 'text/plain' })));
  $('lookup').addEventListener('change', async (e) => {
    state.lookup = e.target.files[0] ? await e.target.files[0].text() : null;
  });
  if (!canSaveDirectly()) {
    $('direct').checked = false;
    $('direct-label').hidden = true;
  }
  if (params.get('direct') === '0') $('direct').checked = false;
  $('start').addEventListener('click', run);
  $('cancel').addEventListener('click', cancel);
}

wire();
try {
  await loadEngine();
  applyPreset();
} catch (err) {
  $('engine').textContent = `The engine could not start: ${err.message}`;
}
