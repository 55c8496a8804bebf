// The worker pool: starts module workers with the compiled wasm module, configures them, and
// runs a list of files through them, yielding results in input order (the order the batch
// commits in) while running ahead of the commit point by a bounded number of files. Each worker
// has two files in flight, so it reads one while it processes the other. A worker whose engine
// trapped is replaced and the batch goes on; terminate() stops everything at once.
import { CLOSE, CONFIGURE, FAILED, FILE, LOAD, errorFromMessage } from '../shared/protocol.js';

const IN_FLIGHT = 2;

/** One worker and its outstanding requests, matched to replies by id. */
export class Channel {
  constructor(worker, pending) {
    this.worker = worker;
    this.pending = pending;
    this.replies = new Map();
    this.nextId = 0;
    this.idleWaiters = [];
    worker.onmessage = ({ data }) => {
      const reply = this.replies.get(data.id);
      if (!reply) return;
      this.replies.delete(data.id);
      pending.delete(reply.reject);
      if (data.kind === FAILED) reply.reject(errorFromMessage(data.error));
      else reply.resolve(data);
      if (!this.replies.size) this.idleWaiters.splice(0).forEach((r) => r());
    };
    worker.onerror = (e) => {
      e.preventDefault();
      const err = new Error(e.message || 'the worker stopped');
      for (const r of this.replies.values()) { pending.delete(r.reject); r.reject(err); }
      this.replies.clear();
      this.idleWaiters.splice(0).forEach((r) => r());
    };
  }

  /** Resolves once every request sent has been answered. */
  idle() {
    return this.replies.size ? new Promise((r) => this.idleWaiters.push(r)) : Promise.resolve();
  }

  ask(message) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.replies.set(id, { resolve, reject });
      this.pending.add(reject);
      this.worker.postMessage({ ...message, id });
    });
  }

  terminate() {
    this.worker.terminate();
  }
}

export class WorkerPool {
  /** `rotate`: bytes after which a worker starts a new scratch file (0: the worker's default);
   * `script`: the worker module (tests give a stand-in). */
  constructor(module, size, rotate = 0, script = new URL('../worker/deid.js', import.meta.url)) {
    this.module = module;
    this.script = script;
    this.rotate = rotate;
    this.size = size;
    this.channels = [];
    this.settings = null;
    this.pending = new Set(); // rejecters of every outstanding request, for terminate()
    this.generation = 0; // bumped by terminate(), so a replacement started before it is dropped
  }

  async #spawn() {
    const channel = new Channel(new Worker(this.script, { type: 'module' }), this.pending);
    await channel.ask({ kind: LOAD, module: this.module, rotate: this.rotate });
    if (this.settings) await channel.ask({ kind: CONFIGURE, ...this.settings });
    return channel;
  }

  /** Starts (or restarts) every worker. */
  async start() {
    this.terminate();
    this.channels = await Promise.all(Array.from({ length: this.size }, () => this.#spawn()));
  }

  /** Stops every worker at once; whatever waited on them fails with an AbortError. */
  terminate() {
    this.generation++;
    for (const c of this.channels) c.terminate();
    this.channels = [];
    for (const reject of this.pending) reject(new DOMException('stopped', 'AbortError'));
    this.pending.clear();
  }

  /** Gives every worker the batch's options, key and lookup table. */
  async configure(settings) {
    this.settings = settings;
    await Promise.all(this.channels.map((c) => c.ask({ kind: CONFIGURE, ...settings })));
  }

  /** Closes the workers' output files of the run, so that the page can read them; resolves to
   * their names. */
  async closeOutputs() {
    const replies = await Promise.all(this.channels.map((c) => c.ask({ kind: CLOSE })));
    return replies.map((r) => r.closed).filter(Boolean);
  }

  /**
   * Runs `files` (File handles, in commit order) through the workers, outputs to the OPFS run
   * folder `scratch` (`mode: 'inventory'`: examined, nothing written; `names`: the files'
   * relative paths, for the residual-PHI verifier); yields `{index, result, location, closed}` in input order (`closed`: a
   * worker file that can now be read). At most `ahead` files
   * are done or in flight beyond the one awaited.
   */
  async *runInOrder(files, { scratch, ahead, mode, names }) {
    const done = new Map();
    let next = 0, committed = 0, failure = null;
    let wakeCommitter = null;
    const waitingFeeders = [];
    const replacing = new Map(); // slot → promise of its fresh worker
    // A trapped worker answers its other queued file with `retry`; once it has answered
    // everything it is replaced, and the retried file goes to the fresh worker.
    const replace = (slot, channel) => {
      const generation = this.generation;
      replacing.set(slot, (async () => {
        await channel.idle();
        channel.terminate();
        const fresh = await this.#spawn();
        if (generation === this.generation) this.channels[slot] = fresh;
        else fresh.terminate(); // the pool was stopped meanwhile
      })());
    };
    const wake = () => { wakeCommitter?.(); wakeCommitter = null; };
    const release = () => waitingFeeders.splice(0).forEach((r) => r());
    const process = async (slot, index) => {
      for (;;) {
        await replacing.get(slot);
        replacing.delete(slot);
        const channel = this.channels[slot];
        const reply = await channel.ask({ kind: FILE, file: files[index], scratch, mode, name: names?.[index] });
        if (reply.fatal) replace(slot, channel);
        if (!reply.retry) return reply;
      }
    };
    const feed = async (slot) => {
      for (;;) {
        while (next < files.length && next - committed >= ahead && !failure) {
          await new Promise((r) => waitingFeeders.push(r));
        }
        if (next >= files.length || failure) return;
        const index = next++;
        try {
          const reply = await process(slot, index);
          done.set(index, { result: reply.result, location: reply.location, closed: reply.closed });
        } catch (err) {
          failure ??= err;
        }
        wake();
      }
    };
    const running = this.channels.flatMap((_, slot) => Array.from({ length: IN_FLIGHT }, () => feed(slot)));
    try {
      while (committed < files.length) {
        if (done.has(committed)) {
          const { result, location, closed } = done.get(committed);
          done.delete(committed);
          const index = committed++;
          release();
          yield { index, result, location, closed };
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
    await Promise.all(replacing.values()); // every slot has a live worker for closeOutputs()
  }
}
