// A de-identification worker: its own wasm instance. It reads each File itself (the next file's
// read overlaps the current file's processing), the library appends the output straight from
// wasm memory to this worker's OPFS file, and only a small result goes back: no byte of a file
// passes through the page. See shared/protocol.js for the messages.
import init, { Deidentifier, internalErrorResult, unreadableResult } from '../pkg/dicom_deid.js';
import { CLOSE, CLOSED, CONFIGURE, CONFIGURED, FAILED, FILE, LOAD, READY, RESULT, errorToMessage } from '../shared/protocol.js';
import { OutputFile } from '../shared/scratch.js';

let deidentifier = null;
let broken = false; // the engine trapped: this instance must not run again
let queue = Promise.resolve();
// A worker file is closed (and so readable by the page) once it holds this much (64 MB unless
// the page says otherwise), so that a zip saved straight to disk is written as the run goes on.
let rotateBytes = 64 << 20;
const output = new OutputFile();

async function process(read, scratch, name) {
  if (broken) return { kind: RESULT, retry: true };
  let bytes;
  try {
    bytes = new Uint8Array(await read);
  } catch {
    return { kind: RESULT, result: unreadableResult(), fatal: false };
  }
  const handle = await output.open(scratch);
  const at = output.size;
  let result;
  try {
    result = deidentifier.deidentifyInto(bytes, handle, at, name);
  } catch {
    // A trap in the engine (a bug): the file fails, the pool starts a fresh worker.
    broken = true;
    return { kind: RESULT, result: internalErrorResult.cached, closed: output.close(), fatal: true };
  }
  if (result.status !== 'processed') return { kind: RESULT, result, fatal: false };
  output.size += result.size;
  output.outputs++;
  const location = { file: output.name, at, size: result.size };
  const closed = output.size >= rotateBytes ? output.close() : null;
  return { kind: RESULT, result, location, closed, fatal: false };
}

/** The file's part of the element inventory and pre-review; nothing is written. */
async function examine(read) {
  if (broken) return { kind: RESULT, retry: true };
  let bytes;
  try {
    bytes = new Uint8Array(await read);
  } catch {
    return { kind: RESULT, result: { reason: 'the file could not be read' }, fatal: false };
  }
  try {
    return { kind: RESULT, result: deidentifier.examine(bytes, true), fatal: false };
  } catch {
    broken = true;
    return { kind: RESULT, result: { reason: 'internal error' }, fatal: true };
  }
}

/** The studio's card and thumbnail of the file; nothing is written. */
async function survey(read) {
  if (broken) return { kind: RESULT, retry: true };
  let bytes;
  try {
    bytes = new Uint8Array(await read);
  } catch {
    return { kind: RESULT, result: { reason: 'the file could not be read' }, fatal: false };
  }
  try {
    return { kind: RESULT, result: deidentifier.survey(bytes), fatal: false };
  } catch {
    broken = true;
    return { kind: RESULT, result: { reason: 'internal error' }, fatal: true };
  }
}

const modes = { inventory: examine, survey };

const handlers = {
  async [LOAD]({ module, rotate }) {
    await init({ module_or_path: module });
    if (rotate > 0) rotateBytes = rotate;
    internalErrorResult.cached = internalErrorResult(); // made now: after a trap nothing can run
    return { kind: READY };
  },

  [CONFIGURE]({ options, key, lookup, pixels, overrides }) {
    deidentifier?.free();
    deidentifier = new Deidentifier(options, key, lookup ?? undefined, pixels, overrides ?? undefined);
    return { kind: CONFIGURED };
  },

  [FILE]({ file, scratch, mode, name }) {
    const read = file.arrayBuffer(); // starts now, while earlier files are processed
    const done = queue.then(() => (modes[mode] ? modes[mode](read) : process(read, scratch, name)));
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
