// Drives the worker pool with the stand-in worker (the page CSP allows no inline script).
import { WorkerPool } from '/www/client/pool.js';
window.runPool = async (traps) => {
  const pool = new WorkerPool(null, 2, 0, '/tests/e2e/pool/stand-in-worker.js');
  await pool.start();
  await pool.configure({});
  const files = Array.from({ length: 40 }, (_, i) => ({ name: `f${i}`, trap: traps.includes(i) }));
  const seen = [];
  for await (const { index, result, location } of pool.runInOrder(files, { scratch: 'x', ahead: 4 })) {
    seen.push({ index, status: result.status, name: result.name ?? null, file: location?.file ?? null });
  }
  const closed = await pool.closeOutputs();
  pool.terminate();
  return { seen, closed };
};
document.body.dataset.ready = 'yes';
