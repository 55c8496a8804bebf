// The studio's viewer worker: its own wasm instance holding the one image open in the viewer,
// so that dragging the window re-renders a decoded frame without decoding it again, and the
// page's main thread never touches pixels. See shared/protocol.js for the messages.
import init, { Viewer } from '../pkg/dicom_deid.js';
import { configure } from '../shared/engine.js';
import { installJpeg2000 } from '../shared/jpeg2000.js';
import { installJpegLs } from '../shared/jpegls.js';
import { CARD, CARDED, CONFIGURE, CONFIGURED, FAILED, LOAD, OPEN, OPENED, READY, RENDER, RENDERED, TAGGED, TAGS, errorToMessage } from '../shared/protocol.js';

let viewer = null;
let deidentifier = null;

const handlers = {
  async [LOAD]({ module }) {
    await init({ module_or_path: module });
    return { kind: READY };
  },

  async [CONFIGURE](settings) {
    deidentifier = await configure(deidentifier, settings);
    return { kind: CONFIGURED };
  },

  async [OPEN]({ file }) {
    // The viewer shows any image, Clean Pixel Data on or off: its codecs are loaded on first use.
    await Promise.all([installJpegLs(), installJpeg2000()]);
    const bytes = new Uint8Array(await file.arrayBuffer());
    viewer?.free();
    viewer = null;
    viewer = new Viewer(bytes);
    return { kind: OPENED, info: viewer.info() };
  },

  [RENDER]({ frame, center, width, invert }) {
    const picture = viewer.render(frame, center ?? NaN, width ?? NaN, Boolean(invert));
    return { kind: RENDERED, picture, transfer: [picture.data.buffer] };
  },

  async [CARD]({ file }) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    return { kind: CARDED, card: deidentifier.card(bytes) };
  },

  async [TAGS]({ file }) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    return { kind: TAGGED, comparison: deidentifier.compareTags(bytes) };
  },
};

self.onmessage = async ({ data }) => {
  try {
    const { transfer = [], ...reply } = await handlers[data.kind](data);
    self.postMessage({ ...reply, id: data.id }, transfer);
  } catch (err) {
    self.postMessage({ kind: FAILED, id: data.id, error: errorToMessage(err) });
  }
};
