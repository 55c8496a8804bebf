//! The quarantine: originals of images held back because their pixels may show identifying text.
//! They are PHI. The CLI writes them to a folder the user names and the page offers them as a
//! separate, labelled download; both use the names, index and README made here.

use crate::output::audit::csv_row;

/// One quarantined input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Held {
    /// The input's position in input order (1-based), as the audit gives it.
    pub input_number: usize,
    /// The input's path (PHI: it may name the patient).
    pub input: String,
    pub reason: String,
}

impl Held {
    /// The file name of the original in the quarantine.
    pub fn file_name(&self) -> String {
        format!("{:06}.dcm", self.input_number)
    }
}

/// What the quarantine says about itself.
pub const README: &str = "\
CONTAINS PATIENT DATA (PHI). Do not share.

These are the ORIGINAL, NOT de-identified files of images that Clean Pixel Data held back:
their pixels may show names, IDs or dates burned into the image, and no mask covered them.
index.csv maps each file to its input path and the reason. Review each image; add a mask
(a CTP pixel script with --pixel-script, or regions in the page) and run them again, or
accept the risk with --release-unmasked.
";

/// The quarantine's index.csv and README.txt.
pub fn files(held: &[Held]) -> Vec<(&'static str, String)> {
    let mut index = String::from("file,input_number,input_path,reason\n");
    for h in held {
        index.push_str(&csv_row(&[
            &h.file_name(),
            &h.input_number.to_string(),
            &h.input,
            &h.reason,
        ]));
    }
    vec![("index.csv", index), ("README.txt", README.to_string())]
}
