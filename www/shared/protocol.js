// The messages between the page and its de-identification workers (pdf.js style: named kinds,
// replies matched by id, errors as {name, message} rebuilt into Errors by name).
//
// page → worker                                   worker → page
//   {kind: LOAD, module}                            {kind: READY}
//   {kind: CONFIGURE, options, key, lookup}         {kind: CONFIGURED} | {kind: FAILED, error}
//   {kind: FILE, id, file, scratch}                 {kind: RESULT, id, result, fatal}
//
// `file` is a File handle (structured clone, no bytes read on the page); the worker writes the
// output to the OPFS file `scratch/<id>` and replies with the library's FileResult. `fatal` means
// the engine trapped on that file: the pool replaces the worker, the batch goes on.

export const LOAD = 'load';
export const READY = 'ready';
export const CONFIGURE = 'configure';
export const CONFIGURED = 'configured';
export const FILE = 'file';
export const RESULT = 'result';
export const FAILED = 'failed';

/** An Error as a plain object that survives postMessage. */
export function errorToMessage(err) {
  return { name: err?.name ?? 'Error', message: String(err?.message ?? err) };
}

/** Rebuilds an Error from {name, message}; `name` is the library's error kind. */
export function errorFromMessage({ name, message }) {
  const err = new Error(message);
  err.name = name;
  return err;
}
