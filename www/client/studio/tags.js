// The tag view: a file's elements before and after de-identification side by side, as the
// library compared them (review::compare), with the action and its reason, search and filter.
// Removed and changed elements are highlighted; sequences and items indent by depth.

const $ = (id) => document.getElementById(id);
const MAX_ROWS = 5000;
const ACTIONS = {
  X: 'removed', Z: 'emptied', D: 'dummy value', U: 'UID remapped', C: 'cleaned', K: 'kept',
  pseudonym: 'pseudonym', method_record: 'method record',
};

let rows = [];

/** Shows a comparison ({rows, no_output}). */
export function showTags(comparison) {
  rows = comparison.rows;
  const held = comparison.no_output;
  $('tags-note').textContent = held
    ? `No output would be written (${held.kind}: ${held.reason}); the tags show what the profile would do.`
    : `${rows.length} elements; ${count('removed')} removed, ${count('emptied')} emptied, ` +
      `${count('changed')} changed, ${count('added')} added by the engine.`;
  draw();
}

function count(change) {
  return rows.filter((r) => r.change === change).length;
}

/** Why: the E.1-1 code and the option that decided, or the private dictionary's disposition. */
function why(r) {
  const b = r.basis;
  const parts = [];
  if (b.e1_1_code) parts.push(`E.1-1 ${b.e1_1_code}${b.option ? `, ${b.option}` : ''}`);
  if (b.private_source) parts.push(`${b.private_source}: ${b.private_disposition}`);
  else if (r.private_creator && !b.private_source) parts.push('no private dictionary knows it');
  return parts.join('; ');
}

function matches(r, text, filter) {
  if (filter === 'changed' && r.change === 'same') return false;
  if (filter === 'removed' && r.change !== 'removed') return false;
  if (filter === 'kept' && r.change !== 'same') return false;
  if (filter === 'private' && !r.private_creator) return false;
  if (!text) return true;
  return [r.tag, r.keyword, r.private_creator, r.vr, r.before, r.after]
    .some((v) => (v ?? '').toLowerCase().includes(text));
}

function draw() {
  const text = $('tags-search').value.trim().toLowerCase();
  const filter = $('tags-filter').value;
  const tbody = $('tags-table');
  tbody.textContent = '';
  const shown = rows.filter((r) => matches(r, text, filter));
  const frag = document.createDocumentFragment();
  for (const r of shown.slice(0, MAX_ROWS)) {
    const tr = document.createElement('tr');
    tr.className = `change-${r.change}`;
    tr.dataset.path = r.path;
    const name = r.keyword || (r.private_creator ? `${r.private_creator} (private)` : '');
    const cells = [r.tag, name, r.vr, r.before ?? '—', r.after ?? '—', ACTIONS[r.action] ?? r.change, why(r)];
    for (const [i, v] of cells.entries()) {
      const td = document.createElement('td');
      td.textContent = v;
      if (i === 0) td.style.paddingLeft = `${0.4 + r.depth * 1.2}rem`;
      tr.appendChild(td);
    }
    frag.appendChild(tr);
  }
  tbody.appendChild(frag);
  $('tags-shown').textContent = shown.length > MAX_ROWS
    ? `${MAX_ROWS} of ${shown.length} rows shown: narrow the search.` : `${shown.length} rows.`;
}

$('tags-search').addEventListener('input', draw);
$('tags-filter').addEventListener('change', draw);
