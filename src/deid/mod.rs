//! The PS3.15 engine: what happens to each attribute of one file.
//!
//! [`Deidentifier`] holds the options, the project key and the tables; `deidentify` runs the
//! pipeline read → identify the subject → apply the profile → stamp what was done → write and
//! verify. Everything here is pure: no I/O, no clock, no randomness but the key's.

pub(crate) mod clean;
pub(crate) mod dates;
pub(crate) mod iod;
pub(crate) mod key;
pub(crate) mod method;
pub mod options;
pub mod overrides;
pub(crate) mod profile;
pub(crate) mod pseudonym;
pub(crate) mod safe_private;
pub(crate) mod sr;
pub(crate) mod tables;
pub(crate) mod uids;
pub(crate) mod walker;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use key::ProjectKey;
pub use options::{OptionInfo, Options, Preset, ProfileOption, option_list};
pub use overrides::{Decision, Overrides};
pub use profile::{Action, BUILTIN_TABLE, Profile, TagPattern};
pub use pseudonym::{Lookup, Pseudonym};
pub use safe_private::{
    PrivateAddress, PrivateDisposition, PrivateEntry, PrivateSource, SafePrivate, address, creators,
};

use crate::dicom::charset::CharacterSet;
use crate::dicom::model::{self as dataset, Element, FileObject, Item, Vr, tags};
use crate::dicom::{read as reader, write as writer};
use crate::error::{Error, Result};
use crate::output::audit::{ActionLog, Applied};
use crate::output::names;
use crate::pixels::streamed::Bulk;
use crate::pixels::{self, PixelPolicy, PixelRecord};

/// Directory Record Sequence: only a DICOMDIR has it.
const DIRECTORY_RECORD_SEQUENCE: dataset::Tag = dataset::Tag(0x0004, 0x1220);

/// SOP Class UID of a DICOMDIR (Media Storage Directory Storage).
const MEDIA_STORAGE_DIRECTORY: &str = "1.2.840.10008.1.3.10";

/// A configured de-identifier: options, key, profile, safe-private table and an
/// optional pseudonym lookup. Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct Deidentifier {
    options: Options,
    key: ProjectKey,
    profile: Arc<Profile>,
    safe_private: Arc<SafePrivate>,
    lookup: Option<Arc<Lookup>>,
    overrides: Option<Arc<Overrides>>,
    pixels: PixelPolicy,
}

/// Sees a file as the engine read it and its output as read back (see
/// [`Deidentifier::deidentify_witnessed`]).
pub(crate) trait Witness {
    fn input(&mut self, obj: &FileObject<'_>);
    fn output(&mut self, obj: &FileObject<'_>);
}

/// One de-identified file.
#[derive(Debug, Clone)]
pub struct Deidentified {
    /// The output file's bytes.
    pub bytes: Vec<u8>,
    /// A PHI-free relative path: `<patient pseudonym>/<study uid>/<series uid>/<sop uid>.dcm`.
    pub name: String,
    /// What was done, for the audit log.
    pub record: FileRecord,
    /// The original patient ID and the pseudonym used: linkage data, which is PHI. Callers must
    /// only write it where the user asked for a linkage file.
    pub linkage: Linkage,
}

/// The link between an original patient and the pseudonym (PHI: keep out of audits and logs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Linkage {
    pub original_patient_id: String,
    /// The issuer the pseudonym was keyed on (as compared: upper case, single spaces; empty
    /// when the file names none): one Patient ID under two issuers is two patients.
    pub original_issuer: String,
    pub new_patient_id: String,
    /// Every UID replaced in the file, original → new.
    pub uids: Vec<(String, String)>,
}

/// The audit record of one output file (its name is given when the batch commits it). Holds no
/// patient value and no original UID.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileRecord {
    pub sop_class_uid: String,
    pub modality: String,
    pub transfer_syntax: String,
    #[serde(flatten)]
    pub report: ActionLog,
    /// What Clean Pixel Data did, or the risk left in the pixels.
    #[serde(default, skip_serializing_if = "PixelRecord::is_empty")]
    pub pixels: PixelRecord,
}

impl Deidentifier {
    /// A de-identifier with the built-in profile (PS3.15 Table E.1-1) and private dictionaries
    /// (Table E.3.10-1 and Posda).
    pub fn new(options: Options, key: ProjectKey) -> Result<Deidentifier> {
        options.validate()?;
        Ok(Deidentifier {
            options,
            key,
            profile: Profile::builtin(),
            safe_private: SafePrivate::builtin(),
            lookup: None,
            overrides: None,
            pixels: PixelPolicy::default(),
        })
    }

    /// Uses these mask sources and this policy for images at risk (Clean Pixel Data).
    pub fn with_pixels(mut self, pixels: PixelPolicy) -> Self {
        self.pixels = pixels;
        self
    }

    /// Uses a user-supplied profile table instead of the built-in one.
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = Arc::new(profile);
        self
    }

    /// Uses a user-supplied private dictionary instead of the built-in ones (Table E.3.10-1 and
    /// Posda).
    pub fn with_safe_private(mut self, table: SafePrivate) -> Self {
        self.safe_private = Arc::new(table);
        self
    }

    /// Takes patient pseudonyms from a lookup table; a patient missing from it is an error.
    pub fn with_lookup(mut self, lookup: Lookup) -> Self {
        self.lookup = Some(Arc::new(lookup));
        self
    }

    /// Applies a curator's pre-review decisions before the profile.
    pub fn with_overrides(mut self, overrides: Overrides) -> Self {
        self.overrides = Some(Arc::new(overrides));
        self
    }

    /// The options in force.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// A fingerprint of the project key (never the key), as the log names it.
    pub fn key_fingerprint(&self) -> String {
        self.key.fingerprint()
    }

    /// The profile in force.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The private dictionaries in force: [`SafePrivate::decide`] says what happens to a
    /// private element under Retain Safe Private.
    pub fn safe_private(&self) -> &SafePrivate {
        &self.safe_private
    }

    /// The key, profile, safe-private table and lookup, for the residual-PHI verifier.
    pub(crate) fn verify_parts(
        &self,
    ) -> (
        &ProjectKey,
        &Arc<Profile>,
        &Arc<SafePrivate>,
        Option<&Arc<Lookup>>,
    ) {
        (
            &self.key,
            &self.profile,
            &self.safe_private,
            self.lookup.as_ref(),
        )
    }

    /// De-identifies one file held in memory.
    pub fn deidentify(&self, input: &[u8]) -> Result<Deidentified> {
        self.deidentify_witnessed(input, None, None)
    }

    /// De-identifies one file, showing `witness` the input as read (before anything changes)
    /// and the output as read back: the residual-PHI verifier checks both without parsing them
    /// again. With `bulk`, `input` is the stub of a large file whose Pixel Data stayed in the
    /// file ([`crate::dicom::bulk`]): Clean Pixel Data reads its frames from there, and leaves
    /// in `bulk` how to write the masked value.
    pub(crate) fn deidentify_witnessed(
        &self,
        input: &[u8],
        mut witness: Option<&mut dyn Witness>,
        mut bulk: Option<&mut Bulk<'_>>,
    ) -> Result<Deidentified> {
        let mut scratch = Vec::new();
        let mut obj = reader::read_file(input, &mut scratch)?;
        if let Some(w) = witness.as_deref_mut() {
            w.input(&obj);
        }
        let subject = self.subject(&obj)?;
        let pixel_plan = self.plan_pixels(
            &obj,
            &subject.charset,
            &subject.sop_class,
            bulk.as_deref_mut(),
        );
        let (mut report, mut uid_pairs) =
            self.apply_profile(&mut obj, &subject, ActionLog::default());
        let Subject {
            sop_class,
            charset,
            pseudonym,
            original_id,
            original_issuer,
            ..
        } = subject;
        self.complete_sop_common(&mut obj, &sop_class, input, &mut uid_pairs, &mut report);

        let pixels = self.clean_pixels(&mut obj, pixel_plan, bulk)?;
        self.finish_dataset(&mut obj.dataset, &charset, &pseudonym, &mut report, &pixels);
        self.map_meta_uid(&obj, &mut uid_pairs);
        finish_meta(&mut obj, &sop_class);

        let bytes = writer::write_file(&obj)?;
        // Never hand out something we cannot read back ourselves.
        let mut check = Vec::new();
        let reread = reader::read_file(&bytes, &mut check).map_err(|_| {
            Error::Unsupported("the de-identified file could not be re-read".into())
        })?;
        if let Some(w) = witness {
            w.output(&reread);
        }
        drop(reread);

        let d = &obj.dataset;
        let uid = |tag| d.ascii(tag).unwrap_or_default();
        let name = names::output_name(
            &pseudonym.patient_id,
            &uid(tags::STUDY_INSTANCE_UID),
            &uid(tags::SERIES_INSTANCE_UID),
            &uid(tags::SOP_INSTANCE_UID),
        );
        Ok(Deidentified {
            record: FileRecord {
                sop_class_uid: if uids::is_registered(&sop_class) {
                    sop_class
                } else {
                    "private".into()
                },
                modality: d.ascii(tags::MODALITY).unwrap_or_default(),
                transfer_syntax: obj.transfer_syntax.clone(),
                report,
                pixels,
            },
            name,
            bytes,
            linkage: Linkage {
                original_patient_id: original_id,
                original_issuer,
                new_patient_id: pseudonym.patient_id,
                uids: uid_pairs.into_iter().collect(),
            },
        })
    }

    /// The action the profile takes on every element of one input, by MIDI-B path, kept
    /// elements included: what the inventory reports. Nothing is written, pixels are untouched.
    pub fn actions(&self, input: &[u8]) -> Result<Vec<(String, Applied)>> {
        let mut scratch = Vec::new();
        let mut obj = reader::read_file(input, &mut scratch)?;
        let subject = self.subject(&obj)?;
        let trace = ActionLog {
            trace_kept: true,
            ..ActionLog::default()
        };
        Ok(self.apply_profile(&mut obj, &subject, trace).0.actions)
    }

    /// Who and what the file is about: its SOP Class, character set, patient and pseudonym.
    fn subject(&self, obj: &FileObject<'_>) -> Result<Subject> {
        let sop_class = sop_class_of(obj);
        if sop_class == MEDIA_STORAGE_DIRECTORY
            || obj.dataset.get(DIRECTORY_RECORD_SEQUENCE).is_some()
        {
            return Err(Error::DicomDir);
        }
        let charset = CharacterSet::from_item(&obj.dataset, &CharacterSet::default());
        let patient = pseudonym::Patient::of(&obj.dataset, &charset);
        let identity = patient.identity();
        let pseudonym = match &self.lookup {
            Some(l) => l.get(&patient)?.clone(),
            None => pseudonym::derive(&self.key, &identity),
        };
        Ok(Subject {
            sop_class,
            charset,
            identity,
            pseudonym,
            original_id: patient.id,
            original_issuer: patient.issuer,
        })
    }

    /// Runs the profile over the data set: the walker, with the warnings the header and the
    /// reader give. Returns what was done and the UIDs replaced.
    fn apply_profile(
        &self,
        obj: &mut FileObject<'_>,
        subject: &Subject,
        mut report: ActionLog,
    ) -> (ActionLog, std::collections::BTreeMap<String, String>) {
        let o = &self.options;
        let ids = if o.clean_descriptors
            || o.clean_structured_content
            || o.retain_patient_characteristics
            || o.clean_graphics
        {
            clean::Identifiers::collect(
                &obj.dataset,
                &subject.charset,
                o.retain_institution_identity,
                o.retain_device_identity,
            )
        } else {
            clean::Identifiers::default()
        };
        method::warnings(&obj.dataset, &mut report);
        // What the reader recovered from goes into the audit, as warnings (no values).
        obj.recoveries
            .iter()
            .for_each(|r| report.warn(format!("read: {r}")));
        let mut walker = walker::Walker {
            key: &self.key,
            opts: &self.options,
            profile: &self.profile,
            safe: &self.safe_private,
            iods: iod::IodTypes::builtin(),
            sr: sr::SrRules::builtin(),
            sop_class: subject.sop_class.clone(),
            shift: dates::shift_for(&self.key, &subject.identity),
            big_endian: obj.encoding.big_endian,
            ids,
            report,
            uid_pairs: Default::default(),
            lists_references: false,
            overrides: self.overrides.as_deref(),
        };
        walker.run(&mut obj.dataset, &subject.charset);
        (walker.report, walker.uid_pairs)
    }

    /// SOP Class UID and SOP Instance UID are Type 1 and the file meta repeats them: an input
    /// that lacks them in its data set gets them from its file meta (the instance UID remapped
    /// like every other), or, with no UID anywhere, an instance UID derived from the input's
    /// bytes under the key, so the same file always gets the same one.
    fn complete_sop_common(
        &self,
        obj: &mut FileObject<'_>,
        sop_class: &str,
        input: &[u8],
        uid_pairs: &mut std::collections::BTreeMap<String, String>,
        report: &mut ActionLog,
    ) {
        let has = |i: &Item<'_>, t| i.ascii(t).is_some_and(|v| !v.is_empty());
        if !has(&obj.dataset, tags::SOP_CLASS_UID) && !sop_class.is_empty() {
            obj.dataset
                .put(Element::text(tags::SOP_CLASS_UID, Vr::UI, sop_class));
            report.warn("the data set had no SOP Class UID; the file meta's was copied into it");
        }
        if has(&obj.dataset, tags::SOP_INSTANCE_UID) {
            return;
        }
        let new = match obj.meta.ascii(tags::MEDIA_STORAGE_SOP_INSTANCE_UID) {
            Some(old) if !old.is_empty() && self.options.retain_uids => old,
            Some(old) if !old.is_empty() => {
                let new = uids::remap(&self.key, &old);
                uid_pairs.insert(old, new.clone());
                new
            }
            _ => {
                let digest = key::base32(&self.key.mac("file-without-uid", input), 26);
                uids::remap(&self.key, &format!("content:{digest}"))
            }
        };
        obj.dataset
            .put(Element::text(tags::SOP_INSTANCE_UID, Vr::UI, &new));
        report.warn("the data set had no SOP Instance UID; one was given to it and the file meta");
    }

    /// The uid mapping covers every UID replaced, the file meta's too: a meta whose Media Storage
    /// SOP Instance UID differed from the data set's maps to the one the output carries.
    fn map_meta_uid(
        &self,
        obj: &FileObject<'_>,
        uid_pairs: &mut std::collections::BTreeMap<String, String>,
    ) {
        let (Some(old), Some(new)) = (
            obj.meta.ascii(tags::MEDIA_STORAGE_SOP_INSTANCE_UID),
            obj.dataset.ascii(tags::SOP_INSTANCE_UID),
        ) else {
            return;
        };
        if !self.options.retain_uids && !old.is_empty() && old != new {
            uid_pairs.entry(old).or_insert(new);
        }
    }

    /// Top-level attributes the profile itself requires: pseudonyms, age cap, and the record of
    /// what was done (PS3.15 E.1.1 items 6-7, PS3.3 C.12.1.1.2 / C.7.1.1).
    fn finish_dataset(
        &self,
        d: &mut Item<'_>,
        cs: &CharacterSet,
        p: &Pseudonym,
        report: &mut ActionLog,
        pixels: &PixelRecord,
    ) {
        // Pseudonyms from a lookup table may be non-ASCII: write them in the file's own
        // character set, or keep only their ASCII characters when it cannot hold them.
        let encode = |vr: Vr, s: &str| {
            let bytes = cs.encode(s).unwrap_or_else(|| {
                s.chars()
                    .filter(char::is_ascii)
                    .collect::<String>()
                    .into_bytes()
            });
            dataset::pad_text(vr, bytes)
        };
        d.put(Element::bytes(
            tags::PATIENT_ID,
            Vr::LO,
            encode(Vr::LO, &p.patient_id),
        ));
        d.put(Element::bytes(
            tags::PATIENT_NAME,
            Vr::PN,
            encode(Vr::PN, &p.patient_name),
        ));
        if let Some(age) = d.ascii(tags::PATIENT_AGE)
            && method::age_over_89(&age)
        {
            d.put(Element::text(tags::PATIENT_AGE, Vr::AS, "090Y"));
            report.warn("Patient's Age over 89 was set to 090Y");
        }
        // Clean Pixel Data is claimed (code 113101) only for an image whose pixels were masked.
        let options = Options {
            clean_pixel_data: pixels.masked.is_some(),
            ..self.options
        };
        method::record(d, &options, &self.profile.edition);
    }

    /// Decides, from the original header, what Clean Pixel Data will do to this file: the image
    /// geometry, the risk of burned-in text, and the regions that match (chosen whether or not
    /// the option is on, so that the studio can show them). `None` for objects without Pixel
    /// Data.
    pub(crate) fn plan_pixels(
        &self,
        obj: &FileObject<'_>,
        charset: &CharacterSet,
        sop_class: &str,
        bulk: Option<&mut Bulk<'_>>,
    ) -> Option<PixelPlan> {
        obj.dataset.get(tags::PIXEL_DATA)?;
        let at_risk = pixels::risk::at_risk(&obj.dataset, sop_class);
        let info = pixels::ImageInfo::of(&obj.dataset, obj.encoding);
        let choice = match &info {
            Ok(Some(info)) => self
                .pixels
                .masks
                .choose(&pixels::header(obj, charset), info),
            _ => None,
        };
        // Text detection (only when asked for: it decodes and scans every frame) puts an image
        // at risk when text lies outside every region that matched.
        let mut at_risk = at_risk;
        let text = (self.options.clean_pixel_data && self.pixels.detect_text).then(|| {
            let boxes = match bulk {
                Some(bulk) => pixels::streamed::detect_text(obj, bulk),
                None => crate::detect::detect_object(obj),
            }
            .map_err(|e| e.to_string())?;
            let masks = choice.as_ref().map_or(&[][..], |c| &c.rects[..]);
            Ok(crate::detect::outside(&boxes, masks))
        });
        if let Some(Ok(outside)) = &text
            && !outside.is_empty()
        {
            let found = format!(
                "burned-in text detected outside every mask ({} boxes)",
                outside.len()
            );
            at_risk = Some(match at_risk {
                Some(r) => format!("{r}; {found}"),
                None => found,
            });
        }
        Some(PixelPlan {
            info,
            at_risk,
            choice,
            text,
        })
    }

    /// The plan for a file's pixels and what Clean Pixel Data will do with them under this
    /// de-identifier's options, as the engine would decide (the review studio shows it before
    /// the run). `None` for objects without Pixel Data.
    pub(crate) fn pixel_fate(&self, obj: &FileObject<'_>) -> Option<(PixelPlan, PixelFate)> {
        let sop_class = sop_class_of(obj);
        let charset = CharacterSet::from_item(&obj.dataset, &CharacterSet::default());
        let plan = self.plan_pixels(obj, &charset, &sop_class, None)?;
        let fate = plan.fate(&self.options, &self.pixels);
        Some((plan, fate))
    }

    /// Applies the plan: paints the regions, or holds back an image at risk that no region
    /// covers (unless the user accepted the risk).
    fn clean_pixels(
        &self,
        obj: &mut FileObject<'_>,
        plan: Option<PixelPlan>,
        bulk: Option<&mut Bulk<'_>>,
    ) -> Result<PixelRecord> {
        let Some(plan) = plan else {
            return Ok(PixelRecord::default());
        };
        let mut record = PixelRecord {
            at_risk: plan.at_risk.clone(),
            ..PixelRecord::default()
        };
        match plan.fate(&self.options, &self.pixels) {
            PixelFate::Untouched => {}
            PixelFate::Mask(choice, info) => {
                let masked = match bulk {
                    Some(bulk) => pixels::streamed::plan(obj, &info, &choice, bulk),
                    None => pixels::apply(obj, &info, &choice),
                };
                let mut masked = masked.map_err(|e| {
                    Error::Quarantined(format!("masks apply but could not be painted ({e})"))
                })?;
                masked.detected = choice.detected;
                pixels::mark_clean(&mut obj.dataset);
                record.masked = Some(masked);
            }
            PixelFate::Release => record.released_unmasked = true,
            PixelFate::Hold(why) => return Err(Error::Quarantined(why)),
        }
        Ok(record)
    }
}

/// The SOP Class UID of the data set, else of the file meta.
fn sop_class_of(obj: &FileObject<'_>) -> String {
    obj.dataset
        .ascii(tags::SOP_CLASS_UID)
        .or_else(|| obj.meta.ascii(tags::MEDIA_STORAGE_SOP_CLASS_UID))
        .unwrap_or_default()
}

/// Who and what one file is about, read from its original header.
struct Subject {
    sop_class: String,
    charset: CharacterSet,
    /// The patient's identity (ID qualified by its issuer), which keys pseudonym and date shift.
    identity: String,
    pseudonym: Pseudonym,
    /// PHI: linkage only.
    original_id: String,
    original_issuer: String,
}

/// What Clean Pixel Data will do to one image, decided on the original header.
pub(crate) struct PixelPlan {
    pub info: Result<Option<pixels::ImageInfo>>,
    pub at_risk: Option<String>,
    /// The regions that match, whether or not Clean Pixel Data is on.
    pub choice: Option<pixels::Choice>,
    /// With Clean Pixel Data and text detection on: the text boxes outside every matched region
    /// (the studio's proposed masks), or why detection could not run.
    pub text: Option<std::result::Result<Vec<pixels::Rect>, String>>,
}

/// The one decision on an image's pixels, shared by the engine and the review studio.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PixelFate {
    /// Written as it is: Clean Pixel Data is off, or the image is not at risk and no region
    /// matches.
    Untouched,
    /// The regions are painted.
    Mask(pixels::Choice, pixels::ImageInfo),
    /// At risk, no region, written because the user accepted the risk (the audit says so).
    Release,
    /// At risk and no region covers it: quarantined, with the reason.
    Hold(String),
}

impl PixelPlan {
    pub(crate) fn fate(&self, options: &Options, policy: &PixelPolicy) -> PixelFate {
        if !options.clean_pixel_data {
            return PixelFate::Untouched;
        }
        let risk = self.at_risk.clone().unwrap_or_default();
        let outside = match &self.text {
            Some(Err(e)) if !policy.release_unmasked => {
                return PixelFate::Hold(format!("text detection could not run ({e})"));
            }
            Some(Ok(outside)) => &outside[..],
            _ => &[],
        };
        if let (false, true, Ok(Some(info))) =
            (outside.is_empty(), policy.mask_detected_text, &self.info)
        {
            let n = outside.len();
            let choice = match self.choice.clone().filter(|c| !c.rects.is_empty()) {
                Some(mut c) => {
                    c.source = format!("{} + detected text ({n} boxes)", c.source);
                    c.rects.extend_from_slice(outside);
                    c.detected = n;
                    c
                }
                None => pixels::Choice {
                    source: format!("detected text ({n} boxes)"),
                    rects: outside.to_vec(),
                    detected: n,
                },
            };
            return PixelFate::Mask(choice, info.clone());
        }
        match (self.choice.clone(), &self.info) {
            (Some(choice), Ok(Some(info)))
                if !choice.rects.is_empty() && (outside.is_empty() || policy.release_unmasked) =>
            {
                PixelFate::Mask(choice, info.clone())
            }
            _ if self.at_risk.is_none() => PixelFate::Untouched,
            _ if policy.release_unmasked => PixelFate::Release,
            _ if !outside.is_empty() => PixelFate::Hold(risk),
            (Some(_), _) => PixelFate::Hold(format!(
                "{risk}; the matching mask rule has no region inside the image"
            )),
            (None, Err(e)) => PixelFate::Hold(format!("{risk}; {e}")),
            (None, _) => PixelFate::Hold(format!("{risk}; no mask rule or region covers it")),
        }
    }
}

/// Sets the file meta information for the de-identified object: new SOP Instance UID, this
/// implementation, and nothing that names the sending system.
fn finish_meta(obj: &mut FileObject<'_>, sop_class: &str) {
    let sop_instance = obj
        .dataset
        .ascii(tags::SOP_INSTANCE_UID)
        .unwrap_or_default();
    let mut meta = Item::default();
    meta.put(Element::bytes(
        tags::FILE_META_INFORMATION_VERSION,
        Vr::OB,
        vec![0, 1],
    ));
    // An object with no SOP Class anywhere keeps the meta without one rather than an empty
    // value that would claim a class (dciodvfy reports either way, the input had the defect).
    if !sop_class.is_empty() {
        meta.put(Element::text(
            tags::MEDIA_STORAGE_SOP_CLASS_UID,
            Vr::UI,
            sop_class,
        ));
    }
    meta.put(Element::text(
        tags::MEDIA_STORAGE_SOP_INSTANCE_UID,
        Vr::UI,
        &sop_instance,
    ));
    meta.put(Element::text(
        tags::TRANSFER_SYNTAX_UID,
        Vr::UI,
        &obj.transfer_syntax,
    ));
    meta.put(Element::text(
        tags::IMPLEMENTATION_CLASS_UID,
        Vr::UI,
        method::IMPLEMENTATION_CLASS_UID,
    ));
    meta.put(Element::text(
        tags::IMPLEMENTATION_VERSION_NAME,
        Vr::SH,
        method::IMPLEMENTATION_VERSION_NAME,
    ));
    obj.meta = meta;
}
