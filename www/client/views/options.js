// The options form, built from the library's option list (names, plain help, presets, and the
// option each one excludes): nothing about the options is written here.
import { optionList } from '../../pkg/dicom_deid.js';

const $ = (id) => document.getElementById(id);

export function mountOptions() {
  const { options, presets } = optionList();
  const presetSet = $('presets');
  for (const p of [...presets, { id: 'custom', name: 'Custom' }]) {
    const label = document.createElement('label');
    label.innerHTML = '<input type="radio" name="preset"> <span></span>';
    label.querySelector('input').value = p.id;
    label.querySelector('span').textContent = p.name;
    presetSet.appendChild(label);
  }
  const box = (id) => $(`opt-${id}`);
  for (const o of options) {
    const label = document.createElement('label');
    label.className = 'option';
    label.innerHTML = '<input type="checkbox"> <span></span><small></small>';
    const input = label.querySelector('input');
    input.id = `opt-${o.id}`;
    input.name = o.id;
    label.querySelector('span').textContent = o.name;
    label.querySelector('small').textContent = o.help;
    $('options').appendChild(label);
    input.addEventListener('change', () => {
      document.querySelector('input[name=preset][value=custom]').checked = true;
      if (input.checked && o.excludes) box(o.excludes).checked = false;
    });
  }
  const apply = () => {
    const chosen = presets.find((p) => p.id === document.querySelector('input[name=preset]:checked')?.value);
    if (chosen) for (const o of options) box(o.id).checked = Boolean(chosen.options[o.id]);
  };
  for (const r of document.querySelectorAll('input[name=preset]')) r.addEventListener('change', apply);
  document.querySelector('input[name=preset][value=tcia]').checked = true;
  apply();
  /** The options as the library reads them: {retain_uids: true, ...}. */
  return () => Object.fromEntries(options.map((o) => [o.id, box(o.id).checked]));
}
