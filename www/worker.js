// A de-identification worker: its own wasm instance, one file at a time. Messages in:
//   {type:'load', module}            compiled WebAssembly.Module from the page (no fetch here)
//   {type:'session', options, key, lookup}
//   {type:'file', id, buffer}        the file's bytes, transferred
// Messages out (one-way, like pdf.js): {type:'ready'} | {type:'done', ...} | {type:'error', id, kind, reason}
import init, { Session } from './pkg/dicom_deid.js';

let session = null;
let loaded = null;

function kindOf(message) {
  const m = /^\[([a-z-]+)\]\s*(.*)$/s.exec(message);
  return m ? { kind: m[1], reason: m[2] } : { kind: 'internal', reason: message };
}

self.onmessage = async (ev) => {
  const msg = ev.data;
  try {
    if (msg.type === 'load') {
      loaded = init({ module_or_path: msg.module });
      await loaded;
      self.postMessage({ type: 'ready' });
    } else if (msg.type === 'session') {
      await loaded;
      if (session) session.free();
      session = new Session(msg.options, msg.key, msg.lookup ?? undefined);
      self.postMessage({ type: 'session-ready' });
    } else if (msg.type === 'file') {
      const input = new Uint8Array(msg.buffer);
      let out;
      try {
        out = session.deidentify(input);
      } catch (e) {
        const { kind, reason } = kindOf(String(e.message ?? e));
        self.postMessage({ type: 'error', id: msg.id, kind, reason });
        return;
      }
      const result = {
        type: 'done', id: msg.id, name: out.name, crc32: out.crc32, digest: out.digest,
        jsonl: out.auditJsonl, csv: out.auditCsv, warnings: out.warnings,
        originalPatientId: out.originalPatientId, newPatientId: out.newPatientId, uids: out.uids,
      };
      out.useAlternateName();
      result.alt = { name: out.name, jsonl: out.auditJsonl, csv: out.auditCsv };
      const bytes = out.takeBytes();
      out.free();
      self.postMessage({ ...result, bytes }, [bytes.buffer]);
    }
  } catch (e) {
    self.postMessage({ type: 'error', id: msg.id, kind: 'internal', reason: String(e.message ?? e) });
  }
};
