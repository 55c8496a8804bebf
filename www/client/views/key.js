// The project key: generated, imported from a key file, exported; and the optional lookup table.
import { generateKey, keyFromHex, keyToHex } from '../../pkg/dicom_deid.js';
import { download } from './download.js';

const $ = (id) => document.getElementById(id);

export function mountKey() {
  const state = { key: null, lookup: null };
  const setKey = (bytes) => {
    state.key = bytes;
    $('key-status').textContent = `Key ready (fingerprint ${keyToHex(bytes).slice(0, 8)}…). Export it to reuse it next time.`;
    $('key-export').disabled = false;
  };
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
  return {
    /** The key (one is generated on first use) and the lookup table's text. */
    settings() {
      if (!state.key) setKey(generateKey());
      return { key: state.key, lookup: state.lookup };
    },
  };
}
