// One batch: the workers de-identify (pool), the library's Batch commits each result in input
// order (names, duplicates, skip or fail, audit lines, linkage), and the zip is assembled from
// zip headers and slices of the workers' OPFS files as they are closed (so a zip saved straight
// to disk is written during the run, not after it) and, for a large file's unchanged Pixel Data,
// a slice of the input File itself. This module holds no batch policy of its own.
import { Batch, Inventory } from '../pkg/dicom_deid.js';
import { openRun } from '../shared/scratch.js';

/** The zip's parts in order: headers, and outputs that can be written once their file is closed. */
class ZipParts {
  constructor(sink, scratch) {
    this.sink = sink;
    this.scratch = scratch;
    this.queue = [];
    this.closed = new Map(); // worker file → outputs it holds
    this.written = new Map(); // worker file → outputs written from it so far
  }

  /** `location` is where a worker wrote the output of `input` (a File). */
  add(header, location, input) {
    this.queue.push(header, { ...location, input });
  }

  /** The output at `part`: its bytes in a worker file, with the input's bytes it refers to
   * (a large file's unchanged Pixel Data, which the worker read but did not copy) in place. */
  async output(part) {
    const stored = await this.scratch.slice(part);
    const r = part.reference;
    if (!r) return stored;
    return new Blob([stored.slice(0, r.after), part.input.slice(r.at, r.at + r.size), stored.slice(r.after)]);
  }

  /** Writes every part whose bytes can be read now, in order. */
  async flush(closed = []) {
    for (const c of closed) this.closed.set(c.file, c.outputs);
    while (this.queue.length) {
      const part = this.queue[0];
      if (!(part instanceof Uint8Array) && !this.closed.has(part.file)) return;
      this.queue.shift();
      if (part instanceof Uint8Array) {
        await this.sink.write(part);
        continue;
      }
      await this.sink.write(await this.output(part));
      const written = (this.written.get(part.file) ?? 0) + 1;
      this.written.set(part.file, written);
      // A file sink has copied the bytes; a Blob still reads them until it is saved.
      if (written === this.closed.get(part.file) && this.sink.kind === 'file') {
        await this.scratch.removeFile(part.file);
      }
    }
  }

  /** After the last flush: every output must have been written. */
  finish() {
    if (this.queue.length) throw new Error('internal error: some outputs were never written to the zip');
  }
}

/**
 * The ledger of a new batch; throws an Error named by kind (`options`, `key`, `lookup`) when the
 * settings are unusable, before anything is opened or written.
 */
export function newBatch(settings) {
  return new Batch(settings.options, settings.key, settings.lookup ?? undefined, true, settings.pixels,
    settings.overrides ?? undefined);
}

/**
 * The element inventory (no PHI) and the values to review (PHI) of `inputs` under `settings`,
 * examined by the workers and merged here in input order: resolves to {inventory, preReview,
 * examined, unread} (the CSV texts and counts). Nothing is written anywhere.
 */
export async function runInventory({ pool, inputs, settings, onProgress, isCancelled }) {
  await pool.configure(settings);
  const inventory = new Inventory();
  try {
    let unread = 0, bytes = 0;
    const files = inputs.map((i) => i.file);
    for await (const { index, result } of pool.runInOrder(files, { ahead: 4 * pool.size, mode: 'inventory' })) {
      if (result.part) inventory.add(inputs[index].path, result.part);
      else unread++;
      bytes += inputs[index].file.size;
      onProgress(index + 1, bytes);
      if (isCancelled()) throw new DOMException('cancelled', 'AbortError');
    }
    return {
      inventory: inventory.inventoryCsv(), preReview: inventory.preReviewCsv(),
      examined: inventory.files(), unread,
    };
  } finally {
    inventory.free();
  }
}

/**
 * The studio's survey of `inputs` under `settings`: each file's card and thumbnail, made by the
 * workers and handed to `onCard(index, result)` in input order as they come (`result` is
 * `{card, thumbnail?, thumbReason?}` or `{reason}`). Nothing is written anywhere.
 */
export async function runSurvey({ pool, inputs, settings, onCard, isCancelled }) {
  await pool.configure(settings);
  const files = inputs.map((i) => i.file);
  for await (const { index, result } of pool.runInOrder(files, { ahead: 4 * pool.size, mode: 'survey' })) {
    onCard(index, result);
    if (isCancelled()) throw new DOMException('cancelled', 'AbortError');
  }
}

/**
 * Runs `inputs` ({file, path}, in commit order) into `batch` (from newBatch) and `sink`; those
 * whose path is in `excluded` (the reviewer's, in the studio) are not run but committed as
 * excluded in their place. `settings`: {options, key, lookup, pixels}, for the workers. Reports
 * progress over the inputs run with `onProgress(done, bytes)`; `isCancelled()` is checked after
 * each commit. `settings.sampleSeed` (optional) seeds the random sample of outputs to inspect.
 * `confirmRelease(verification)` resolves to true to save an output with critical residual-PHI
 * findings anyway (otherwise the run fails with an Error named `ResidualPhi`).
 * Resolves to {summary, warnings, log, rows, blob, batch, scratch} — `log` is the run's row of
 * deid_log-noPHI.csv (sample seed and size); `rows` lists the inputs not written or
 * written with warnings; `batch` keeps the linkage tables for their separate download; remove
 * `scratch` once `blob` is no longer needed.
 */
export async function runBatch({ batch, pool, inputs, excluded = new Set(), settings, sink, onProgress, isCancelled, confirmRelease }) {
  const started = utcNow();
  const scratch = await openRun();
  try {
    await pool.configure(settings);
    const jsonl = [];
    const csv = [Batch.auditCsvHeader()];
    const rows = [];
    /** What the ledger said of one input committed (run or excluded). */
    const record = (path, c) => {
      if (c.audit) { // written files, and held-back or excluded ones (a line in audit.jsonl only)
        jsonl.push(c.audit.jsonl);
        csv.push(c.audit.csv);
      }
      if (c.listed) rows.push({ path, status: c.outcome.status, detail: c.outcome.detail, warnings: c.audit?.remarks ?? '' });
    };
    let next = 0; // the next input of `inputs` to commit
    /** Commits the excluded inputs before `upTo` (an input run, or the end). */
    const excludeUpTo = (upTo) => {
      for (; next < inputs.length && inputs[next] !== upTo; next++) record(inputs[next].path, batch.exclude(inputs[next].path));
      next++;
    };
    const run = inputs.filter((i) => !excluded.has(i.path));
    let bytes = 0;
    const files = run.map((i) => i.file);
    const parts = new ZipParts(sink, scratch);
    const ahead = 4 * pool.size;
    const names = run.map((i) => i.path);
    for await (const { index, result, location, closed } of pool.runInOrder(files, { scratch: scratch.name, ahead, names })) {
      const { path, file } = run[index];
      excludeUpTo(run[index]);
      const c = batch.commit(path, result);
      if (c.outcome.status === 'written') parts.add(c.header, location, file);
      record(path, c);
      await parts.flush(closed ? [closed] : []);
      bytes += file.size;
      onProgress(index + 1, bytes);
      if (isCancelled()) throw new DOMException('cancelled', 'AbortError');
    }
    excludeUpTo(null);
    await parts.flush(await pool.closeOutputs());
    parts.finish();
    const end = batch.finish({
      run_id: randomHex(8),
      started_utc: started,
      finished_utc: utcNow(),
      sample_seed: settings.sampleSeed ?? randomSeed(),
      reviewer: settings.reviewer ?? '',
      ...settings.review, // the studio's sign-off and sample results, when it was used
    });
    const detail = batch.residualDetail();
    // A critical residual-PHI finding stops the save unless the user, having seen the findings,
    // says otherwise.
    if (end.verification?.critical && !(await confirmRelease(end.verification))) {
      const err = new Error('the output was discarded: the residual-PHI check found identifying values in it');
      err.name = 'ResidualPhi';
      err.verification = end.verification;
      err.detail = detail;
      throw err;
    }
    await sink.write(end.jsonlHeader);
    await sink.write(new Blob([...jsonl, end.summaryLine]));
    await sink.write(end.csvHeader);
    await sink.write(new Blob(csv));
    await sink.write(end.reports);
    await sink.write(end.end);
    const blob = await sink.close();
    // A zip saved straight to disk no longer needs the scratch files; a Blob still reads them
    // until it has been downloaded (they go at the next run or page load).
    if (!blob) await scratch.remove();
    return {
      summary: end.summary, warnings: end.warnings, log: end.log, verification: end.verification, detail,
      rows, blob, batch, scratch,
    };
  } catch (err) {
    batch.free();
    await sink.abort();
    // Files still held by a worker go at the next clearScratch(), once the page has restarted
    // the pool (the run's lock is released here).
    await scratch.remove();
    throw err;
  }
}

/** The time now as the log writes it: UTC, ISO 8601, whole seconds. */
function utcNow() {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function randomHex(bytes) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A random sample seed that a JS number holds exactly (below 2^53). */
export function randomSeed() {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  return (hi & 0x1fffff) * 2 ** 32 + lo;
}
