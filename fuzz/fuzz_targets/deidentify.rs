//! Fuzzes the whole `deidentify(bytes)` path under three option sets. Any panic, abort, stack
//! overflow or out-of-memory is a finding; errors are fine.
#![no_main]

use dicom_deid::{Deidentifier, Options, ProjectKey};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn sessions() -> &'static [Deidentifier; 3] {
    static S: OnceLock<[Deidentifier; 3]> = OnceLock::new();
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
        [
            Deidentifier::new(Options::basic(), key.clone()).unwrap(),
            Deidentifier::new(Options::tcia(), key.clone()).unwrap(),
            Deidentifier::new(all_clean, key).unwrap(),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let which = data.first().map(|b| (*b % 3) as usize).unwrap_or(0);
    let _ = sessions()[which].deidentify(data);
});
