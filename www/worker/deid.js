// A de-identification worker: its own wasm instance, one file at a time. It reads the File
// itself and the library writes the output straight from wasm memory to an OPFS file, so no byte
// of the file passes through the page. See shared/protocol.js for the messages.
import init, { Deidentifier, internalErrorResult } from '../pkg/dicom_deid.js';
import { CONFIGURE, CONFIGURED, FAILED, FILE, LOAD, READY, RESULT, errorToMessage } from '../shared/protocol.js';
import { createOutput } from '../shared/scratch.js';

let deidentifier = null;
let internalError = null;

const handlers = {
  async [LOAD]({ module }) {
    await init({ module_or_path: module });
    internalError = internalErrorResult();
    return { kind: READY };
  },

  [CONFIGURE]({ options, key, lookup }) {
    deidentifier?.free();
    deidentifier = new Deidentifier(options, key, lookup ?? undefined);
    return { kind: CONFIGURED };
  },

  async [FILE]({ id, file, scratch }) {
    const output = await createOutput(scratch, id);
    try {
      return { kind: RESULT, id, result: deidentifier.deidentifyFile(file, output), fatal: false };
    } catch {
      // A trap in the engine (a bug): this instance is unusable, the file fails, the pool
      // starts a fresh worker.
      return { kind: RESULT, id, result: internalError, fatal: true };
    } finally {
      output.close();
    }
  },
};

self.onmessage = async ({ data }) => {
  try {
    self.postMessage(await handlers[data.kind](data));
  } catch (err) {
    self.postMessage({ kind: FAILED, id: data.id, error: errorToMessage(err) });
  }
};
