//! Harvesting the identifiers of one input: names (parts, and the whole name in several orders),
//! patient and other IDs, accession and study IDs, every date, every UID that is not a registered
//! one, institution, address, telephone and e-mail, physicians and operators, station and serial
//! number, and the words of the input's file and folder names. Each becomes a keyed token with
//! its class; classes the options retain are left out, and so are the pseudonyms and dummies the
//! engine writes, short tokens and common words.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::deid::profile::Action;
use crate::deid::pseudonym::{self, Patient};
use crate::deid::uids;
use crate::dicom::charset::CharacterSet;
use crate::dicom::model::{FileObject, Item, Tag, TagExt, Value, Vr, split_values};
use crate::dicom::path;
use crate::review::patterns::{Ymd, find_dates};
use crate::review::tokens::{Domain, Word, normalise, phone_forms, words};
use crate::review::verify::{FastSet, TokenMap, TokenSet, VerifyConfig};

/// What kind of identifier a token is (the report's `identifier_class`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum IdClass {
    PatientName,
    #[serde(rename = "PatientID")]
    PatientId,
    #[serde(rename = "OtherID")]
    OtherId,
    AccessionNumber,
    BirthDate,
    StudyDate,
    OtherDate,
    #[serde(rename = "UID")]
    Uid,
    Institution,
    PersonName,
    Address,
    Phone,
    Email,
    Device,
    FileName,
}

impl IdClass {
    pub fn as_str(self) -> &'static str {
        match self {
            IdClass::PatientName => "PatientName",
            IdClass::PatientId => "PatientID",
            IdClass::OtherId => "OtherID",
            IdClass::AccessionNumber => "AccessionNumber",
            IdClass::BirthDate => "BirthDate",
            IdClass::StudyDate => "StudyDate",
            IdClass::OtherDate => "OtherDate",
            IdClass::Uid => "UID",
            IdClass::Institution => "Institution",
            IdClass::PersonName => "PersonName",
            IdClass::Address => "Address",
            IdClass::Phone => "Phone",
            IdClass::Email => "Email",
            IdClass::Device => "Device",
            IdClass::FileName => "FileName",
        }
    }

    fn rank(self) -> u8 {
        match self {
            IdClass::PatientName | IdClass::PatientId | IdClass::BirthDate => 0,
            IdClass::AccessionNumber | IdClass::OtherId | IdClass::Uid => 1,
            IdClass::Address | IdClass::Phone | IdClass::Email | IdClass::PersonName => 2,
            _ => 3,
        }
    }
}

/// One identifier of an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Harvested {
    /// Keyed hash of the normalised identifier (see [`crate::review::tokens`]).
    pub token: u64,
    pub domain: Domain,
    pub class: IdClass,
    /// One word of a name, an institution or a file name: found alone in an output, it is
    /// weaker evidence than a whole name, an ID, a date or a UID.
    pub weak: bool,
    /// PHI: the identifier as compared (normalised). Goes only to the detail file.
    pub text: String,
    /// Where it was found: the element's path pattern, or `input name`.
    pub source: String,
}

/// How a value identifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A person's name: each part alone (weak), and the whole name in several orders.
    Name,
    /// An identifier: the whole value.
    Id,
    /// A name of a place or an organisation: the whole value and its parts (weak words).
    Phrase,
    /// A telephone number.
    Phone,
    /// Telecom information: an e-mail address or a telephone number.
    Telecom,
}

/// The identifying attributes that are not person names (VR PN), dates or UIDs.
const ATTRIBUTES: &[(u32, IdClass, Shape)] = &[
    (0x0008_0050, IdClass::AccessionNumber, Shape::Id),
    (0x0008_0080, IdClass::Institution, Shape::Phrase), // Institution Name
    (0x0008_0081, IdClass::Institution, Shape::Phrase), // Institution Address
    (0x0008_0092, IdClass::Address, Shape::Phrase),     // Referring Physician's Address
    (0x0008_0094, IdClass::Phone, Shape::Phone),        // Referring Physician's Telephone
    (0x0008_0095, IdClass::Phone, Shape::Telecom),      // Referring Physician's Telecom
    (0x0008_1010, IdClass::Device, Shape::Id),          // Station Name
    (0x0008_1040, IdClass::Institution, Shape::Phrase), // Institutional Department Name
    (0x0010_0020, IdClass::PatientId, Shape::Id),
    (0x0010_0021, IdClass::Institution, Shape::Phrase), // Issuer of Patient ID
    (0x0010_1000, IdClass::OtherId, Shape::Id),         // Other Patient IDs
    (0x0010_1040, IdClass::Address, Shape::Phrase),     // Patient's Address
    (0x0010_1050, IdClass::OtherId, Shape::Id),         // Insurance Plan Identification
    (0x0010_1090, IdClass::OtherId, Shape::Id),         // Medical Record Locator
    (0x0010_2152, IdClass::Address, Shape::Phrase),     // Region of Residence
    (0x0010_2154, IdClass::Phone, Shape::Phone),        // Patient's Telephone Numbers
    (0x0010_2155, IdClass::Phone, Shape::Telecom),      // Patient's Telecom Information
    (0x0012_0030, IdClass::Institution, Shape::Phrase), // Clinical Trial Site ID
    (0x0012_0031, IdClass::Institution, Shape::Phrase), // Clinical Trial Site Name
    (0x0018_1000, IdClass::Device, Shape::Id),          // Device Serial Number
    (0x0018_1004, IdClass::Device, Shape::Id),          // Plate ID
    (0x0018_1005, IdClass::Device, Shape::Id),          // Generator ID
    (0x0018_1007, IdClass::Device, Shape::Id),          // Cassette ID
    (0x0018_1008, IdClass::Device, Shape::Id),          // Gantry ID
    (0x0018_700A, IdClass::Device, Shape::Id),          // Detector ID
    (0x0020_0010, IdClass::OtherId, Shape::Id),         // Study ID
    (0x0038_0010, IdClass::OtherId, Shape::Id),         // Admission ID
    (0x0038_0060, IdClass::OtherId, Shape::Id),         // Service Episode ID
    (0x0038_0300, IdClass::Address, Shape::Phrase),     // Current Patient Location
    (0x0038_0400, IdClass::Address, Shape::Phrase),     // Patient's Institution Residence
    (0x0040_0009, IdClass::OtherId, Shape::Id),         // Scheduled Procedure Step ID
    (0x0040_0010, IdClass::Device, Shape::Id),          // Scheduled Station Name
    (0x0040_0242, IdClass::Device, Shape::Id),          // Performed Station Name
    (0x0040_0253, IdClass::OtherId, Shape::Id),         // Performed Procedure Step ID
    (0x0040_1001, IdClass::OtherId, Shape::Id),         // Requested Procedure ID
    (0x0040_1102, IdClass::Address, Shape::Phrase),     // Person's Address
    (0x0040_1103, IdClass::Phone, Shape::Phone),        // Person's Telephone Numbers
    (0x0040_1104, IdClass::Phone, Shape::Telecom),      // Person's Telecom Information
    (0x0040_2016, IdClass::OtherId, Shape::Id), // Placer Order Number / Imaging Service Request
    (0x0040_2017, IdClass::OtherId, Shape::Id), // Filler Order Number / Imaging Service Request
    (0x3008_0105, IdClass::Device, Shape::Id),  // Source Serial Number
];

/// Person names that are the patient's.
const PATIENT_NAMES: [u32; 4] = [0x0010_0010, 0x0010_1001, 0x0010_1005, 0x0010_1060];

/// Dates of the study and its series and acquisitions.
const STUDY_DATES: [u32; 6] = [
    0x0008_0020,
    0x0008_0021,
    0x0008_0022,
    0x0008_0023,
    0x0008_002A,
    0x0040_0244,
];

const BIRTH_DATE: u32 = 0x0010_0030;
const PATIENT_ID: u32 = 0x0010_0020;

/// Name parts that are not identifying: honorifics, suffixes.
const HONORIFICS: &[&str] = &[
    "DR", "MR", "MRS", "MS", "MISS", "MX", "JR", "SR", "MD", "PHD", "PROF", "II", "III", "IV",
    "RN", "RT", "DDS", "DVM", "ESQ", "SIR", "DAME", "HERR", "FRAU",
];

/// Values the engine writes itself (dummies), which no identifier can be.
const ENGINE_VALUES: &[&str] = &["ANONYMOUS", "ANON", "DUMMY", "URNDUMMY", "19000101"];

/// Words that are not identifying by themselves (see `profiles/common_words.txt`).
pub const COMMON_WORDS: &str = include_str!("../../profiles/common_words.txt");

static COMMON: LazyLock<FastSet<&'static str>> = LazyLock::new(|| {
    COMMON_WORDS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
});

/// Whether an upper-case word is too common to identify anyone alone: the DICOM dictionary's
/// and code meanings' words, function words, scanner vocabulary (see `profiles/common_words.txt`).
pub fn is_common_word(upper: &str) -> bool {
    COMMON.contains(upper) || HONORIFICS.contains(&upper)
}

/// Letters of a script written without spaces between words.
fn unspaced(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x9FFF | 0xAC00..=0xD7AF))
}

/// Whether a word may stand alone as a (weak) identifier: letters only, three or more (two in
/// unspaced scripts), and not common.
fn worthy_word(w: &Word) -> bool {
    let n = w.norm.chars().count();
    w.alphabetic()
        && (n >= 3 || (n >= 2 && unspaced(&w.norm)))
        && !repeated(&w.norm)
        && !is_common_word(&w.norm)
}

/// One character repeated (`XXXXXX`, `000000`): a mask or a filler, not an identifier.
fn repeated(norm: &str) -> bool {
    let mut chars = norm.chars().filter(|c| *c != '.');
    let first = chars.next();
    chars.all(|c| Some(c) == first)
}

/// Whether a normalised whole value may identify: three characters or more, four digits or
/// more, not one repeated character, and not made only of common or short words.
fn worthy_value(norm: &str, ws: &[Word]) -> bool {
    let n = norm.chars().count();
    let digits = norm.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    n >= 3
        && (!digits || n >= 4)
        && !repeated(norm)
        && (ws.len() <= 1 && !is_common_word(norm) || ws.iter().any(|w| !is_common_word(&w.norm)))
}

/// The identifiers of one input, deduplicated by token.
pub(crate) struct Harvester<'c> {
    cfg: &'c VerifyConfig,
    /// Normalised words and values of the pseudonyms written for this input.
    exempt: FastSet<String>,
    /// The words of the Patient ID: a patient "name" made only of them is a label (`PARITY^KOS`
    /// for `PARITY-1224-KOS`), which the ID already stands for.
    id_words: FastSet<String>,
    /// UIDs of class attributes (SOP classes, transfer syntaxes): kinds, not instances.
    class_uids: FastSet<String>,
    /// Every text value of the input, as letters and digits: a word of the file name that the
    /// header itself holds (a series description the file was named after) says nothing more.
    echo: Vec<u8>,
    pub(crate) out: TokenMap<u64, Harvested>,
    /// The instance UIDs harvested: what the engine writes for them (their remapped form) is
    /// its own value, not an identifier, and need not be kept as an output token.
    pub(crate) uids: FastSet<String>,
    /// Tokens of the file name that the header holds: not identifiers for this patient, in any
    /// of the patient's files (a folder named after a series).
    pub(crate) echoed: TokenSet,
}

impl<'c> Harvester<'c> {
    pub(crate) fn new(cfg: &'c VerifyConfig) -> Harvester<'c> {
        Harvester {
            cfg,
            exempt: ENGINE_VALUES.iter().map(|s| s.to_string()).collect(),
            id_words: FastSet::default(),
            class_uids: FastSet::default(),
            echo: Vec::new(),
            out: TokenMap::default(),
            uids: FastSet::default(),
            echoed: TokenSet::default(),
        }
    }

    /// The patient of an input (a keyed hash of its identity), with the pseudonym written for
    /// it added to the values that are not identifiers.
    pub(crate) fn patient(&mut self, obj: &FileObject<'_>) -> u64 {
        let cs = CharacterSet::from_item(&obj.dataset, &CharacterSet::default());
        let patient = Patient::of(&obj.dataset, &cs);
        self.id_words = words(&patient.id).into_iter().map(|w| w.norm).collect();
        let identity = patient.identity();
        let pseudonym = match &self.cfg.lookup {
            Some(l) => l.get(&patient).ok().cloned(),
            None => Some(pseudonym::derive(&self.cfg.key, &identity)),
        };
        if let Some(p) = pseudonym {
            for v in [&p.patient_id, &p.patient_name] {
                self.exempt.insert(normalise(v));
                self.exempt.extend(words(v).into_iter().map(|w| w.norm));
            }
        }
        self.cfg
            .hasher
            .hash(Domain::Word, &format!("patient\u{1f}{identity}"))
    }

    fn add(&mut self, domain: Domain, class: IdClass, weak: bool, norm: &str, source: &str) {
        if norm.is_empty() || self.exempt.contains(norm) || repeated(norm) {
            return;
        }
        let token = self.cfg.hasher.hash(domain, norm);
        let new = Harvested {
            token,
            domain,
            class,
            weak,
            text: norm.to_string(),
            source: source.to_string(),
        };
        match self.out.get_mut(&token) {
            // The strongest reading wins: a whole value over a word, then the class that
            // matters most.
            Some(old) if (old.weak, old.class.rank()) > (weak, class.rank()) => *old = new,
            Some(_) => {}
            None => {
                self.out.insert(token, new);
            }
        }
    }

    /// Harvests the file meta and the data set, at every depth.
    pub(crate) fn object(&mut self, obj: &FileObject<'_>) {
        let cs = CharacterSet::default();
        for item in [&obj.meta, &obj.dataset] {
            class_uids(item, &mut self.class_uids);
        }
        self.item(&obj.meta, None, "", &cs);
        self.item(&obj.dataset, None, "", &cs);
    }

    fn item(&mut self, item: &Item<'_>, parent: Option<Tag>, at: &str, parent_cs: &CharacterSet) {
        let cs = CharacterSet::from_item(item, parent_cs);
        let creators = crate::review::verify::block_creators(item);
        let retained_value = crate::review::verify::retained_content_value(self.cfg, item);
        for e in &item.elements {
            if e.tag.is_private_creator() || retained_value == Some(e.tag) {
                continue;
            }
            let p = || {
                path::element(
                    at,
                    e.tag,
                    crate::review::verify::creator_of(e.tag, &creators)
                        .map(|c| path::private(e.tag.group(), c, e.tag.element() as u8)),
                )
            };
            match &e.value {
                Value::Items(items) => {
                    let here = p();
                    for (i, it) in items.iter().enumerate() {
                        self.item(it, Some(e.tag), &path::item(&here, i), &cs);
                    }
                }
                Value::Bytes(raw) if e.vr.is_text() && !raw.is_empty() => {
                    if !matches!(e.vr, Vr::UI | Vr::DA | Vr::DT | Vr::TM | Vr::DS | Vr::IS) {
                        echo_bytes(raw, &mut self.echo);
                    }
                    let Some(what) = self.what(e.tag, e.vr, parent) else {
                        continue;
                    };
                    let source = path::pattern(&p());
                    for v in split_values(e.vr, raw) {
                        if v.is_empty() {
                            continue;
                        }
                        let text = if e.vr.uses_character_set() {
                            cs.decode_lossy(v)
                        } else {
                            String::from_utf8_lossy(v).into_owned()
                        };
                        self.value(what, &text, &source);
                    }
                }
                _ => {}
            }
        }
    }

    /// What to harvest from an element, or `None` (not identifying, or retained).
    fn what(&self, tag: Tag, vr: Vr, parent: Option<Tag>) -> Option<What> {
        let o = &self.cfg.options;
        let t = tag.as_u32();
        let what = match vr {
            Vr::UI => {
                if o.retain_uids || uids::is_class_uid_attribute(tag) {
                    return None;
                }
                What::Uid
            }
            Vr::DA | Vr::DT => What::Date(if t == BIRTH_DATE {
                IdClass::BirthDate
            } else if STUDY_DATES.contains(&t) {
                IdClass::StudyDate
            } else {
                IdClass::OtherDate
            }),
            Vr::PN => What::Other(
                if PATIENT_NAMES.contains(&t) {
                    IdClass::PatientName
                } else {
                    IdClass::PersonName
                },
                Shape::Name,
            ),
            _ if tag.is_private() => return None,
            _ => {
                let (_, class, shape) = ATTRIBUTES.iter().find(|(a, _, _)| *a == t)?;
                // A Patient ID inside Other Patient IDs Sequence is another ID.
                let class = if t == PATIENT_ID && parent.is_some() {
                    IdClass::OtherId
                } else {
                    *class
                };
                What::Other(class, *shape)
            }
        };
        let class = match what {
            What::Uid => IdClass::Uid,
            What::Date(c) | What::Other(c, _) => c,
        };
        let retained = match class {
            IdClass::Institution => o.retain_institution_identity,
            IdClass::Device => o.retain_device_identity,
            _ => false,
        } || retained_by_option(self.cfg, tag, vr);
        (!retained).then_some(what)
    }

    fn value(&mut self, what: What, text: &str, source: &str) {
        match what {
            What::Uid => {
                let uid = text.trim();
                if uid.len() >= 8 && !uids::is_registered(uid) && !self.class_uids.contains(uid) {
                    self.add(Domain::Word, IdClass::Uid, false, &normalise(uid), source);
                    self.uids.insert(uid.to_string());
                }
            }
            What::Date(class) => {
                for part in text.split('-') {
                    if let Some(d) = Ymd::from_dicom(part.trim()) {
                        self.add(Domain::Date, class, false, &d.compact(), source);
                    }
                }
            }
            What::Other(class, Shape::Name) => self.name(class, text, source),
            What::Other(class, Shape::Id) => {
                let ws = words(text);
                let norm: String = ws.iter().map(|w| w.norm.as_str()).collect();
                if worthy_value(&norm, &ws) {
                    self.add(Domain::Word, class, false, &norm, source);
                }
            }
            What::Other(class, Shape::Phrase) => self.phrase(class, text, source),
            What::Other(class, Shape::Phone) => self.phone(class, text, source),
            What::Other(_, Shape::Telecom) => {
                if text.contains('@') {
                    self.phrase(IdClass::Email, text, source);
                } else {
                    self.phone(IdClass::Phone, text, source);
                }
            }
        }
    }

    fn phone(&mut self, class: IdClass, text: &str, source: &str) {
        for form in phone_forms(text) {
            self.add(Domain::Phone, class, false, &form, source);
        }
    }

    /// A place or organisation: the whole value, each part between commas or lines, and each
    /// uncommon word (weak).
    fn phrase(&mut self, class: IdClass, text: &str, source: &str) {
        let parts = std::iter::once(text).chain(text.split([',', ';', '\n', '\r', '^']));
        for part in parts {
            let ws = words(part);
            let norm: String = ws.iter().map(|w| w.norm.as_str()).collect();
            if worthy_value(&norm, &ws) {
                self.add(Domain::Word, class, false, &norm, source);
            }
        }
        for w in words(text) {
            if worthy_word(&w) {
                self.add(Domain::Word, class, true, &w.norm, source);
            }
        }
    }

    /// A person name (PS3.5 6.2: groups split by `=`, components by `^`): each part (weak), the
    /// whole group, and given-family, family-given, given-middle-family and
    /// family-given-middle.
    fn name(&mut self, class: IdClass, text: &str, source: &str) {
        for group in text.split('=') {
            let ws = words(group);
            if class == IdClass::PatientName
                && !ws.is_empty()
                && ws.iter().all(|w| self.id_words.contains(&w.norm))
            {
                continue; // a label made of the Patient ID's words, harvested as the ID
            }
            for w in &ws {
                if worthy_word(w) {
                    self.add(Domain::Word, class, true, &w.norm, source);
                } else if !w.alphabetic() && !w.numeric() && w.norm.len() >= 4 {
                    // `PATIENT01`: a name made an identifier.
                    self.add(Domain::Word, class, false, &w.norm, source);
                }
            }
            if ws.len() < 2 || !ws.iter().any(|w| w.norm.chars().count() >= 2) {
                continue;
            }
            let comps: Vec<String> = group.split('^').map(normalise).collect();
            let c = |i: usize| comps.get(i).map(String::as_str).unwrap_or("");
            let (family, given, middle) = (c(0), c(1), c(2));
            let mut forms = vec![ws.iter().map(|w| w.norm.as_str()).collect::<String>()];
            if comps.len() == 1 && ws.len() == 2 {
                forms.push(format!("{}{}", ws[1].norm, ws[0].norm));
            }
            if !family.is_empty() && !given.is_empty() {
                forms.push(format!("{given}{family}"));
                forms.push(format!("{family}{given}"));
                if !middle.is_empty() {
                    forms.push(format!("{given}{middle}{family}"));
                    forms.push(format!("{family}{given}{middle}"));
                }
            }
            let common = ws
                .iter()
                .all(|w| is_common_word(&w.norm) || w.norm.len() < 2);
            for f in forms {
                if f.chars().count() >= 4 && !common {
                    self.add(Domain::Word, class, false, &f, source);
                }
            }
        }
    }

    /// The words of an input's path (relative to what the user gave, its own name included):
    /// uncommon words (weak), long numbers and mixed words, dates, UIDs, and each whole
    /// component.
    pub(crate) fn file_name(&mut self, name: &str) {
        const SOURCE: &str = "input name";
        // Bytes beyond ASCII may be in another character set than UTF-8: read leniently.
        let echo = String::from_utf8_lossy(&self.echo).into_owned();
        let parts: Vec<&str> = name.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
        for (i, part) in parts.iter().enumerate() {
            let stem = match part.rsplit_once('.') {
                Some((s, ext))
                    if i + 1 == parts.len()
                        && !s.is_empty()
                        && ext.len() <= 5
                        && ext.chars().all(|c| c.is_ascii_alphabetic()) =>
                {
                    s
                }
                _ => part,
            };
            for d in find_dates(stem) {
                for date in d.dates {
                    self.add(
                        Domain::Date,
                        IdClass::FileName,
                        false,
                        &date.compact(),
                        SOURCE,
                    );
                }
            }
            let (echoed, ws): (Vec<Word>, Vec<Word>) = words(stem)
                .into_iter()
                .partition(|w| echo.contains(&w.norm));
            for w in echoed {
                self.echoed
                    .insert(self.cfg.hasher.hash(Domain::Word, &w.norm));
            }
            for w in &ws {
                let n = w.norm.chars().count();
                if w.norm.matches('.').count() >= 2 {
                    if !self.cfg.options.retain_uids && !uids::is_registered(&w.norm) && n >= 8 {
                        self.add(Domain::Word, IdClass::Uid, false, &w.norm, SOURCE);
                    }
                } else if worthy_word(w) {
                    self.add(Domain::Word, IdClass::FileName, true, &w.norm, SOURCE);
                } else if (w.numeric() && n >= 6) || (!w.alphabetic() && !w.numeric() && n >= 5) {
                    self.add(Domain::Word, IdClass::FileName, false, &w.norm, SOURCE);
                }
            }
            let norm: String = words(stem).into_iter().map(|w| w.norm).collect();
            if echo.contains(&norm) {
                self.echoed
                    .insert(self.cfg.hasher.hash(Domain::Word, &norm));
            } else if ws.len() >= 2
                && norm.chars().count() >= 6
                && ws.iter().any(|w| worthy_word(w) || w.norm.len() >= 5)
            {
                self.add(Domain::Word, IdClass::FileName, false, &norm, SOURCE);
            }
        }
    }
}

/// Whether the options in force keep this attribute as it is: Table E.1-1 gives it K under an
/// option that retains something (device, institution, patient characteristics, full dates,
/// UIDs); unlisted dates are kept by Full Dates, every UID by Retain UIDs. (Retain Safe Private
/// is not one: a safe private element still must not hold an identifier.)
pub(crate) fn retained_by_option(cfg: &VerifyConfig, tag: Tag, vr: Vr) -> bool {
    let o = &cfg.options;
    if vr == Vr::UI && o.retain_uids {
        return true;
    }
    if tag.is_private() {
        return matches!(vr, Vr::DA | Vr::DT) && o.retain_long_full_dates;
    }
    if cfg.exact.contains(&tag.as_u32()) {
        return cfg.retained.contains(&tag.as_u32());
    }
    match cfg.profile.rule(tag) {
        Some(r) => retains(r, o),
        None => matches!(vr, Vr::DA | Vr::DT) && o.retain_long_full_dates,
    }
}

/// Whether a profile rule keeps its attribute as it is under an option that retains something.
pub(crate) fn retains(rule: &crate::deid::profile::Rule, o: &crate::deid::Options) -> bool {
    matches!(
        rule.resolve(o),
        (Action::K, Some(opt)) if opt != crate::deid::ProfileOption::RetainSafePrivate
    )
}

/// Appends a text value to the echo as [`normalise`] would write it for ASCII (letters and
/// digits, upper case; bytes beyond ASCII as they are), without decoding it: only the file
/// name's words are looked for in it.
fn echo_bytes(raw: &[u8], echo: &mut Vec<u8>) {
    for &b in raw {
        if b.is_ascii_alphanumeric() {
            echo.push(b.to_ascii_uppercase());
        } else if b >= 0x80 {
            echo.push(b);
        } else if b == b'\\' {
            echo.push(1);
        }
    }
    echo.push(1);
}

/// The values of the class-UID attributes of an item and its items.
fn class_uids(item: &Item<'_>, out: &mut FastSet<String>) {
    for e in &item.elements {
        match &e.value {
            Value::Items(items) => items.iter().for_each(|i| class_uids(i, out)),
            Value::Bytes(raw) if e.vr == Vr::UI && uids::is_class_uid_attribute(e.tag) => {
                for v in split_values(Vr::UI, raw) {
                    out.insert(String::from_utf8_lossy(v).trim().to_string());
                }
            }
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum What {
    Uid,
    Date(IdClass),
    Other(IdClass, Shape),
}
