// A stand-in for worker/deid.js that speaks the same protocol without wasm: files are plain
// objects; one with `trap: true` makes the "engine" trap, as a bug in the library would.
import { CLOSE, CLOSED, CONFIGURE, CONFIGURED, FILE, LOAD, READY, RESULT } from '/www/shared/protocol.js';

let broken = false;
let queue = Promise.resolve();
let n = 0;
const me = Math.random().toString(36).slice(2, 8);
const pause = () => new Promise((r) => setTimeout(r, 2 + Math.random() * 5));

async function process(file) {
  await pause();
  if (broken) return { kind: RESULT, retry: true };
  if (file.trap) {
    broken = true;
    return { kind: RESULT, result: { status: 'failed', reason: 'internal' }, closed: { file: me, outputs: n }, fatal: true };
  }
  const at = n++;
  return { kind: RESULT, result: { status: 'processed', name: file.name, size: 1 }, location: { file: me, at, size: 1 }, fatal: false };
}

const handlers = {
  [LOAD]: () => ({ kind: READY }),
  [CONFIGURE]: () => ({ kind: CONFIGURED }),
  [FILE]({ file }) {
    const done = queue.then(() => process(file));
    queue = done.catch(() => {});
    return done;
  },
  async [CLOSE]() {
    await queue;
    return { kind: CLOSED, closed: { file: me, outputs: n } };
  },
};

self.onmessage = async ({ data }) => self.postMessage({ ...(await handlers[data.kind](data)), id: data.id });
