// The configured engine of a worker (the de-identification workers and the viewer's): a fresh
// Deidentifier for each CONFIGURE, the text-detection model installed once per wasm instance
// when the page sends it (only when detection is on), and the JPEG-LS and JPEG 2000 codecs loaded
// once when Clean Pixel Data is on (masking and detection decode those syntaxes through them).
import { Deidentifier, installTextModels } from '../pkg/dicom_deid.js';
import { installJpeg2000 } from './jpeg2000.js';
import { installJpegLs } from './jpegls.js';

let modelInstalled = false;

/** A Deidentifier for the CONFIGURE message's settings; `old` is freed. */
export async function configure(old, { options, key, lookup, pixels, overrides, textModel }) {
  if (options?.clean_pixel_data) await Promise.all([installJpegLs(), installJpeg2000()]);
  if (textModel && !modelInstalled) {
    installTextModels(new Uint8Array(textModel.detector), new Uint8Array(textModel.reader));
    modelInstalled = true;
  }
  old?.free();
  return new Deidentifier(options, key, lookup ?? undefined, pixels, overrides ?? undefined);
}
