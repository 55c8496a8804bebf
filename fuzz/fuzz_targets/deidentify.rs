//! Fuzzes the whole `deidentify(bytes)` path under four option sets, the last with Clean Pixel
//! Data and a rectangle on every image (so every pixel decoder and masker, the JPEG block
//! masker and RLE encoder included, sees the input), and the large-file path (split around
//! Pixel Data, frames masked as they are copied) on the same bytes. Any panic, abort, stack
//! overflow or out-of-memory is a finding; errors are fine.
#![no_main]

use std::sync::{Arc, OnceLock};

use dicom_deid::output::streamed;
use dicom_deid::pixels::{Masks, PixelPolicy, PixelScript};
use dicom_deid::{Deidentifier, Options, ProjectKey};
use libfuzzer_sys::fuzz_target;

fn sessions() -> &'static [Deidentifier; 4] {
    static S: OnceLock<[Deidentifier; 4]> = OnceLock::new();
    S.get_or_init(|| {
        let key = ProjectKey::from_bytes([7; 32]);
        let all_clean = Options {
            clean_descriptors: true,
            clean_structured_content: true,
            clean_graphics: true,
            retain_safe_private: true,
            retain_long_modified_dates: true,
            ..Options::default()
        };
        let masked = Deidentifier::new(
            Options {
                clean_pixel_data: true,
                ..Options::tcia()
            },
            key.clone(),
        )
        .unwrap()
        .with_pixels(PixelPolicy {
            masks: Arc::new(
                Masks::builtin().with_script(PixelScript::parse("all", "{ true }\n(3,5,40,9)")),
            ),
            ..PixelPolicy::default()
        });
        [
            Deidentifier::new(Options::basic(), key.clone()).unwrap(),
            Deidentifier::new(Options::tcia(), key.clone()).unwrap(),
            Deidentifier::new(all_clean, key).unwrap(),
            masked,
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let which = data.first().map(|b| (*b % 4) as usize).unwrap_or(0);
    let d = &sessions()[which];
    let _ = d.deidentify(data);
    let mut src: &[u8] = data;
    if let Ok((Ok(prepared), _)) = streamed::prepare(d, &mut src, None) {
        let _ = prepared.write(&mut src, &mut |_| Ok(()));
    }
});
