// OPFS scratch space: the workers write each output to `dcm-deid-scratch/<run>/<index>`, and the
// zip is assembled from those files without their bytes entering the page. A run's folder is
// removed when the run is cancelled or fails, when its zip was written straight to disk, and
// otherwise (a zip offered as a download, which reads the files until it has been saved) when
// the next run starts or the page is next loaded.

const ROOT = 'dcm-deid-scratch';

async function root(create) {
  const storage = await navigator.storage.getDirectory();
  return storage.getDirectoryHandle(ROOT, { create });
}

/** Removes every run's scratch files (at load, and before a run). Never throws. */
export async function clearScratch() {
  try {
    const storage = await navigator.storage.getDirectory();
    await storage.removeEntry(ROOT, { recursive: true });
  } catch { /* nothing there, or another tab holds files: the next load tries again */ }
}

/** A new run's scratch folder: its name (for the workers) and its handle. */
export async function openRun() {
  const name = `run-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const dir = await (await root(true)).getDirectoryHandle(name, { create: true });
  return {
    name,
    /** The output of input `index` as a File (a snapshot of the OPFS file). */
    file: async (index) => (await dir.getFileHandle(String(index))).getFile(),
    /** Drops the output of input `index` (not written: a duplicate or a failure). */
    drop: (index) => dir.removeEntry(String(index)).catch(() => {}),
    /** Removes the whole run. */
    remove: async () => {
      try { await (await root(false)).removeEntry(name, { recursive: true }); } catch { /* see clearScratch */ }
    },
  };
}

/** The worker side: a sync access handle on a new file for input `id` in run `run`. */
export async function createOutput(run, id) {
  const dir = await (await root(true)).getDirectoryHandle(run, { create: true });
  const handle = await dir.getFileHandle(String(id), { create: true });
  return handle.createSyncAccessHandle();
}
