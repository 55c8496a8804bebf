// The messages between the page and its de-identification workers (pdf.js style: named kinds,
// replies matched by id, errors as {name, message} rebuilt into Errors by name).
//
// page → worker                                   worker → page
//   {kind: LOAD, module, rotate}                    {kind: READY}
//   {kind: CONFIGURE, options, key, lookup,         {kind: CONFIGURED} | {kind: FAILED, error}
//      pixels, overrides}
//   {kind: FILE, id, file, scratch, mode, name}     {kind: RESULT, id, result, location, closed, fatal, retry}
//   {kind: CLOSE}                                   {kind: CLOSED, closed}
//
// `file` is a File handle (structured clone, no bytes read on the page); the worker appends the
// output to its own OPFS file in the run folder `scratch` and replies with the library's
// FileResult and where the bytes are ({file, at, size}). `closed` ({file, outputs}) names a worker
// file the worker has just closed and how many outputs it holds (it starts a new file every
// 64 MB, and CLOSE closes the last at the end of a run): from then on the page can read it.
// `name` is the file's relative path: the residual-PHI verifier harvests its words, and the
// result then carries `check` (the verifier's part for that file, PHI, for the page's Batch).
// With `mode: 'inventory'` the worker writes nothing and `result` is `{part}` or `{reason}`
// (the file's part of the element inventory and pre-review); with `mode: 'survey'` it is the
// studio's `{card, thumbnail}` or `{reason}`.
//
// The studio's viewer worker (worker/view.js) takes LOAD and CONFIGURE too, and:
//   {kind: OPEN, id, file}                          {kind: OPENED, id, info} (the Viewer's info)
//   {kind: RENDER, id, frame, center, width,        {kind: RENDERED, id, picture: {width, height, data}}
//      invert}
//   {kind: TAGS, id, file}                          {kind: TAGGED, id, comparison}
//   {kind: CARD, id, file}                          {kind: CARDED, id, card} (what the run will
//                                                     do to the file's pixels, as the engine decides)
// `fatal` means the engine trapped on that file: the file fails, and the worker answers the
// files still queued with `retry`; the pool replaces it and sends those again. The batch goes on.

export const LOAD = 'load';
export const READY = 'ready';
export const CONFIGURE = 'configure';
export const CONFIGURED = 'configured';
export const FILE = 'file';
export const RESULT = 'result';
export const FAILED = 'failed';
export const CLOSE = 'close';
export const CLOSED = 'closed';
export const OPEN = 'open';
export const OPENED = 'opened';
export const RENDER = 'render';
export const RENDERED = 'rendered';
export const TAGS = 'tags';
export const TAGGED = 'tagged';
export const CARD = 'card';
export const CARDED = 'carded';

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
