// The pre-review editor: the values the options keep or clean (PHI, shown only here), each with
// a decision (keep, clean, remove, blank) or a replacement. "Use these decisions" hands the run
// the pre-review with its decision columns filled in (the library writes it and reads it back
// as overrides); it can also be saved as a labelled PHI file for the CLI's --overrides.
import { fillDecisions, preReviewRows } from '../../pkg/dicom_deid.js';
import { download } from './download.js';

const $ = (id) => document.getElementById(id);
const MAX_ROWS = 2000;
const DECISIONS = ['', 'keep', 'clean', 'remove', 'blank'];

/** `onDecisions(file)` receives the edited pre-review as a File when the user applies it. */
export function mountPreReview(onDecisions) {
  let csv = '', header = [], rows = [], edits = new Map();
  const col = (n) => header.indexOf(n);

  const draw = () => {
    const text = $('prereview-filter').value.trim().toLowerCase();
    const tbody = $('prereview-table');
    tbody.textContent = '';
    const shown = rows.map((r, i) => [r, i]).filter(([r]) => !text || r.join(' ').toLowerCase().includes(text));
    const frag = document.createDocumentFragment();
    for (const [r, i] of shown.slice(0, MAX_ROWS)) {
      const tr = document.createElement('tr');
      tr.dataset.row = i;
      for (const name of ['path_pattern', 'keyword', 'value', 'n_files', 'flags', 'review_reason']) {
        const td = document.createElement('td');
        td.textContent = r[col(name)] ?? '';
        tr.appendChild(td);
      }
      const [decision, replacement] = edits.get(i) ?? [r[col('decision')] ?? '', r[col('replacement')] ?? ''];
      const select = document.createElement('select');
      select.setAttribute('aria-label', 'decision');
      for (const d of DECISIONS) select.add(new Option(d || '—', d, false, d === decision));
      const input = document.createElement('input');
      input.type = 'text';
      input.placeholder = 'replacement';
      input.setAttribute('aria-label', 'replacement');
      input.value = replacement;
      const save = () => edits.set(i, [select.value, input.value]);
      select.addEventListener('change', save);
      input.addEventListener('change', save);
      for (const el of [select, input]) {
        const td = document.createElement('td');
        td.appendChild(el);
        tr.appendChild(td);
      }
      frag.appendChild(tr);
    }
    tbody.appendChild(frag);
    $('prereview-shown').textContent = shown.length > MAX_ROWS
      ? `${MAX_ROWS} of ${shown.length} values shown: narrow the filter.` : `${shown.length} values.`;
  };

  const edited = () => fillDecisions(csv, [...edits].map(([i, [d, r]]) => [i, d, r.trim()]));

  $('prereview-filter').addEventListener('input', draw);
  $('decisions-use').addEventListener('click', () => {
    const file = new File([edited()], 'pre_review-decisions-PHI.csv', { type: 'text/csv' });
    onDecisions(file);
    const n = [...edits.values()].filter(([d, r]) => d || r.trim()).length;
    $('decisions-text').textContent = `${n} decisions will apply to the next run.`;
  });
  $('decisions-save').addEventListener('click', () => {
    download('pre_review-decisions-PHI.csv', new Blob([edited()], { type: 'text/csv' }));
  });

  /** Shows a new pre-review (the text of pre_review-PHI.csv). */
  return (text) => {
    csv = text;
    ({ header, rows } = preReviewRows(text));
    edits = new Map();
    $('prereview-editor').hidden = false;
    $('decisions-text').textContent = '';
    draw();
  };
}
