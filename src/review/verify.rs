//! Residual-PHI verification, independent of the engine's decisions: the identifiers of every
//! input ([`crate::review::harvest`]) are looked for in every output — every element at every
//! depth, text inside OB and UN values as ASCII and UTF-16LE, the file meta, the output's name —
//! and free text is scanned for identifier-shaped patterns.
//!
//! # How it runs
//! [`check_file`] is the per-file step, made in parallel where the file is de-identified (a CLI
//! thread, a page worker): it harvests the input's identifiers as keyed tokens and tokenises the
//! output into keyed tokens, each with its first place. Its [`FileCheck`] is plain data (serde;
//! it crosses from a worker to the page as JSON) and holds the identifiers' text only for
//! matches found within the file itself. [`Verifier::commit`] merges them in the batch's input
//! order, per patient; [`Verifier::finish`] intersects each patient's identifiers with the
//! patient's own outputs and then with everyone's, and gives the [`Report`]. Memory grows with
//! the distinct tokens of the batch (a few per file once descriptions repeat), never with the
//! outputs' bytes.
//!
//! # What is not a finding
//! Classes the options retain (institution, device, full dates, UIDs: the attributes Table E.1-1
//! keeps under an option in force), the pseudonyms and dummies the engine writes, tokens too short
//! or too common to identify, dates inside UIDs, numbers inside decimals. A date found in a date
//! element that the engine changed (shifted or replaced by a dummy) and that equals some original
//! date is a coincidence to review, not a leak.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::deid::key::{ProjectKey, base32};
use crate::deid::profile::Action;
use crate::deid::uids;
use crate::deid::{Deidentifier, Lookup, Options, Profile, SafePrivate, Witness, safe_private};
use crate::dicom::charset::CharacterSet;
use crate::dicom::model::{
    FileObject, Item, Tag, TagExt, Value, Vr, split_values, tags, trim_text,
};
use crate::dicom::{path, read_file};
use crate::review::final_review::ResidualMarks;
use crate::review::harvest::{Harvested, Harvester, IdClass, retained_by_option};
use crate::review::patterns::{Flag, text_flags};
use crate::review::tokens::{Domain, Hasher, MatchKind, tokens_of};

/// What the verifier needs of a de-identification: its options, key, profile, safe-private
/// table and pseudonym lookup. Cheap to clone and share between threads.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    pub(crate) options: Options,
    pub(crate) key: ProjectKey,
    pub(crate) hasher: Hasher,
    pub(crate) profile: Arc<Profile>,
    pub(crate) safe_private: Arc<SafePrivate>,
    pub(crate) lookup: Option<Arc<Lookup>>,
    /// Tags with a rule of their own in the profile, and those of them the options retain
    /// (see [`crate::review::harvest::retained_by_option`]).
    pub(crate) exact: FastSet<u32>,
    pub(crate) retained: FastSet<u32>,
}

impl VerifyConfig {
    /// The configuration of a de-identifier: verification knows what it was asked to keep.
    pub fn of(d: &Deidentifier) -> VerifyConfig {
        let (key, profile, safe_private, lookup) = d.verify_parts();
        let mut cfg = VerifyConfig {
            options: *d.options(),
            hasher: Hasher::new(key),
            key: key.clone(),
            profile: Arc::clone(profile),
            safe_private: Arc::clone(safe_private),
            lookup: lookup.cloned(),
            exact: FastSet::default(),
            retained: FastSet::default(),
        };
        for r in &profile.rules {
            if let crate::deid::TagPattern::Exact(t) = r.pattern {
                cfg.exact.insert(t.as_u32());
                if crate::review::harvest::retains(r, &cfg.options) {
                    cfg.retained.insert(t.as_u32());
                }
            }
        }
        cfg
    }

    /// The options in force.
    pub fn options(&self) -> &Options {
        &self.options
    }
}

/// How serious a finding is. A critical finding blocks a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// An identifier of the inputs is in an output.
    Critical,
    /// Probably identifying: a private element not on the safe list, a phone- or e-mail-shaped
    /// text, a word of a name where it is weak evidence.
    High,
    /// To look at: date-shaped text, long numbers, a date that coincides with an original one.
    Review,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Review => "review",
        }
    }
}

/// Which check found it (the report's `check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Check {
    IdentifierMatch,
    OriginalUid,
    OriginalDate,
    Pattern,
    PrivateNotSafe,
    Filename,
    FileMeta,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::IdentifierMatch => "IDENTIFIER_MATCH",
            Check::OriginalUid => "ORIGINAL_UID",
            Check::OriginalDate => "ORIGINAL_DATE",
            Check::Pattern => "PATTERN",
            Check::PrivateNotSafe => "PRIVATE_NOT_SAFE",
            Check::Filename => "FILENAME",
            Check::FileMeta => "FILE_META",
        }
    }
}

/// Where in an output a token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    Dataset,
    Meta,
    /// The output's name (and zip path).
    Name,
}

/// One token of an output and its first place there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutToken {
    pub token: u64,
    pub domain: Domain,
    /// The element's MIDI-B path and VR, as an index into [`FileCheck::paths`] (`u32::MAX`
    /// for the output's name).
    pub path: u32,
    pub kind: MatchKind,
    pub place: Place,
    /// Byte offset and length in the (decoded) value.
    pub offset: u32,
    pub length: u32,
    /// The element's value is the input's at the same path: the profile kept it. Otherwise the
    /// engine wrote it (cleaned, shifted, replaced) or added it.
    pub kept: bool,
    /// The element is one an option in force retains (Table E.1-1: K under that option).
    pub retained: bool,
    /// A coded string (CS): a defined term rather than free text.
    pub coded: bool,
    /// Only part of a word (`12345678` in `MRN12345678`).
    pub partial: bool,
    /// Index of the value in the scan's texts (for the context of a match; not kept).
    #[serde(skip)]
    value: u32,
}

impl OutToken {
    /// Which place says most about a leak, when a token stands in several (see [`rank`]).
    fn rank(&self) -> u8 {
        rank(
            self.domain,
            self.kind,
            self.place,
            [self.kept, self.retained, self.coded, self.partial],
        )
    }
}

/// Which place says most about a leak, when a token stands in several: the name, a value the
/// engine wrote (cleaning left it), a value kept as it came, a coded string, an element an
/// option retains, a date the engine shifted, part of a word. `flags`: kept, retained, coded,
/// partial.
fn rank(domain: Domain, kind: MatchKind, place: Place, flags: [bool; 4]) -> u8 {
    let [kept, retained, coded, partial] = flags;
    let engine_date = domain == Domain::Date && kind == MatchKind::Exact;
    match () {
        _ if place == Place::Name => 6,
        _ if partial => 0,
        _ if retained => 2,
        _ if engine_date && !kept => 1,
        _ if coded => 3,
        _ if !kept => 5,
        _ => 4,
    }
}

/// A finding made within one file: a pattern in free text, or a private element kept that is
/// not on the safe list. Holds its text (PHI) for the detail file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub check: Check,
    pub severity: Severity,
    pub flag: Option<Flag>,
    pub path: String,
    pub vr: String,
    pub offset: u32,
    pub length: u32,
    pub hmac8: String,
    /// PHI.
    pub matched_text: String,
    /// PHI.
    pub context: String,
}

/// The text of a match found within one file (PHI, for the detail file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    pub token: u64,
    pub matched_text: String,
    pub context: String,
}

/// The per-file state of verification: what [`check_file`] found in one input and its output.
/// Plain data: it crosses from a page worker to the page (as JSON: `serde_json`, since hashes
/// are 64-bit) and holds PHI only in `harvest[].text`, `details` and `issues` (in memory, for
/// the detail file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCheck {
    /// Keyed hash of the patient's identity (0 when the input could not be read).
    pub patient: u64,
    pub harvest: Vec<Harvested>,
    /// Tokens of the input's name that its header holds (see [`Verifier::commit`]).
    pub echoed: Vec<u64>,
    pub tokens: Vec<OutToken>,
    /// The MIDI-B paths and VRs [`OutToken::path`] refers to.
    pub paths: Vec<(String, String)>,
    /// Tokens of the UIDs the engine writes for this input (its remapped UIDs, which the
    /// output's name holds): not identifiers, not kept.
    pub written: Vec<u64>,
    pub issues: Vec<Issue>,
    pub details: Vec<Detail>,
    /// Elements of the output looked at.
    pub elements: u64,
    /// The output's SOP Instance UID.
    pub sop_instance_uid: String,
    /// Whether an output was given and read.
    pub scanned: bool,
}

/// The per-file step: harvests the identifiers of `input` (when given and readable; its
/// `input_name` is its path relative to what the user gave, folder names included) and
/// tokenises `output`, finding within-file matches and pattern and private-element issues.
/// (Beside a de-identification, [`deidentify_and_check`] does the same without reading the
/// files again.)
pub fn check_file(
    cfg: &VerifyConfig,
    input: Option<&[u8]>,
    input_name: &str,
    output: Option<&[u8]>,
) -> FileCheck {
    let mut checker = Checker::new(cfg, input_name);
    let mut scratch = Vec::new();
    if let Some(obj) = input.and_then(|b| read_file(b, &mut scratch).ok()) {
        checker.input(&obj);
    }
    let mut scratch_out = Vec::new();
    if let Some(obj) = output.and_then(|b| read_file(b, &mut scratch_out).ok()) {
        checker.output(&obj);
    }
    checker.finish()
}

/// De-identifies `input` and checks it in one pass: the verifier harvests the input as the
/// engine read it (before any change) and scans the output as the engine read it back, so no
/// file is parsed twice. The check is `None` for an input that is not DICOM; an input held back
/// (pixels at risk) still gives its identifiers; a skipped or failed one gives no check.
pub fn deidentify_and_check(
    d: &Deidentifier,
    cfg: &VerifyConfig,
    input: &[u8],
    input_name: &str,
) -> (crate::Result<crate::Deidentified>, Option<FileCheck>) {
    check_with(d, cfg, input, input_name, None)
}

/// [`deidentify_and_check`], for the stub of a large file when `bulk` says where its frames
/// are.
pub(crate) fn check_with(
    d: &Deidentifier,
    cfg: &VerifyConfig,
    input: &[u8],
    input_name: &str,
    bulk: Option<&mut crate::pixels::streamed::Bulk<'_>>,
) -> (crate::Result<crate::Deidentified>, Option<FileCheck>) {
    let mut checker = Checker::new(cfg, input_name);
    let result = d.deidentify_witnessed(input, Some(&mut checker), bulk);
    // An input held back still has identifiers that must not appear elsewhere; one skipped (a
    // DICOMDIR) or failed has no output to look in and is not counted.
    let counted = matches!(&result, Ok(_) | Err(crate::Error::Quarantined(_)));
    let check = (checker.read && counted).then(|| checker.finish());
    (result, check)
}

/// The per-file check being made: the harvest of the input, then the scan of the output.
struct Checker<'c> {
    cfg: &'c VerifyConfig,
    input_name: &'c str,
    harvester: Harvester<'c>,
    check: FileCheck,
    scanner: Scanner<'c>,
    /// Whether the input was read.
    read: bool,
}

impl<'c> Checker<'c> {
    fn new(cfg: &'c VerifyConfig, input_name: &'c str) -> Checker<'c> {
        Checker {
            cfg,
            input_name,
            harvester: Harvester::new(cfg),
            check: FileCheck::default(),
            scanner: Scanner {
                cfg,
                written: TokenSet::default(),
                tokens: TokenMap::with_capacity_and_hasher(512, Default::default()),
                paths: Vec::new(),
                texts: Vec::new(),
                elements: 0,
                issues: BTreeMap::new(),
                input_values: TokenMap::default(),
            },
            read: false,
        }
    }

    fn finish(mut self) -> FileCheck {
        let (harvester, scanner, mut check) = (self.harvester, self.scanner, self.check);
        for (token, h) in &harvester.out {
            if let Some(t) = scanner.tokens.get(token) {
                check.details.push(Detail {
                    token: *token,
                    matched_text: h.text.clone(),
                    context: scanner.context(t),
                });
            }
        }
        check.details.sort_by_key(|d| d.token);
        check.echoed = harvester.echoed.into_iter().collect();
        check.echoed.sort_unstable();
        check.harvest = harvester.out.into_values().collect();
        check.harvest.sort_by_key(|h| h.token);
        check.tokens = scanner.tokens.into_values().collect();
        check.tokens.sort_by_key(|t| t.token);
        check.paths = scanner.paths;
        check.issues = scanner.issues.into_values().collect();
        check.elements = scanner.elements;
        check.written = scanner.written.into_iter().collect();
        check.written.sort_unstable();
        self.read = false;
        check
    }
}

impl Witness for Checker<'_> {
    fn input(&mut self, obj: &FileObject<'_>) {
        let cfg = self.cfg;
        self.read = true;
        self.check.patient = self.harvester.patient(obj);
        self.harvester.object(obj);
        self.harvester.file_name(self.input_name);
        value_index(&obj.meta, 0, &mut self.scanner.input_values);
        value_index(&obj.dataset, 0, &mut self.scanner.input_values);
        // The UIDs the engine writes for this input's UIDs are its own values: remembered so
        // that the batch does not keep a token per file for them.
        if !cfg.options.retain_uids {
            self.scanner.written = self
                .harvester
                .uids
                .iter()
                .map(|u| cfg.hasher.hash(Domain::Word, &uids::remap(&cfg.key, u)))
                .collect();
        }
    }

    fn output(&mut self, obj: &FileObject<'_>) {
        if !self.read {
            let cs = CharacterSet::from_item(&obj.dataset, &CharacterSet::default());
            let p = crate::deid::pseudonym::Patient::of(&obj.dataset, &cs);
            self.check.patient = self
                .cfg
                .hasher
                .hash(Domain::Word, &format!("output\u{1f}{}", p.identity()));
        }
        self.scanner.object(obj);
        self.check.scanned = true;
        self.check.sop_instance_uid = obj
            .dataset
            .ascii(tags::SOP_INSTANCE_UID)
            .unwrap_or_default();
    }
}

/// The SOP Instance UID the output of `input` has under this configuration (the data set's, else
/// the file meta's, remapped unless UIDs are retained): how [`check_file`]'s caller pairs
/// outputs made earlier with their inputs. `None` for an unreadable input or one without a UID.
pub fn expected_sop_instance_uid(cfg: &VerifyConfig, input: &[u8]) -> Option<String> {
    let uid = match sop_instance_uid(input) {
        Some(uid) if cfg.options.retain_uids => uid,
        Some(uid) => uids::remap(&cfg.key, &uid),
        // The engine gives a file without any UID one derived from its bytes.
        None => {
            let mut scratch = Vec::new();
            read_file(input, &mut scratch).ok()?;
            let digest = base32(&cfg.key.mac("file-without-uid", input), 26);
            uids::remap(&cfg.key, &format!("content:{digest}"))
        }
    };
    Some(uid)
}

/// The SOP Instance UID of a DICOM file (its data set's, else its file meta's).
pub fn sop_instance_uid(bytes: &[u8]) -> Option<String> {
    let mut scratch = Vec::new();
    let obj = read_file(bytes, &mut scratch).ok()?;
    obj.dataset
        .ascii(tags::SOP_INSTANCE_UID)
        .filter(|u| !u.is_empty())
        .or_else(|| obj.meta.ascii(tags::MEDIA_STORAGE_SOP_INSTANCE_UID))
        .filter(|u| !u.is_empty())
}

/// A hasher for keys that are already keyed hashes (tokens) or small numbers: FxHash's mix,
/// much cheaper than SipHash for the per-file and per-batch token tables.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TokenHasher(u64);

impl std::hash::Hasher for TokenHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 59));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

pub(crate) type TokenMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<TokenHasher>>;
pub(crate) type TokenSet = FastSet<u64>;
pub(crate) type FastSet<T> =
    std::collections::HashSet<T, std::hash::BuildHasherDefault<TokenHasher>>;

fn mix(a: u64, b: u64) -> u64 {
    (a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .rotate_left(27)
        .wrapping_mul(0x94D0_49BB_1331_11EB)
}

/// A number for an element's place, the same in an input and its output: what its MIDI-B path
/// says (the parent, then the tag, or a private element's creator and offset), without making
/// the string.
fn place_key(parent: u64, tag: Tag, creator: Option<&str>) -> u64 {
    match creator {
        Some(c) => {
            let creator = c.trim().bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ b.to_ascii_uppercase() as u64).wrapping_mul(0x100_0000_01b3)
            });
            mix(
                mix(parent, creator),
                (1 << 40) | ((tag.group() as u64) << 8) | (tag.element() & 0xFF) as u64,
            )
        }
        None => mix(parent, tag.as_u32() as u64),
    }
}

/// The value element of an SR content item that Clean Structured Content keeps as it is under
/// an option in force (PS3.15 Table E.3.4-1: a Device Observer UID under Retain Device
/// Identity): retained, like an attribute Table E.1-1 keeps.
pub(crate) fn retained_content_value(cfg: &VerifyConfig, item: &Item<'_>) -> Option<Tag> {
    if !cfg.options.clean_structured_content {
        return None;
    }
    let c = crate::deid::sr::content_item(item)?;
    let (value_type, value_tag) = (c.value_type, c.value_tag);
    let (scheme, code) = c.concept?;
    let (action, by) =
        crate::deid::sr::SrRules::builtin().action(&scheme, &code, &value_type, &cfg.options);
    matches!(
        (action, by),
        (Action::K, Some(o)) if o != crate::deid::ProfileOption::RetainSafePrivate
    )
    .then_some(value_tag)
}

/// The private creators an item reserves, by (group, block): few, so a list.
pub(crate) fn block_creators<'a>(
    item: &'a Item<'_>,
) -> Vec<((u16, u8), std::borrow::Cow<'a, str>)> {
    item.elements
        .iter()
        .filter(|e| e.tag.is_private_creator())
        .filter_map(|e| {
            let s = String::from_utf8_lossy(trim_text(Vr::LO, e.raw()?));
            (!s.is_empty()).then_some(((e.tag.group(), e.tag.element() as u8), s))
        })
        .collect()
}

/// The creator of a private element's block, when the item reserves it (as
/// [`safe_private::address`], without copying the creator).
pub(crate) fn creator_of<'a>(
    tag: Tag,
    creators: &'a [((u16, u8), std::borrow::Cow<'_, str>)],
) -> Option<&'a str> {
    if !tag.is_private() || tag.element() < 0x1000 {
        return None;
    }
    let block = (tag.group(), (tag.element() >> 8) as u8);
    creators
        .iter()
        .find(|(b, _)| *b == block)
        .map(|(_, c)| c.as_ref())
}

fn item_key(parent: u64, index: usize) -> u64 {
    mix(parent, (1 << 48) | index as u64)
}

/// A hash of every value of an input by place, to tell a value the profile kept from one the
/// engine wrote.
fn value_index(item: &Item<'_>, at: u64, out: &mut TokenMap<u64, u64>) {
    let creators = block_creators(item);
    for e in &item.elements {
        let key = place_key(at, e.tag, creator_of(e.tag, &creators));
        match &e.value {
            Value::Items(items) => {
                for (i, it) in items.iter().enumerate() {
                    value_index(it, item_key(key, i), out);
                }
            }
            Value::Bytes(raw) if !is_bulk(e.tag) => {
                out.insert(key, value_hash(e.vr, raw));
            }
            _ => {}
        }
    }
}

fn value_hash(vr: Vr, raw: &[u8]) -> u64 {
    let v = if vr.is_text() {
        trim_text(vr, raw)
    } else {
        raw
    };
    xxhash_rust::xxh3::xxh3_64(v)
}

/// Tags whose binary values are pixels, overlays, waveforms or curves: not scanned for text.
fn is_bulk(tag: Tag) -> bool {
    let g = tag.group();
    matches!(tag.as_u32(), 0x7FE0_0008..=0x7FE0_0010 | 0x5400_1010 | 0x0028_1201..=0x0028_1223)
        || ((0x6000..=0x601E).contains(&g) && tag.element() == 0x3000)
        || ((0x5000..=0x501E).contains(&g) && tag.element() == 0x3000)
}

/// The record the engine writes into every output from its own constants (PS3.15 E.1.1 item
/// 7: De-identification Method and its code sequence), replacing whatever the input had: not
/// tokenised (it is the same text in every file).
const ENGINE_RECORD: [u32; 2] = [0x0012_0063, 0x0012_0064];

/// Code values of coding schemes: defined terms, like coded strings.
const CODE_VALUES: [u32; 3] = [0x0008_0100, 0x0008_0119, 0x0008_0120];

/// Values that are not free text to scan for patterns: what the engine writes into every
/// output, and code values (numbers from coding schemes such as SNOMED CT).
const NOT_FREE_TEXT: [u32; 6] = [
    0x0012_0063, // De-identification Method
    0x0002_0013, // Implementation Version Name
    0x0012_0062, // Patient Identity Removed
    0x0008_0100, // Code Value
    0x0008_0119, // Long Code Value
    0x0008_0120, // URN Code Value
];

struct Scanner<'c> {
    cfg: &'c VerifyConfig,
    /// Tokens of values the engine wrote for this input (its remapped UIDs): not kept.
    written: TokenSet,
    tokens: TokenMap<u64, OutToken>,
    /// The paths and VRs of the elements tokens stand in; tokens refer to them by index.
    paths: Vec<(String, String)>,
    texts: Vec<String>,
    elements: u64,
    issues: BTreeMap<IssueKey, Issue>,
    input_values: TokenMap<u64, u64>,
}

/// One element being scanned: where it is, and what the scan knows of it.
struct At<'p> {
    parent: &'p str,
    tag: Tag,
    creator: Option<&'p str>,
    /// Its index in the scan's paths, once made.
    path: Option<u32>,
    place: Place,
    vr: Vr,
    kept: bool,
    retained: bool,
    coded: bool,
}

impl At<'_> {
    fn path_string(&self) -> String {
        path::element(
            self.parent,
            self.tag,
            self.creator
                .map(|c| path::private(self.tag.group(), c, self.tag.element() as u8)),
        )
    }

    fn address(&self) -> Option<safe_private::PrivateAddress> {
        self.creator.map(|c| safe_private::PrivateAddress {
            creator: c.to_string(),
            group: self.tag.group(),
            offset: self.tag.element() as u8,
        })
    }

    fn path_index(&mut self, paths: &mut Vec<(String, String)>) -> u32 {
        if let Some(i) = self.path {
            return i;
        }
        paths.push((self.path_string(), self.vr.as_str().to_string()));
        let i = (paths.len() - 1) as u32;
        self.path = Some(i);
        i
    }
}

impl Scanner<'_> {
    fn object(&mut self, obj: &FileObject<'_>) {
        let cs = CharacterSet::default();
        self.item(&obj.meta, "", 0, &cs, Place::Meta);
        self.item(&obj.dataset, "", 0, &cs, Place::Dataset);
    }

    fn item(&mut self, item: &Item<'_>, at: &str, key: u64, cs: &CharacterSet, place: Place) {
        let cs = CharacterSet::from_item(item, cs);
        let creators = block_creators(item);
        let retained_value = retained_content_value(self.cfg, item);
        for e in &item.elements {
            self.elements += 1;
            let creator = creator_of(e.tag, &creators);
            let here = place_key(key, e.tag, creator);
            let mut at_el = At {
                parent: at,
                tag: e.tag,
                creator,
                path: None,
                place,
                vr: e.vr,
                kept: false,
                retained: false,
                coded: false,
            };
            if e.tag.is_private() && !e.tag.is_private_creator() {
                self.private(&at_el);
            }
            if place == Place::Dataset && ENGINE_RECORD.contains(&e.tag.as_u32()) && at.is_empty() {
                continue;
            }
            let raw = match &e.value {
                Value::Items(items) => {
                    let p = at_el.path_string();
                    for (i, it) in items.iter().enumerate() {
                        self.item(it, &path::item(&p, i), item_key(here, i), &cs, place);
                    }
                    continue;
                }
                Value::Fragments(_) => continue,
                Value::Bytes(raw) if raw.is_empty() => continue,
                Value::Bytes(raw) => raw,
            };
            if matches!(e.vr, Vr::DS | Vr::IS | Vr::TM | Vr::AS)
                || (e.vr == Vr::UI && uids::is_class_uid_attribute(e.tag))
                || (!e.vr.is_text() && !matches!(e.vr, Vr::OB | Vr::UN))
                || is_bulk(e.tag)
            {
                // Numbers, times and ages; classes and syntaxes (kinds of things, kept by
                // design); binary numbers and pixels.
                continue;
            }
            at_el.kept = self.input_values.get(&here) == Some(&value_hash(e.vr, raw));
            at_el.retained =
                retained_by_option(self.cfg, e.tag, e.vr) || retained_value == Some(e.tag);
            at_el.coded = e.vr == Vr::CS
                || CODE_VALUES.contains(&e.tag.as_u32())
                || (!e.tag.is_private() && crate::dicom::read::implicit_vr(e.tag) == Vr::CS);
            match e.vr {
                Vr::DA | Vr::DT => self.dates(&mut at_el, raw),
                Vr::UI => {
                    for v in split_values(Vr::UI, raw) {
                        let text = String::from_utf8_lossy(v).into_owned();
                        self.text(&mut at_el, text, None, false);
                    }
                }
                Vr::OB | Vr::UN => self.binary(&mut at_el, raw),
                vr => {
                    let free = matches!(vr, Vr::LO | Vr::LT | Vr::SH | Vr::ST | Vr::UT | Vr::UC)
                        && place == Place::Dataset
                        && !NOT_FREE_TEXT.contains(&e.tag.as_u32());
                    for v in split_values(vr, raw) {
                        if v.is_empty() {
                            continue;
                        }
                        let text = if vr.uses_character_set() {
                            cs.decode_lossy(v)
                        } else {
                            String::from_utf8_lossy(v).into_owned()
                        };
                        self.text(&mut at_el, text, None, free);
                    }
                }
            }
        }
    }

    /// A private element kept: on the active safe list, or a finding.
    fn private(&mut self, at: &At<'_>) {
        let o = &self.cfg.options;
        let safe_rule = self
            .cfg
            .profile
            .private_rule()
            .map(|r| r.resolve(o).0)
            .is_some_and(|a| a == Action::C);
        let safe = match at.address() {
            Some(_) if safe_rule && o.retain_safe_private => self
                .cfg
                .safe_private
                .decide(&path::signature(&at.path_string()), at.vr)
                .is_some_and(|d| !d.disposition.removes()),
            _ => false,
        };
        if !safe {
            let p = at.path_string();
            let key = (path::pattern(&p), Check::PrivateNotSafe, None);
            self.issues.entry(key).or_insert_with(|| Issue {
                check: Check::PrivateNotSafe,
                severity: Severity::High,
                flag: None,
                path: p,
                vr: at.vr.as_str().to_string(),
                offset: 0,
                length: 0,
                hmac8: String::new(),
                matched_text: String::new(),
                context: String::new(),
            });
        }
    }

    fn add(&mut self, t: OutToken) {
        if self.written.contains(&t.token) {
            return;
        }
        match self.tokens.get_mut(&t.token) {
            Some(old) if t.rank() > old.rank() => *old = t,
            Some(_) => {}
            None => {
                self.tokens.insert(t.token, t);
            }
        }
    }

    fn token(&self, at: &At<'_>, domain: Domain, norm: &str, range: (usize, usize)) -> OutToken {
        OutToken {
            token: self.cfg.hasher.hash(domain, norm),
            domain,
            path: u32::MAX,
            kind: MatchKind::Exact,
            place: at.place,
            offset: range.0 as u32,
            length: (range.1 - range.0) as u32,
            kept: at.kept,
            retained: at.retained,
            coded: at.coded,
            partial: false,
            value: self.texts.len() as u32,
        }
    }

    fn dates(&mut self, at: &mut At<'_>, raw: &[u8]) {
        let value = String::from_utf8_lossy(trim_text(at.vr, raw)).into_owned();
        let mut offset = 0;
        for part in value.split(['\\', '-']) {
            if let Some(d) = crate::review::patterns::Ymd::from_dicom(part.trim()) {
                let mut t = self.token(
                    at,
                    Domain::Date,
                    &d.compact(),
                    (offset, offset + part.len()),
                );
                t.coded = false;
                t.path = at.path_index(&mut self.paths);
                self.add(t);
            }
            offset += part.len() + 1;
        }
        self.texts.push(value);
    }

    /// Tokens of a text value; `kind` overrides how they were found (text inside a binary
    /// value); `free` runs the pattern flags.
    fn text(&mut self, at: &mut At<'_>, text: String, kind: Option<MatchKind>, free: bool) {
        let template = self.token(at, Domain::Word, "", (0, 0));
        let hasher = self.cfg.hasher;
        let mut found = Vec::new();
        let shapes = at.vr != Vr::UI;
        tokens_of(
            &text,
            true,
            shapes,
            &mut |domain, norm, s, e, k, partial| {
                found.push((hasher.hash(domain, norm), domain, s, e, k, partial));
            },
        );
        for (token, domain, s, e, k, partial) in found {
            let t = OutToken {
                token,
                domain,
                kind: kind.unwrap_or(k),
                offset: s as u32,
                length: (e - s) as u32,
                partial,
                ..template
            };
            let better = match self.tokens.get(&t.token) {
                Some(old) => t.rank() > old.rank(),
                None => true,
            };
            if better {
                let path = at.path_index(&mut self.paths);
                self.add(OutToken { path, ..t });
            }
        }
        if free {
            self.patterns(at, &text);
        }
        self.texts.push(text);
    }

    /// Pattern flags of free text: telephone, e-mail and SSN shapes are high, dates, long
    /// numbers and addresses to review.
    fn patterns(&mut self, at: &At<'_>, text: &str) {
        let flags = text_flags(text);
        if flags.is_empty() {
            return;
        }
        let p = at.path_string();
        let pattern = path::pattern(&p);
        for flag in flags {
            let severity = match flag {
                Flag::Phone | Flag::Email | Flag::Ssn => Severity::High,
                _ => Severity::Review,
            };
            let key = (pattern.clone(), Check::Pattern, Some(flag));
            if self.issues.contains_key(&key) {
                continue;
            }
            self.issues.insert(
                key,
                Issue {
                    check: Check::Pattern,
                    severity,
                    flag: Some(flag),
                    path: p.clone(),
                    vr: at.vr.as_str().to_string(),
                    offset: 0,
                    length: text.len() as u32,
                    hmac8: hmac8(&self.cfg.key, text),
                    matched_text: text.to_string(),
                    context: String::new(),
                },
            );
        }
    }

    /// Text inside a binary value: runs of printable ASCII, and of UTF-16LE.
    fn binary(&mut self, at: &mut At<'_>, raw: &[u8]) {
        const MIN: usize = 3;
        let printable = |b: u8| (0x20..0x7F).contains(&b);
        let mut runs: Vec<(String, MatchKind)> = Vec::new();
        let mut s = 0;
        while s < raw.len() {
            if !printable(raw[s]) {
                s += 1;
                continue;
            }
            let mut e = s;
            while e < raw.len() && printable(raw[e]) {
                e += 1;
            }
            if e - s >= MIN {
                runs.push((
                    String::from_utf8_lossy(&raw[s..e]).into_owned(),
                    MatchKind::BinaryAscii,
                ));
            }
            s = e;
        }
        for start in [0, 1] {
            let mut run = String::new();
            let mut k = start;
            while k < raw.len() {
                let ok = k + 1 < raw.len() && printable(raw[k]) && raw[k + 1] == 0;
                if ok {
                    run.push(raw[k] as char);
                }
                if !ok || k + 3 >= raw.len() {
                    if run.len() >= MIN {
                        runs.push((std::mem::take(&mut run), MatchKind::Utf16));
                    }
                    run.clear();
                }
                k += 2;
            }
        }
        for (text, kind) in runs {
            self.text(at, text, Some(kind), false);
        }
    }

    /// Up to 32 characters either side of a token, from its value.
    fn context(&self, t: &OutToken) -> String {
        let Some(text) = self.texts.get(t.value as usize) else {
            return String::new();
        };
        let (s, e) = (t.offset as usize, (t.offset + t.length) as usize);
        let before: String = text
            .get(..s)
            .unwrap_or("")
            .chars()
            .rev()
            .take(32)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let after: String = text.get(e..).unwrap_or("").chars().take(32).collect();
        format!("{before}[{}]{after}", text.get(s..e).unwrap_or(""))
    }
}

/// The keyed code of a matched text in the shareable report: 8 base32 characters of
/// HMAC-SHA256 under the project key, so a key holder can tell two findings of the same value
/// apart from others without the report holding the value.
pub fn hmac8(key: &ProjectKey, text: &str) -> String {
    base32(&key.mac("residual-phi", text.as_bytes()), 8)
}

/// An issue's path pattern, check and flag: one finding per place and kind.
type IssueKey = (String, Check, Option<Flag>);

/// An interned string table (paths repeat across files).
#[derive(Debug, Default)]
struct Interner {
    ids: HashMap<String, u32>,
    all: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.all.len() as u32;
        self.all.push(s.to_string());
        self.ids.insert(s.to_string(), i);
        i
    }
}

#[derive(Debug)]
struct HarvestEntry {
    class: IdClass,
    domain: Domain,
    weak: bool,
    text: Box<str>,
    source: u32,
}

#[derive(Debug, Clone, Copy)]
struct OutEntry {
    file: u32,
    path: u32,
    vr: [u8; 2],
    domain: Domain,
    kind: MatchKind,
    place: Place,
    kept: bool,
    retained: bool,
    coded: bool,
    partial: bool,
    offset: u32,
    length: u32,
    count: u32,
}

impl OutEntry {
    fn rank(&self) -> u8 {
        rank(
            self.domain,
            self.kind,
            self.place,
            [self.kept, self.retained, self.coded, self.partial],
        )
    }
}

/// The ordered merge of a batch's [`FileCheck`]s, and the intersection at its end.
#[derive(Debug)]
pub struct Verifier {
    key: ProjectKey,
    hasher: Hasher,
    patients: HashMap<u64, u32>,
    harvest: TokenMap<(u32, u64), HarvestEntry>,
    outputs: TokenMap<(u32, u64), OutEntry>,
    /// Token → the first patient whose outputs hold it.
    first: TokenMap<u64, u32>,
    /// Output names and SOP Instance UIDs, by commit order.
    files: Vec<Box<str>>,
    strings: Interner,
    details: HashMap<(u32, u64), (String, String)>,
    /// Issues by path pattern, check and flag: the first (with its file) and how many.
    issues: BTreeMap<IssueKey, (Issue, u32, u32)>,
    /// A word of a file or folder name that one of the patient's headers holds: content the
    /// name was made from, not an identifier, for all of the patient's files.
    echoed: std::collections::HashSet<(u32, u64)>,
    inputs: u64,
    elements: u64,
}

impl Verifier {
    pub fn new(cfg: &VerifyConfig) -> Verifier {
        Verifier {
            key: cfg.key.clone(),
            hasher: cfg.hasher,
            patients: HashMap::new(),
            harvest: TokenMap::default(),
            outputs: TokenMap::default(),
            first: TokenMap::default(),
            files: Vec::new(),
            strings: Interner::default(),
            details: HashMap::new(),
            issues: BTreeMap::new(),
            echoed: Default::default(),
            inputs: 0,
            elements: 0,
        }
    }

    /// Merges one input's check, in the batch's input order. `output_name` is the name its
    /// output was written under (`None` when nothing was written: a duplicate, an image held
    /// back — its identifiers still count).
    pub fn commit(&mut self, output_name: Option<&str>, check: FileCheck) {
        let n = self.patients.len() as u32;
        let p = *self.patients.entry(check.patient).or_insert(n);
        if !check.harvest.is_empty() {
            self.inputs += 1;
        }
        self.echoed.extend(check.echoed.iter().map(|t| (p, *t)));
        for h in check.harvest {
            let source = self.strings.id(&h.source);
            let entry = self.harvest.entry((p, h.token));
            let e = entry.or_insert_with(|| HarvestEntry {
                class: h.class,
                domain: h.domain,
                weak: h.weak,
                text: h.text.clone().into_boxed_str(),
                source,
            });
            if e.weak && !h.weak {
                e.weak = false;
                e.class = h.class;
            }
        }
        let (Some(name), true) = (output_name, check.scanned) else {
            return;
        };
        let file = self.files.len() as u32;
        self.files.push(name.into());
        self.elements += check.elements;
        let mut tokens = check.tokens;
        for (norm, s, e) in name_tokens(name) {
            let token = self.hasher.hash(Domain::Word, &norm);
            if check.written.binary_search(&token).is_ok() {
                continue;
            }
            tokens.push(OutToken {
                token,
                domain: Domain::Word,
                path: u32::MAX,
                kind: MatchKind::Token,
                place: Place::Name,
                offset: s as u32,
                length: (e - s) as u32,
                kept: false,
                retained: false,
                coded: false,
                partial: false,
                value: 0,
            });
        }
        let name_path = (self.strings.id(""), *b"  ");
        let paths: Vec<(u32, [u8; 2])> = check
            .paths
            .iter()
            .map(|(p, vr)| {
                let vr = vr.as_bytes().first_chunk::<2>().copied().unwrap_or(*b"  ");
                (self.strings.id(p), vr)
            })
            .collect();
        for t in tokens {
            let (path, vr) = paths.get(t.path as usize).copied().unwrap_or(name_path);
            let entry = OutEntry {
                file,
                path,
                vr,
                domain: t.domain,
                kind: t.kind,
                place: t.place,
                kept: t.kept,
                retained: t.retained,
                coded: t.coded,
                partial: t.partial,
                offset: t.offset,
                length: t.length,
                count: 1,
            };
            self.first.entry(t.token).or_insert(p);
            match self.outputs.get_mut(&(p, t.token)) {
                Some(old) if old.file == file => {
                    if entry.rank() > old.rank() {
                        *old = OutEntry {
                            count: old.count,
                            ..entry
                        };
                    }
                }
                Some(old) => {
                    old.count += 1;
                    if entry.rank() > old.rank() {
                        *old = OutEntry {
                            count: old.count,
                            ..entry
                        };
                    }
                }
                None => {
                    self.outputs.insert((p, t.token), entry);
                }
            }
        }
        for d in check.details {
            if self
                .outputs
                .get(&(p, d.token))
                .is_some_and(|o| o.file == file)
            {
                self.details
                    .insert((p, d.token), (d.matched_text, d.context));
            }
        }
        for issue in check.issues {
            let key = (path::pattern(&issue.path), issue.check, issue.flag);
            match self.issues.get_mut(&key) {
                Some(v) => v.2 += 1,
                None => {
                    self.issues.insert(key, (issue, file, 1));
                }
            }
        }
    }

    /// Intersects each patient's identifiers with the patient's outputs, then with everyone's,
    /// and lists every finding by severity.
    pub fn finish(self) -> Report {
        let mut findings = Vec::new();
        for ((p, token), h) in &self.harvest {
            if h.class == IdClass::FileName && self.echoed.contains(&(*p, *token)) {
                continue;
            }
            let own = self.outputs.get(&(*p, *token));
            let (o, same) = match own {
                Some(o) => (o, true),
                None => match self
                    .first
                    .get(token)
                    .and_then(|q| self.outputs.get(&(*q, *token)))
                {
                    Some(o) => (o, false),
                    None => continue,
                },
            };
            let Some(severity) = severity(h, o, same) else {
                continue;
            };
            let check = if o.place == Place::Name {
                Check::Filename
            } else if o.place == Place::Meta {
                Check::FileMeta
            } else if h.domain == Domain::Date {
                Check::OriginalDate
            } else if h.class == IdClass::Uid {
                Check::OriginalUid
            } else {
                Check::IdentifierMatch
            };
            let name_part = h.weak && matches!(h.class, IdClass::PatientName | IdClass::PersonName);
            let kind = match o.kind {
                MatchKind::Token | MatchKind::Exact if name_part => MatchKind::NamePart,
                k => k,
            };
            let rule = rule_id(h, o, same, severity);
            let file = &self.files[o.file as usize];
            let sop = sop_of_name(file);
            let detail = same.then(|| self.details.get(&(*p, *token))).flatten();
            findings.push(Finding {
                id: String::new(),
                severity,
                check,
                output_file: file.to_string(),
                sop_instance_uid_out: sop,
                element_path: self.strings.all[o.path as usize].clone(),
                vr: String::from_utf8_lossy(&o.vr).trim().to_string(),
                identifier_class: Some(h.class),
                flag: None,
                source_path_pattern: self.strings.all[h.source as usize].clone(),
                match_kind: Some(kind),
                match_offset: o.offset,
                match_length: o.length,
                match_hmac8: hmac8(&self.key, &h.text),
                rule_id: rule.to_string(),
                recommendation: recommendation(rule, severity).to_string(),
                places: o.count,
                matched_text: h.text.to_string(),
                context: detail.map(|d| d.1.clone()).unwrap_or_default(),
            });
        }
        for ((_, check, flag), (issue, file, count)) in &self.issues {
            let name = &self.files[*file as usize];
            let sop = sop_of_name(name);
            findings.push(Finding {
                id: String::new(),
                severity: issue.severity,
                check: *check,
                output_file: name.to_string(),
                sop_instance_uid_out: sop,
                element_path: issue.path.clone(),
                vr: issue.vr.clone(),
                identifier_class: None,
                flag: *flag,
                source_path_pattern: String::new(),
                match_kind: None,
                match_offset: issue.offset,
                match_length: issue.length,
                match_hmac8: issue.hmac8.clone(),
                rule_id: match flag {
                    Some(f) => format!("pattern.{}", f.as_str().to_ascii_lowercase()),
                    None => "private.not_safe".into(),
                },
                recommendation: match check {
                    Check::PrivateNotSafe => {
                        "a private element not on the active safe-private list was kept: remove it or vouch for it in the safe-private table"
                    }
                    _ => "free text shaped like an identifier: check it and clean it if it identifies",
                }
                .to_string(),
                places: *count,
                matched_text: issue.matched_text.clone(),
                context: issue.context.clone(),
            });
        }
        // Patients who share an identifier (a test suite's name) found at one place: one finding.
        let mut seen = std::collections::HashSet::new();
        findings.retain(|f| {
            seen.insert((
                f.match_hmac8.clone(),
                f.output_file.clone(),
                f.element_path.clone(),
                f.check,
                f.severity,
            ))
        });
        findings.sort_by(|a, b| {
            (
                a.severity,
                &a.output_file,
                &a.element_path,
                a.check,
                &a.match_hmac8,
            )
                .cmp(&(
                    b.severity,
                    &b.output_file,
                    &b.element_path,
                    b.check,
                    &b.match_hmac8,
                ))
        });
        for (i, f) in findings.iter_mut().enumerate() {
            f.id = format!("F{:06}", i + 1);
        }
        let count = |s| findings.iter().filter(|f| f.severity == s).count() as u64;
        let summary = VerifySummary {
            files_checked: self.files.len() as u64,
            inputs_harvested: self.inputs,
            elements_checked: self.elements,
            identifiers: self.harvest.len() as u64,
            output_tokens: self.outputs.len() as u64,
            critical: count(Severity::Critical),
            high: count(Severity::High),
            review: count(Severity::Review),
        };
        Report { findings, summary }
    }
}

/// How serious a harvested identifier found in an output is, by where it stands and whose it
/// is (`same`: the patient's own output); `None` when it is no finding (a word of a name found
/// only inside another word).
/// The tokens an output's name (and zip path) is checked with: each word of each folder and of
/// the file name, and each of them whole (`SMITH_JOHN` → `SMITH`, `JOHN`, `SMITHJOHN`), with
/// their byte ranges. (Not runs across folders: the remapped UIDs there are unique per file.)
fn name_tokens(name: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for part in name.split('/') {
        let w = crate::review::tokens::Words::of(part.strip_suffix(".dcm").unwrap_or(part));
        for (i, span) in w.spans.iter().enumerate() {
            out.push((w.norm(i).to_string(), start + span.start, start + span.end));
        }
        if w.spans.len() > 1 {
            out.push((w.buf.clone(), start, start + part.len()));
        }
        start += part.len() + 1;
    }
    out
}

/// The SOP Instance UID an output's name carries: its file name without `.dcm` and without the
/// digest an alternate name adds (see [`crate::output::names`]).
fn sop_of_name(name: &str) -> String {
    let file = name.rsplit('/').next().unwrap_or(name);
    let stem = file.strip_suffix(".dcm").unwrap_or(file);
    stem.split('_').next().unwrap_or(stem).to_string()
}

/// An identifier of digits only, fewer than six: numbers this short recur by chance.
fn short_number(text: &str) -> bool {
    text.len() < 6 && text.bytes().all(|b| b.is_ascii_digit())
}

fn severity(h: &HarvestEntry, o: &OutEntry, same: bool) -> Option<Severity> {
    use Severity::*;
    if o.place == Place::Name {
        return Some(Critical);
    }
    if o.retained {
        return Some(Review);
    }
    if o.partial && h.weak {
        return None;
    }
    if h.domain == Domain::Date {
        return Some(match (o.kind, o.kept, same) {
            // A date element the engine wrote (shifted or dummy) that equals an original date.
            (MatchKind::Exact, false, _) => Review,
            (MatchKind::Exact, true, _) => Critical,
            (_, _, true) => Critical,
            _ => Review,
        });
    }
    Some(match h.class {
        // A word alone: damning where the engine cleaned the value and left it.
        _ if h.weak => {
            if same && !o.kept && !o.coded {
                Critical
            } else {
                High
            }
        }
        // The site, not the patient: kept values (a manufacturer named like the institution)
        // are for review by a person.
        IdClass::Institution | IdClass::Device => {
            if same && !o.kept {
                Critical
            } else {
                High
            }
        }
        // Another patient's ID as a code of a coding scheme (`123456`): a coincidence to look at.
        IdClass::PatientId | IdClass::OtherId | IdClass::AccessionNumber if !same && o.coded => {
            High
        }
        // A short number (one patient's study numbered 10000) found whole in a kept value of
        // another patient's file is as likely a count or a code: a person decides.
        IdClass::PatientId | IdClass::OtherId | IdClass::AccessionNumber
            if o.kept && !same && short_number(&h.text) =>
        {
            High
        }
        IdClass::PatientId | IdClass::OtherId | IdClass::AccessionNumber | IdClass::Uid => Critical,
        _ if same => Critical,
        _ => High,
    })
}

fn rule_id(h: &HarvestEntry, o: &OutEntry, same: bool, s: Severity) -> &'static str {
    match (h.domain, h.class) {
        _ if o.place == Place::Name => "verify.output_name",
        _ if o.retained => "verify.in_retained_element",
        (Domain::Date, _) if s == Severity::Review => "verify.date_coincides",
        (Domain::Date, _) => "verify.original_date",
        (_, IdClass::Uid) => "verify.original_uid",
        (_, IdClass::FileName) => "verify.input_name",
        _ if !same => "verify.other_patient",
        _ if h.weak && o.coded => "verify.word_in_coded_value",
        _ if h.weak => "verify.word",
        _ => "verify.identifier",
    }
}

fn recommendation(rule: &str, s: Severity) -> &'static str {
    match rule {
        "verify.output_name" => "an identifier of the inputs is in the output's name",
        "verify.in_retained_element" => {
            "an element the options retain holds a value equal to an identifier: check it"
        }
        "verify.date_coincides" => {
            "a date the engine wrote equals an original date: check that it is not the original"
        }
        _ if s == Severity::Critical => {
            "an identifier of the inputs is in this output: remove or clean the element before release"
        }
        "verify.other_patient" => "another patient's identifier is in this output: check it",
        _ => "an identifier is in a value the profile keeps as it came: check it",
    }
}

/// One finding. Serialised without its text: `matched_text` and `context` (PHI) go only to
/// [`Report::detail_phi_csv`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    pub check: Check,
    pub output_file: String,
    pub sop_instance_uid_out: String,
    pub element_path: String,
    pub vr: String,
    pub identifier_class: Option<IdClass>,
    /// The pattern flag, for a PATTERN finding.
    pub flag: Option<Flag>,
    pub source_path_pattern: String,
    pub match_kind: Option<MatchKind>,
    pub match_offset: u32,
    pub match_length: u32,
    pub match_hmac8: String,
    pub rule_id: String,
    pub recommendation: String,
    /// How many outputs hold it (the first is named).
    pub places: u32,
    #[serde(skip)]
    pub matched_text: String,
    #[serde(skip)]
    pub context: String,
}

/// The totals of a verification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifySummary {
    pub files_checked: u64,
    pub inputs_harvested: u64,
    pub elements_checked: u64,
    pub identifiers: u64,
    /// Distinct (patient, token) places kept from the outputs: what the batch's memory grows
    /// with.
    pub output_tokens: u64,
    pub critical: u64,
    pub high: u64,
    pub review: u64,
}

/// The result of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub summary: VerifySummary,
}

impl Finding {
    /// The identifier class it matched, or the pattern's flag.
    pub fn class(&self) -> &'static str {
        match (self.identifier_class, self.flag) {
            (Some(c), _) => c.as_str(),
            (None, Some(flag)) => flag.as_str(),
            _ => "",
        }
    }
}

/// The shareable report's name.
pub const NO_PHI_CSV: &str = "residual_phi-noPHI.csv";
/// The detail file's name (PHI: local only).
pub const DETAIL_PHI_CSV: &str = "residual_phi-detail-PHI.csv";

const COLUMNS: [&str; 16] = [
    "finding_id",
    "severity",
    "check",
    "output_file",
    "sop_instance_uid_out",
    "element_path",
    "vr",
    "identifier_class",
    "source_path_pattern",
    "match_kind",
    "match_offset",
    "match_length",
    "match_hmac8",
    "rule_id",
    "recommendation",
    "places",
];

fn csv_text(rows: impl FnOnce(&mut csv::Writer<&mut Vec<u8>>) -> csv::Result<()>) -> String {
    let mut buf = Vec::new();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut buf);
        // Writing to memory cannot fail; a failure would only truncate the text.
        let _ = rows(&mut w).and_then(|_| w.flush().map_err(csv::Error::from));
    }
    String::from_utf8_lossy(&buf).into_owned()
}

impl Report {
    /// Whether any finding is critical (a release is blocked).
    pub fn has_critical(&self) -> bool {
        self.summary.critical > 0
    }

    /// What the final review marks: per element path pattern, each finding's class with the
    /// text it matched (held in memory only; the final review prints the class, never the text).
    pub fn marks(&self) -> ResidualMarks {
        let mut marks = ResidualMarks::default();
        for f in &self.findings {
            marks.add(path::pattern(&f.element_path), f.class(), &f.matched_text);
        }
        marks
    }

    /// `residual_phi-noPHI.csv`: shareable, no identifying text (places, classes and keyed
    /// codes). Two comment lines (its name, the totals), then the header and one row per finding.
    pub fn no_phi_csv(&self) -> String {
        let s = &self.summary;
        let mut out = format!(
            "# {NO_PHI_CSV}: residual-PHI verification, shareable (no identifying text)\r\n\
             # files checked: {}, elements checked: {}, identifiers harvested: {}, findings: {} critical, {} high, {} review\r\n",
            s.files_checked, s.elements_checked, s.identifiers, s.critical, s.high, s.review
        );
        out.push_str(&csv_text(|w| {
            w.write_record(COLUMNS)?;
            for f in &self.findings {
                let class = f.class();
                w.write_record([
                    f.id.as_str(),
                    f.severity.as_str(),
                    f.check.as_str(),
                    &f.output_file,
                    &f.sop_instance_uid_out,
                    &f.element_path,
                    &f.vr,
                    class,
                    &f.source_path_pattern,
                    f.match_kind.map_or("", MatchKind::as_str),
                    &f.match_offset.to_string(),
                    &f.match_length.to_string(),
                    &f.match_hmac8,
                    &f.rule_id,
                    &f.recommendation,
                    &f.places.to_string(),
                ])?;
            }
            Ok(())
        }));
        out
    }

    /// `residual_phi-detail-PHI.csv`: the matched text and its context for each finding (PHI:
    /// keep it local, like the linkage files). Values are wrapped `<…>`.
    pub fn detail_phi_csv(&self) -> String {
        let mut out = format!("# {DETAIL_PHI_CSV}: CONTAINS PHI - keep local, never share\r\n");
        out.push_str(&csv_text(|w| {
            w.write_record(["finding_id", "matched_text", "context"])?;
            for f in &self.findings {
                let wrap = |s: &str| {
                    if s.is_empty() {
                        String::new()
                    } else {
                        format!("<{s}>")
                    }
                };
                w.write_record([&f.id, &wrap(&f.matched_text), &wrap(&f.context)])?;
            }
            Ok(())
        }));
        out
    }

    /// Lines for a terminal: the totals, then up to `max` critical and high findings (no PHI).
    pub fn summary_lines(&self, max: usize) -> Vec<String> {
        let s = &self.summary;
        let mut lines = vec![format!(
            "residual-PHI verification: {} outputs, {} elements checked, {} identifiers from {} inputs, {} output tokens: {} critical, {} high, {} review",
            s.files_checked,
            s.elements_checked,
            s.identifiers,
            s.inputs_harvested,
            s.output_tokens,
            s.critical,
            s.high,
            s.review
        )];
        let shown: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Review)
            .collect();
        for f in shown.iter().take(max) {
            let what = match (f.identifier_class, f.flag) {
                (Some(c), _) => c.as_str(),
                (None, Some(flag)) => flag.as_str(),
                _ => "",
            };
            lines.push(format!(
                "  {:<8} {} {} {} {}{} ({}{})",
                f.severity.as_str(),
                f.check.as_str(),
                what,
                f.output_file,
                f.element_path,
                if f.places > 1 {
                    format!(" and {} more", f.places - 1)
                } else {
                    String::new()
                },
                f.match_kind.map_or("", MatchKind::as_str),
                if f.match_hmac8.is_empty() {
                    String::new()
                } else {
                    format!(" {}", f.match_hmac8)
                },
            ));
        }
        if shown.len() > max {
            lines.push(format!("  ... and {} more", shown.len() - max));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_all_digit_identifiers_count_as_short_numbers() {
        assert!(short_number("10000") && short_number("7"));
        assert!(!short_number("100000") && !short_number("A1000") && !short_number("12-34"));
    }
}
