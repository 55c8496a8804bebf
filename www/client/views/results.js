// The results: the summary, the zip to save, the inputs not written (or written with warnings),
// and the separate linkage download.
import { download } from './download.js';

const $ = (id) => document.getElementById(id);
const MAX_ROWS = 2000;

export function showResults({ summary, warnings, log, verification, detail, rows, blob, batch }, sink, inputs) {
  $('results').hidden = false;
  const reasons = (m) => Object.entries(m).map(([r, n]) => `${n} × ${r}`).join('; ');
  const files = summary.found === 1 ? 'file' : 'files';
  $('summary').textContent = `${summary.found} ${files}: ${summary.deidentified} de-identified, ` +
    `${summary.skipped} skipped, ${summary.failed} failed, ${summary.quarantined} held back` +
    (summary.excluded ? `, ${summary.excluded} excluded by the reviewer (not processed).` : '.') +
    (summary.masked ? ` ${summary.masked} images masked.` : '') +
    (summary.skipped ? ` Skipped: ${reasons(summary.skipped_reasons)}.` : '') +
    (summary.failed ? ` Failed: ${reasons(summary.failed_reasons)}.` : '') +
    (summary.quarantined ? ` Held back: ${reasons(summary.quarantined_reasons)}.` : '') +
    (sink.kind === 'file' ? ` The zip was saved as ${sink.name}.` : '');
  $('review-note').textContent = `The zip holds the review files: final_review-noPHI.csv (every ` +
    `value left, to read through), deid_log-noPHI.csv, and review_sample-noPHI.csv: inspect its ` +
    `${log.sample_size} randomly chosen ${log.sample_size === 1 ? 'file' : 'files'} by eye (seed ${log.sample_seed}).`;
  showVerification(verification, detail);
  const warned = $('summary-warnings');
  warned.hidden = !warnings.length;
  warned.textContent = warnings.map((w) => `Warning: ${w}.`).join(' ');
  const note = $('pixel-note');
  note.hidden = !summary.at_risk_unmasked;
  note.textContent = `${summary.at_risk_unmasked} images that may show names or dates burned into ` +
    'their pixels were written unmasked. Turn on the Clean Pixel Data Option and run again to mask ' +
    'or hold them back.';
  const save = $('save');
  if (save.href) URL.revokeObjectURL(save.href);
  save.hidden = !blob;
  if (blob) save.href = URL.createObjectURL(blob);
  // The table lists only inputs not written, or written with warnings: none, no table.
  $('table').hidden = rows.length === 0;
  const tbody = $('table').querySelector('tbody');
  tbody.textContent = '';
  for (const r of rows.slice(0, MAX_ROWS)) {
    const tr = document.createElement('tr');
    tr.className = r.status;
    for (const text of [r.path, r.status, r.detail, r.warnings]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
  if (rows.length > MAX_ROWS) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = 4;
    td.textContent = `… and ${rows.length - MAX_ROWS} more (every input is in the linkage file and the audit).`;
    tr.appendChild(td);
    tbody.appendChild(tr);
  }
  $('linkage').hidden = false;
  $('linkage').onclick = () =>
    download('linkage-CONTAINS-PHI.zip', new Blob([batch.linkageZip()], { type: 'application/zip' }));
  $('quarantine').hidden = !summary.quarantined;
  $('quarantine').onclick = async () => {
    const held = batch.quarantined();
    const originals = await Promise.all(held.map(async (h) => new Uint8Array(await inputs[h.input_number - 1].file.arrayBuffer())));
    download('held-back-originals-CONTAINS-PHI.zip', new Blob([batch.quarantineZip(originals)], { type: 'application/zip' }));
  };
}

export function hideResults() {
  $('results').hidden = true;
  $('save').hidden = true;
}

/** The residual-PHI check's counts, and its detail (PHI) as a separate download. */
export function showVerification(verification, detail) {
  const v = $('verification');
  v.hidden = !verification;
  if (verification) {
    v.className = verification.critical ? 'warning' : '';
    v.textContent = `Residual-PHI check: ${verification.critical} critical, ${verification.high} high, ` +
      `${verification.review} to review (residual_phi-noPHI.csv in the zip lists where and what kind, ` +
      'never the text).';
  }
  const d = $('residual-detail');
  d.hidden = !(detail && verification && verification.critical + verification.high + verification.review);
  d.onclick = () => download('residual_phi-detail-PHI.csv', new Blob([detail], { type: 'text/csv' }));
}

/** Asks, with the findings shown, whether to save an output the check rates critical. */
export function confirmRelease(verification) {
  const dialog = $('residual-dialog');
  $('residual-lines').textContent = verification.lines.join('\n');
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'keep'), { once: true });
    dialog.showModal();
  });
}
