// OPFS scratch space. Each worker appends its outputs to a file of its own in the run's folder
// (`dcm-deid-scratch/<run>/<worker file>`), so an output costs one write and no file creation,
// and starts a new file every 64 MB; the zip is assembled from slices of the closed files,
// without the bytes entering the page. A run's folder is removed when the run is cancelled or fails, when
// its zip was written straight to disk, and otherwise (a zip offered as a download, which reads
// the files until it has been saved) when the tab starts its next run. A run's folder is locked
// (Web Locks) while its tab may still need it, so that another tab's cleanup leaves it alone and
// the folders of a closed or crashed tab are removed at the next load.

const ROOT = 'dcm-deid-scratch';
const LOCK = 'dcm-deid-scratch/'; // a run's folder is in use while its tab holds this lock

/** Takes the lock `name`; resolves to the function that releases it (or when the tab goes). */
function hold(name) {
  return new Promise((granted) => {
    navigator.locks.request(name, () => new Promise((release) => granted(release)));
  });
}

async function root(create) {
  const storage = await navigator.storage.getDirectory();
  return storage.getDirectoryHandle(ROOT, { create });
}

/** Removes the scratch files of runs no open tab uses any more (left by a closed tab or a
 * crash), at load and before a run. Never throws. */
export async function clearScratch() {
  try {
    const held = new Set(((await navigator.locks.query()).held ?? []).map((l) => l.name));
    const dir = await root(false);
    for await (const name of dir.keys()) {
      if (!held.has(LOCK + name)) await dir.removeEntry(name, { recursive: true }).catch(() => {});
    }
  } catch { /* nothing there yet */ }
}

/** A new run's scratch folder: its name (for the workers) and what the page does with it. */
export async function openRun() {
  const name = `run-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const release = await hold(LOCK + name);
  const dir = await (await root(true)).getDirectoryHandle(name, { create: true });
  const snapshots = new Map();
  return {
    name,
    /** The bytes at {file, at, size} of a closed worker file, as a Blob slice. */
    async slice({ file, at, size }) {
      if (!snapshots.has(file)) snapshots.set(file, await (await dir.getFileHandle(file)).getFile());
      return snapshots.get(file).slice(at, at + size);
    },
    /** Removes one worker file whose outputs have all been written elsewhere. */
    async removeFile(file) {
      snapshots.delete(file);
      try { await dir.removeEntry(file); } catch { /* the run's removal takes it */ }
    },
    /** Removes the whole run (what cannot be removed now goes at a later clearScratch). */
    async remove() {
      try { await (await root(false)).removeEntry(name, { recursive: true }); } catch { /* see clearScratch */ }
      release();
    },
  };
}

/** The worker side: this worker's output file in run `run`, appended to, closed at the end. */
export class OutputFile {
  constructor() {
    this.run = null;
    this.handle = null;
    this.name = null;
    this.size = 0;
    this.outputs = 0;
  }

  /** The open handle for `run` (created on the first output of a run). */
  async open(run) {
    if (this.run === run) return this.handle;
    this.close();
    const dir = await (await root(true)).getDirectoryHandle(run, { create: true });
    this.name = `worker-${Math.random().toString(36).slice(2, 10)}`;
    this.handle = await (await dir.getFileHandle(this.name, { create: true })).createSyncAccessHandle();
    this.run = run;
    this.size = 0;
    this.outputs = 0;
    return this.handle;
  }

  /** Closes the file, so that the page can read it; returns `{file, outputs}` (its name and how
   * many outputs it holds), or null if none was open. */
  close() {
    if (!this.handle) return null;
    this.handle.close();
    this.handle = null;
    this.run = null;
    return { file: this.name, outputs: this.outputs };
  }
}
