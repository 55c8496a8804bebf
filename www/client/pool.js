// The worker pool: starts module workers with the compiled wasm module, configures them, and
// runs a list of files through them, yielding results in input order (the order the batch
// commits in) while running ahead of the commit point by a bounded number of files. A worker
// whose engine trapped is replaced and the batch goes on; terminate() stops everything at once.
import { CONFIGURE, FAILED, FILE, LOAD, errorFromMessage } from '../shared/protocol.js';

/** Sends one message and waits for the worker's reply (workers answer one message at a time). */
function ask(worker, message, pending) {
  return new Promise((resolve, reject) => {
    const settle = (f) => (v) => { pending.delete(reject); f(v); };
    pending.add(reject);
    worker.onmessage = ({ data }) => (data.kind === FAILED ? settle(reject)(errorFromMessage(data.error)) : settle(resolve)(data));
    worker.onerror = (e) => { e.preventDefault(); settle(reject)(new Error(e.message || 'the worker stopped')); };
    worker.postMessage(message);
  });
}

export class WorkerPool {
  constructor(module, size) {
    this.module = module;
    this.size = size;
    this.workers = [];
    this.settings = null;
    this.pending = new Set();
  }

  async #spawn() {
    const worker = new Worker(new URL('../worker/deid.js', import.meta.url), { type: 'module' });
    await ask(worker, { kind: LOAD, module: this.module }, this.pending);
    if (this.settings) await ask(worker, { kind: CONFIGURE, ...this.settings }, this.pending);
    return worker;
  }

  /** Starts (or restarts) every worker. */
  async start() {
    this.terminate();
    this.workers = await Promise.all(Array.from({ length: this.size }, () => this.#spawn()));
  }

  /** Stops every worker at once; whatever waited on them fails with an AbortError. */
  terminate() {
    for (const w of this.workers) w.terminate();
    this.workers = [];
    for (const reject of this.pending) reject(new DOMException('stopped', 'AbortError'));
    this.pending.clear();
  }

  /** Gives every worker the batch's options, key and lookup table. */
  async configure(settings) {
    this.settings = settings;
    await Promise.all(this.workers.map((w) => ask(w, { kind: CONFIGURE, ...settings }, this.pending)));
  }

  /**
   * Runs `files` (File handles, in commit order) through the workers, outputs to the OPFS run
   * folder `scratch`; yields `{index, result}` in input order. At most `ahead` files are done
   * or in flight beyond the one awaited.
   */
  async *runInOrder(files, { scratch, ahead }) {
    const done = new Map();
    let next = 0, committed = 0, failure = null;
    let wakeCommitter = null;
    const waitingFeeders = [];
    const wake = () => { wakeCommitter?.(); wakeCommitter = null; };
    const release = () => waitingFeeders.splice(0).forEach((r) => r());
    const feed = async (slot) => {
      for (;;) {
        while (next < files.length && next - committed >= ahead && !failure) {
          await new Promise((r) => waitingFeeders.push(r));
        }
        if (next >= files.length || failure) return;
        const index = next++;
        try {
          const reply = await ask(this.workers[slot], { kind: FILE, id: index, file: files[index], scratch }, this.pending);
          done.set(index, reply.result);
          if (reply.fatal) this.workers[slot] = await this.#replace(this.workers[slot]);
        } catch (err) {
          failure ??= err;
        }
        wake();
      }
    };
    const running = this.workers.map((_, slot) => feed(slot));
    try {
      while (committed < files.length) {
        if (done.has(committed)) {
          const result = done.get(committed);
          done.delete(committed);
          const index = committed++;
          release();
          yield { index, result };
        } else if (failure) {
          throw failure;
        } else {
          await new Promise((r) => { wakeCommitter = r; });
        }
      }
    } finally {
      failure ??= new Error('stopped');
      release();
    }
    await Promise.all(running);
  }

  async #replace(worker) {
    worker.terminate();
    return this.#spawn();
  }
}
