// A de-identification worker: its own wasm instance. It reads each File itself (the next file's
// read overlaps the current file's processing), the library appends the output straight from
// wasm memory to this worker's OPFS file, and only a small result goes back: no byte of a file
// passes through the page. See shared/protocol.js for the messages.
import init, { PendingValue, internalErrorResult, splitFrom, tooLargeResult, unreadableResult } from '../pkg/dicom_deid.js';
import { configure } from '../shared/engine.js';
import { CLOSE, CLOSED, CONFIGURE, CONFIGURED, FAILED, FILE, LOAD, READY, RESULT, errorToMessage } from '../shared/protocol.js';
import { OutputFile } from '../shared/scratch.js';

let deidentifier = null;
let broken = false; // the engine trapped: this instance must not run again
let queue = Promise.resolve();
// A worker file is closed (and so readable by the page) once it holds this much (64 MB unless
// the page says otherwise), so that a zip saved straight to disk is written as the run goes on.
let rotateBytes = 64 << 20;
const output = new OutputFile();
// Files from this size are split around their Pixel Data (the header read, the pixels copied in
// chunks); a file that must be read whole is refused past WHOLE_LIMIT, in plain words, rather
// than failing to allocate (a wasm instance addresses at most 4 GB, input and output together).
let bigFrom = Infinity;
const WHOLE_LIMIT = 1 << 30;

/** `(offset, length) => Uint8Array` over a File, read synchronously (workers only). */
function readerOf(file) {
  const sync = new FileReaderSync();
  return (offset, length) => new Uint8Array(sync.readAsArrayBuffer(file.slice(offset, offset + length)));
}

async function process(read, scratch, name) {
  if (broken) return { kind: RESULT, retry: true };
  let bytes;
  try {
    bytes = new Uint8Array(await read);
  } catch {
    return { kind: RESULT, result: unreadableResult(), fatal: false };
  }
  return write(scratch, (handle, at) => deidentifier.deidentifyInto(bytes, handle, at, name));
}

/** A large file: split around its Pixel Data, or read whole when it cannot be and is small
 * enough, or refused with the reason. */
async function processLarge(file, scratch, name) {
  if (broken) return { kind: RESULT, retry: true };
  const readAt = readerOf(file);
  let whole = null;
  const reply = await write(scratch, async (handle, at) => {
    const r = deidentifier.deidentifySplit(readAt, file.size, handle, at, name);
    if (r.notSplit) whole = r.notSplit;
    return r instanceof PendingValue ? hashValue(file, r, handle) : r;
  });
  if (whole === null) return reply;
  if (file.size > WHOLE_LIMIT) return { kind: RESULT, result: tooLargeResult(file.size, whole), fatal: false };
  return process(file.arrayBuffer(), scratch, name);
}

// The value of a large file is hashed in chunks of this size, with this many reads ahead: the
// browser reads the next chunks while the engine hashes this one, so the time is about the
// read's alone (issue 13's measure: at most 1.5 times the browser's read floor).
const HASH_CHUNK = 8 << 20;
const READS_AHEAD = 2;

/** Feeds the unchanged value `pending` stands for to its checksums, read asynchronously from
 * `file`, and finishes the output. A read that fails gives the unreadable result. */
async function hashValue(file, pending, handle) {
  for await (const chunk of chunksOf(file, pending.start, pending.end)) {
    if (chunk === null) {
      pending.free();
      return unreadableResult();
    }
    pending.update(chunk);
  }
  return pending.finish(handle);
}

/** `file`'s bytes from `start` to `end` in HASH_CHUNK pieces, with READS_AHEAD reads in flight
 * while each piece is used; `null` (and the end) when a read fails. */
async function* chunksOf(file, start, end) {
  const reads = [];
  let next = start;
  const readMore = () => {
    while (reads.length < READS_AHEAD && next < end) {
      const to = Math.min(next + HASH_CHUNK, end);
      reads.push(file.slice(next, to).arrayBuffer().catch(() => null));
      next = to;
    }
  };
  readMore();
  while (reads.length > 0) {
    const buffer = await reads.shift();
    if (buffer === null) {
      yield null;
      return;
    }
    readMore();
    yield new Uint8Array(buffer);
  }
}

/** Runs `deidentify(handle, at)` (which may be async) against this worker's output file and replies with where the
 * output went. A result that is not a FileResult (`notSplit`) is handed back as it is. */
async function write(scratch, deidentify) {
  const handle = await output.open(scratch);
  const at = output.size;
  let result;
  try {
    result = await deidentify(handle, at);
  } catch {
    // A trap in the engine (a bug): the file fails, the pool starts a fresh worker.
    broken = true;
    return { kind: RESULT, result: internalErrorResult.cached, closed: output.close(), fatal: true };
  }
  if (result.status !== 'processed') return { kind: RESULT, result, fatal: false };
  // A large file's unchanged Pixel Data was not written here: the zip takes it from the input.
  const { reference } = result;
  const stored = result.size - (reference?.size ?? 0);
  output.size += stored;
  output.outputs++;
  const location = { file: output.name, at, size: stored, reference };
  const closed = output.size >= rotateBytes ? output.close() : null;
  return { kind: RESULT, result, location, closed, fatal: false };
}

/** The bytes a report mode reads: the whole file, or for a large one its header and tail
 * (the Pixel Data value left out), which is all a report looks at. */
async function bytesFor(file, read) {
  if (file.size >= bigFrom) {
    const stub = deidentifier.stubOf(readerOf(file), file.size);
    if (stub) return stub;
    if (file.size > WHOLE_LIMIT) throw new Error('too large to read whole here');
  }
  return new Uint8Array(await read());
}

/** A report mode: `make(bytes)` on the file's bytes (or its stub); nothing is written. The
 * result is the library's object, or `{reason}` when the file cannot be read. */
function reportMode(make) {
  return async (file, read) => {
    if (broken) return { kind: RESULT, retry: true };
    let bytes;
    try {
      bytes = await bytesFor(file, read);
    } catch {
      return { kind: RESULT, result: { reason: 'the file could not be read' }, fatal: false };
    }
    try {
      return { kind: RESULT, result: make(bytes), fatal: false };
    } catch {
      broken = true;
      return { kind: RESULT, result: { reason: 'internal error' }, fatal: true };
    }
  };
}

// The element inventory and pre-review part of a file; the studio's card and thumbnail.
const modes = {
  inventory: reportMode((bytes) => deidentifier.examine(bytes, true)),
  survey: reportMode((bytes) => deidentifier.survey(bytes)),
};

const handlers = {
  async [LOAD]({ module, rotate }) {
    await init({ module_or_path: module });
    if (rotate > 0) rotateBytes = rotate;
    internalErrorResult.cached = internalErrorResult(); // made now: after a trap nothing can run
    bigFrom = splitFrom();
    return { kind: READY };
  },

  async [CONFIGURE](settings) {
    deidentifier = await configure(deidentifier, settings);
    return { kind: CONFIGURED };
  },

  [FILE]({ file, scratch, mode, name }) {
    const large = file.size >= bigFrom;
    // A small file's read starts now, while earlier files are processed.
    const early = large ? null : file.arrayBuffer();
    const read = () => early ?? file.arrayBuffer();
    const done = queue.then(() => {
      if (modes[mode]) return modes[mode](file, read);
      return large ? processLarge(file, scratch, name) : process(early, scratch, name);
    });
    queue = done.catch(() => {}); // one failed file does not fail the ones after it
    return done;
  },

  async [CLOSE]() {
    await queue; // never rejects
    return { kind: CLOSED, closed: output.close() };
  },
};

self.onmessage = async ({ data }) => {
  try {
    self.postMessage({ ...(await handlers[data.kind](data)), id: data.id });
  } catch (err) {
    self.postMessage({ kind: FAILED, id: data.id, error: errorToMessage(err) });
  }
};
