// The Clean Pixel Data settings: shown while the option is on; what to do with images at risk
// that no mask covers, and the user's CTP pixel scripts. The library decides everything else.
const $ = (id) => document.getElementById(id);

export function mountPixels() {
  const option = $('opt-clean_pixel_data');
  const show = () => { $('pixel-settings').hidden = !option.checked; };
  option.addEventListener('change', show);
  for (const r of document.querySelectorAll('input[name=preset]')) r.addEventListener('change', show);
  show();
  /** The settings as the library reads them (PixelSettings). */
  return async () => ({
    detect_text: $('detect-text').checked,
    mask_detected_text: $('mask-detected').checked,
    release_unmasked: document.querySelector('input[name=at-risk]:checked')?.value === 'release',
    scripts: await Promise.all(Array.from($('pixel-scripts').files, async (f) => ({ name: f.name, text: await f.text() }))),
  });
}
