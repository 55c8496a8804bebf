// The configured engine of a worker (the de-identification workers and the viewer's): a fresh
// Deidentifier for each CONFIGURE, and the text-detection model installed once per wasm instance
// when the page sends it (only when detection is on).
import { Deidentifier, installTextModel } from '../pkg/dicom_deid.js';

let modelInstalled = false;

/** A Deidentifier for the CONFIGURE message's settings; `old` is freed. */
export function configure(old, { options, key, lookup, pixels, overrides, textModel }) {
  if (textModel && !modelInstalled) {
    installTextModel(new Uint8Array(textModel));
    modelInstalled = true;
  }
  old?.free();
  return new Deidentifier(options, key, lookup ?? undefined, pixels, overrides ?? undefined);
}
