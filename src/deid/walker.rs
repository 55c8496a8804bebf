//! The walker that applies the profile to every element of a data set, at every depth.
//!
//! Each element gets exactly one action code (after options and the IOD have been consulted) and
//! the code is recorded with the element's path for the audit. Sequences that are kept, listed or
//! not, have their items processed with the same rules as the top level.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::output::audit::{ActionLog, Applied};

use crate::deid::clean::Identifiers;
use crate::deid::dates;
use crate::deid::iod::{self, IodTypes};
use crate::deid::key::{ProjectKey, base32};
use crate::deid::overrides::{Decision, Overrides};
use crate::deid::profile::{Action, Options, Profile, ProfileOption};
use crate::deid::safe_private::{self, PrivateDisposition, PrivateEntry, SafePrivate};
use crate::deid::sr::SrRules;
use crate::deid::uids;
use crate::dicom::charset::CharacterSet;
use crate::dicom::model::{
    Element, Encoding, Item, Tag, TagExt, Value, Vr, pad_text, split_values, tags, trim_text,
};
use crate::dicom::path;
use crate::review::elements;

/// Context shared by the processing of sequence items.
#[derive(Debug, Clone, Copy, Default)]
struct Mode {
    /// Inside a Content Sequence under Clean Structured Content.
    sr_clean: bool,
    /// Inside a Graphic Annotation Sequence under Clean Graphics.
    graphics: bool,
}

/// Applies a profile to one data set.
pub(crate) struct Walker<'c> {
    pub key: &'c ProjectKey,
    pub opts: &'c Options,
    pub profile: &'c Profile,
    pub safe: &'c SafePrivate,
    pub iods: &'c IodTypes,
    pub sr: &'c SrRules,
    pub sop_class: String,
    /// Days to shift dates by (only used under Modified Dates).
    pub shift: i64,
    /// The data set is big endian (binary values are in that byte order).
    pub big_endian: bool,
    pub ids: Identifiers,
    pub report: ActionLog,
    /// Original → new UIDs (linkage data: PHI, never part of the report).
    pub uid_pairs: BTreeMap<String, String>,
    /// The object lists the instances it references in a Common Instance Reference module
    /// (PS3.3 C.12.2), which must agree with the reference sequences: X/Z/U* then keeps them
    /// with their UIDs replaced, the choice the profile gives for conformance.
    pub lists_references: bool,
    /// The curator's decisions from a pre-review, which take precedence over the profile.
    pub overrides: Option<&'c Overrides>,
}

enum ItemOutcome {
    Keep,
    Remove,
}

impl<'c> Walker<'c> {
    /// Processes a whole data set (the top level).
    pub fn run(&mut self, dataset: &mut Item<'_>, charset: &CharacterSet) {
        self.lists_references = [
            tags::REFERENCED_SERIES_SEQUENCE,
            tags::STUDIES_CONTAINING_OTHER_REFERENCED_INSTANCES_SEQUENCE,
        ]
        .iter()
        .any(|t| dataset.get(*t).is_some());
        self.process_item(dataset, None, "", charset, Mode::default());
    }

    fn process_item<'a>(
        &mut self,
        item: &mut Item<'a>,
        parent: Option<Tag>,
        path: &str,
        parent_cs: &CharacterSet,
        mode: Mode,
    ) -> ItemOutcome {
        let cs = CharacterSet::from_item(item, parent_cs);
        let creators = safe_private::creators(item);
        let mut handled = None;
        if mode.sr_clean {
            match self.content_item(item, path, &cs) {
                Some(None) => return ItemOutcome::Remove,
                Some(Some(tag)) => handled = Some(tag),
                None => {}
            }
        }
        let old = std::mem::take(&mut item.elements);
        let mut out = Vec::with_capacity(old.len());
        let mut used_blocks: HashSet<(u16, u8)> = HashSet::new();
        for e in old {
            if Some(e.tag) == handled || e.tag.is_private_creator() {
                out.push(e);
                continue;
            }
            let p = element_path(path, e.tag, &creators);
            let kept = if let Some(d) = self.decision(&e, &p, &cs) {
                self.overridden(e, d, parent, &p, &cs, mode)
            } else if e.tag.is_private() {
                self.private_element(e, &p, &cs, mode)
            } else {
                self.standard_element(e, parent, &p, &cs, mode)
            };
            if let Some(k) = kept {
                if k.tag.is_private() {
                    used_blocks.insert((k.tag.group(), (k.tag.element() >> 8) as u8));
                }
                out.push(k);
            }
        }
        // A creator element stays only while its block still holds something.
        let mut result = Vec::with_capacity(out.len());
        for e in out {
            if e.tag.is_private_creator() {
                let block = (e.tag.group(), e.tag.element() as u8);
                let p = element_path(path, e.tag, &creators);
                if !used_blocks.contains(&block) {
                    self.report.note(&p, Applied::X);
                    continue;
                }
                self.report.note(&p, Applied::K);
            }
            result.push(e);
        }
        item.elements = result;
        ItemOutcome::Keep
    }

    /// Handles the value of an SR content item under Clean Structured Content. Returns
    /// `Some(None)` when the whole item must go, `Some(Some(tag))` when its value element was
    /// handled, `None` when the item is not a content item with a cleanable value.
    fn content_item(
        &mut self,
        item: &mut Item<'_>,
        path: &str,
        cs: &CharacterSet,
    ) -> Option<Option<Tag>> {
        let c = crate::deid::sr::content_item(item)?;
        let (value_type, value_tag) = (c.value_type, c.value_tag);
        let (scheme, code) = c.concept.unwrap_or_default();
        let (action, by) = self.sr.action(&scheme, &code, &value_type, self.opts);
        if action == Action::X {
            self.report.note(path, Applied::X);
            return Some(None);
        }
        let e = item.remove(value_tag)?;
        let p = path::element(path, value_tag, None);
        let action = match (action, value_type.as_str()) {
            (Action::C, "PNAME") => Action::D,
            (Action::C, "DATE" | "DATETIME" | "TIME")
                if by != Some(ProfileOption::RetainLongModifiedDates) =>
            {
                Action::D
            }
            (a, _) if a.is_compound() => iod::resolve(a, iod::Lookup::UnknownIod),
            (a, _) => a,
        };
        if let Some(mut e) = self.apply(e, action, by, &p, cs, Mode::default()) {
            // A TEXT item's Text Value is Type 1C: cleaned down to nothing, it gets a dummy.
            if e.raw().is_some_and(|r| trim_text(e.vr, r).is_empty()) && value_type == "TEXT" {
                e = self.dummy(e);
            }
            item.put(e);
        }
        Some(Some(value_tag))
    }

    /// A private data element: removed unless Retain Safe Private is in force and a private
    /// dictionary vouches for it ([`SafePrivate::decide`], the same answer a report shows).
    fn private_element<'a>(
        &mut self,
        e: Element<'a>,
        path: &str,
        cs: &CharacterSet,
        mode: Mode,
    ) -> Option<Element<'a>> {
        match self.private_rule() {
            // A user's profile that keeps every private element.
            Action::K => self.keep(e, false, path, cs, mode),
            Action::C => match self.safe.decide(&path::signature(path), e.vr) {
                Some(entry) => self.private_disposition(e, entry, path, cs, mode),
                None => self.remove(path),
            },
            _ => self.remove(path),
        }
    }

    /// A standard element inside a kept private sequence that the private dictionary removes
    /// at that nesting (Posda lists, say, `(0009,"GEIIS",10)[<0>](0028,0002)`). Otherwise the
    /// profile decides, as for any standard element, so a dictionary can only remove more.
    fn removed_inside_private(&self, path: &str, vr: Vr) -> bool {
        // Only private levels are written with a quoted creator.
        path.contains('"')
            && self.private_rule() == Action::C
            && self
                .safe
                .decide(&path::signature(path), vr)
                .is_some_and(|d| d.disposition.removes())
    }

    /// The action of the profile's private-attributes rule under the options in force.
    fn private_rule(&self) -> Action {
        self.profile
            .private_rule()
            .map_or(Action::X, |r| r.resolve(self.opts).0)
    }

    /// Applies a dictionary's disposition to a private element, reading a UN value with the
    /// dictionary's VR (and writing it back as UN).
    fn private_disposition<'a>(
        &mut self,
        e: Element<'a>,
        entry: PrivateEntry,
        path: &str,
        cs: &CharacterSet,
        mode: Mode,
    ) -> Option<Element<'a>> {
        use PrivateDisposition as P;
        let original_vr = e.vr;
        let mut e = e;
        // A safe private sequence that arrived as UN bytes (a system that did not know it):
        // its items are read (implicit VR little endian, PS3.5 6.2.2) and processed like any
        // sequence's, so the UIDs, dates and private elements inside are handled; kept whole,
        // they would carry every original value. Unreadable, it goes.
        if let (Vr::UN, Some(Vr::SQ), Value::Bytes(raw)) = (e.vr, entry.vr, &e.value) {
            let items = match raw {
                Cow::Borrowed(b) => crate::dicom::read::un_sequence(b, e.tag).ok(),
                Cow::Owned(_) => None,
            };
            let Some(items) = items else {
                self.report.warn(
                    "a safe private sequence stored as UN could not be read as items and was removed",
                );
                return self.remove(path);
            };
            e.value = Value::Items(items);
        } else if let (Vr::UN, Some(vr), Value::Bytes(_)) = (e.vr, entry.vr, &e.value) {
            e.vr = vr;
        }
        let mut done = match entry.disposition {
            P::Keep => self.keep(e, false, path, cs, mode),
            P::HashUid => self.hash_private_uid(e, original_vr, path),
            P::ShiftDate | P::ShiftIntegerDate => {
                self.shift_private_date(e, entry.disposition, path)
            }
            P::Delete | P::NotApplicable | P::Undecided => self.remove(path),
        }?;
        if matches!(done.value, Value::Bytes(_)) {
            done.vr = original_vr;
        }
        Some(done)
    }

    /// `h`: the UIDs of a private element remapped like every other UID (kept as they are under
    /// Retain UIDs). An element whose VR cannot hold a remapped UID (binary, or text of fewer
    /// than 64 characters such as SH) is removed.
    fn hash_private_uid<'a>(
        &mut self,
        e: Element<'a>,
        written: Vr,
        path: &str,
    ) -> Option<Element<'a>> {
        if !matches!(e.vr, Vr::UI | Vr::LO | Vr::UC) || !matches!(e.value, Value::Bytes(_)) {
            return self.remove(path);
        }
        if self.opts.retain_uids {
            self.report.note(path, Applied::K);
            return Some(e);
        }
        self.report.note(path, Applied::U);
        // A UID never ends in a space or NUL, so such a last byte is padding. It follows the VR
        // the element is written with: UI's NUL, also when no VR is written (UN, implicit VR:
        // readers type the element by their dictionary, where a UID is UI); a space for a UID
        // that the file itself labels LO or UC.
        let pad = if matches!(written, Vr::LO | Vr::UC) {
            b' '
        } else {
            0
        };
        let mut out = self.remap_uids(e);
        if let Value::Bytes(bytes) = &mut out.value
            && let Some(last) = bytes.to_mut().last_mut()
            && matches!(*last, 0 | b' ')
        {
            *last = pad;
        }
        Some(out)
    }

    /// `o` and `oi`: a private date, shifted under Modified Dates, kept under Full Dates, removed
    /// otherwise; removed too when a value does not read as a date.
    fn shift_private_date<'a>(
        &mut self,
        e: Element<'a>,
        disposition: PrivateDisposition,
        path: &str,
    ) -> Option<Element<'a>> {
        if self.opts.retain_long_full_dates {
            self.report.note(path, Applied::K);
            return Some(e);
        }
        if !self.opts.retain_long_modified_dates {
            return self.remove(path);
        }
        let days = self.shift;
        let shifted = match (disposition, e.vr) {
            (PrivateDisposition::ShiftDate, vr) if vr.is_text() || is_opaque_bytes(vr) => {
                map_values(&e, |v| dates::shift_text_date(v, days))
            }
            (PrivateDisposition::ShiftIntegerDate, vr) if vr.is_text() => {
                map_values(&e, |v| dates::shift_epoch_text(v, days))
            }
            // Binary numbers are read little endian; a big-endian file's are removed rather
            // than guessed at (and a UN value's byte order there is unknown anyway).
            (PrivateDisposition::ShiftIntegerDate, vr) if !self.big_endian => e
                .raw()
                .and_then(|raw| dates::shift_epoch_binary(vr, raw, days))
                .map(|b| Element::bytes(e.tag, vr, b)),
            _ => None,
        };
        match shifted {
            Some(s) => {
                self.report.note(path, Applied::C);
                Some(s)
            }
            None => {
                self.report
                    .warn("a private date that could not be read was removed");
                self.remove(path)
            }
        }
    }

    /// Removes an element (action X).
    fn remove<'a>(&mut self, path: &str) -> Option<Element<'a>> {
        self.report.note(path, Applied::X);
        None
    }

    fn standard_element<'a>(
        &mut self,
        e: Element<'a>,
        parent: Option<Tag>,
        path: &str,
        cs: &CharacterSet,
        mode: Mode,
    ) -> Option<Element<'a>> {
        let tag = e.tag;
        if (mode.graphics && tag == tags::TEXT_OBJECT_SEQUENCE)
            || never_kept(tag)
            || self.removed_inside_private(path, e.vr)
        {
            self.report.note(path, Applied::X);
            return None;
        }
        let rule_tag = rule_tag(tag);
        let Some(rule) = self.profile.rule(rule_tag) else {
            return self.keep(e, false, path, cs, mode);
        };
        let (mut action, by) = rule.resolve(self.opts);
        let resolve = |a: Action, w: &Self| {
            if a.is_compound() {
                iod::resolve(a, w.iods.lookup(&w.sop_class, parent, tag))
            } else {
                a
            }
        };
        // Modified Dates cleans dates by shifting; other temporal VRs it cannot shift fall back
        // to the Basic action (times of day and time zone offsets are kept).
        if action == Action::C
            && by == Some(ProfileOption::RetainLongModifiedDates)
            && !matches!(e.vr, Vr::DA | Vr::DT | Vr::TM | Vr::SH)
        {
            action = rule.basic;
        }
        let action = if action == Action::XZU && self.lists_references {
            Action::U
        } else {
            resolve(action, self)
        };
        let action = if action == Action::X && rule_tag == tag {
            self.required(parent, tag)
        } else {
            action
        };
        self.apply(e, action, by, path, cs, mode)
    }

    /// The curator's decision for this element's value, when the overrides name it.
    fn decision(&self, e: &Element<'_>, path: &str, cs: &CharacterSet) -> Option<Decision> {
        let overrides = self.overrides.filter(|o| !o.is_empty())?;
        let raw = e.raw()?;
        let pattern = path::pattern(path);
        let texts = if e.vr.is_text() {
            elements::render(e.tag, e.vr, raw, Encoding::EXPLICIT_LE, cs)
                .into_iter()
                .collect()
        } else {
            elements::binary_text(raw)
        };
        texts
            .iter()
            .find_map(|t| overrides.get(&pattern, t))
            .cloned()
    }

    /// Applies a curator's decision instead of the profile's rule. A removal still leaves what
    /// the IOD requires (a dummy or an empty value).
    fn overridden<'a>(
        &mut self,
        e: Element<'a>,
        decision: Decision,
        parent: Option<Tag>,
        path: &str,
        cs: &CharacterSet,
        mode: Mode,
    ) -> Option<Element<'a>> {
        self.report
            .warn("some values were decided by the curator's overrides (pre-review decisions)");
        let tag = e.tag;
        let remove = if tag.is_private() {
            Action::X
        } else {
            self.required(parent, tag)
        };
        match decision {
            Decision::Keep => self.keep(e, true, path, cs, mode),
            Decision::Clean if e.vr.is_text() => self.clean_text(e, path, cs),
            Decision::Clean | Decision::Remove => self.apply(e, remove, None, path, cs, mode),
            Decision::Blank => self.apply(e, Action::Z, None, path, cs, mode),
            Decision::Replace(text) if e.vr.is_text() => {
                let bytes = if e.vr.uses_character_set() {
                    cs.encode(&text)
                } else {
                    text.is_ascii().then(|| text.into_bytes())
                };
                let Some(bytes) = bytes else {
                    return self.apply(e, remove, None, path, cs, mode);
                };
                self.report.note(path, Applied::C);
                Some(Element::bytes(tag, e.vr, pad_text(e.vr, bytes)))
            }
            Decision::Replace(_) => self.apply(e, remove, None, path, cs, mode),
        }
    }

    /// What replaces removal of an attribute that the file's IOD requires where it stands:
    /// Type 1 gets a dummy value, Type 2 an empty one (PS3.15 E.1.1 asks that de-identification
    /// keep the object conformant; the attribute was present, so its condition held). Either
    /// way no original value remains. Unknown IODs and optional attributes are removed.
    fn required(&self, parent: Option<Tag>, tag: Tag) -> Action {
        match self.iods.lookup(&self.sop_class, parent, tag) {
            iod::Lookup::Type(iod::AttrType::One) => Action::D,
            iod::Lookup::Type(iod::AttrType::Two) => Action::Z,
            _ => Action::X,
        }
    }

    /// Applies a resolved action to an element the profile lists.
    fn apply<'a>(
        &mut self,
        e: Element<'a>,
        action: Action,
        by: Option<ProfileOption>,
        path: &str,
        cs: &CharacterSet,
        mode: Mode,
    ) -> Option<Element<'a>> {
        match action {
            Action::X => {
                self.report.note(path, Applied::X);
                None
            }
            Action::Z => {
                self.report.note(path, Applied::Z);
                Some(empty(e))
            }
            Action::D => {
                self.report.note(path, Applied::D);
                Some(self.dummy(e))
            }
            Action::U => {
                if matches!(e.value, Value::Items(_)) {
                    self.report.note(path, Applied::U);
                    return self.keep(e, false, path, cs, mode);
                }
                self.report.note(path, Applied::U);
                Some(self.remap_uids(e))
            }
            Action::K => self.keep(e, true, path, cs, mode),
            Action::C => self.clean(e, by, path, cs, mode),
            // Compound codes are resolved before apply; anything left is removed to be safe.
            _ => {
                self.report.note(path, Applied::X);
                None
            }
        }
    }

    /// Keeps an element: sequences have their items processed; unlisted UIDs are remapped and
    /// dates shifted under Modified Dates.
    fn keep<'a>(
        &mut self,
        mut e: Element<'a>,
        listed: bool,
        path: &str,
        cs: &CharacterSet,
        mode: Mode,
    ) -> Option<Element<'a>> {
        if let Value::Items(items) = &mut e.value {
            self.report.note(path, Applied::K);
            self.process_items(e.tag, items, path, cs, mode);
            return Some(e);
        }
        if e.vr == Vr::UI
            && !listed
            && !self.opts.retain_uids
            && !uids::is_class_uid_attribute(e.tag)
        {
            let before = e.raw().map(<[u8]>::to_vec);
            let e2 = self.remap_uids(e);
            let changed = before.as_deref() != e2.raw();
            self.report
                .note(path, if changed { Applied::U } else { Applied::K });
            return Some(e2);
        }
        if self.opts.retain_long_modified_dates && matches!(e.vr, Vr::DA | Vr::DT) {
            self.report.note(path, Applied::C);
            return self.shift_dates(e);
        }
        self.report.note(path, Applied::K);
        Some(e)
    }

    fn process_items(
        &mut self,
        tag: Tag,
        items: &mut Vec<Item<'_>>,
        path: &str,
        cs: &CharacterSet,
        mode: Mode,
    ) {
        let mut i = 0;
        let mut index = 0;
        while i < items.len() {
            let p = path::item(path, index);
            index += 1;
            match self.process_item(&mut items[i], Some(tag), &p, cs, mode) {
                ItemOutcome::Keep => i += 1,
                ItemOutcome::Remove => {
                    items.remove(i);
                }
            }
        }
    }

    fn clean<'a>(
        &mut self,
        e: Element<'a>,
        by: Option<ProfileOption>,
        path: &str,
        cs: &CharacterSet,
        mode: Mode,
    ) -> Option<Element<'a>> {
        if matches!(e.value, Value::Items(_)) {
            let mode = match by {
                Some(ProfileOption::CleanStructuredContent) => Mode {
                    sr_clean: true,
                    ..mode
                },
                Some(ProfileOption::CleanGraphics) => Mode {
                    graphics: true,
                    ..mode
                },
                _ => mode,
            };
            self.report.note(path, Applied::C);
            let mut e = e;
            if let Value::Items(items) = &mut e.value {
                self.process_items(e.tag, items, path, cs, mode);
            }
            return Some(e);
        }
        match (by, e.vr) {
            (Some(ProfileOption::RetainLongModifiedDates), Vr::DA | Vr::DT) => {
                self.report.note(path, Applied::C);
                self.shift_dates(e)
            }
            (Some(ProfileOption::RetainLongModifiedDates), _) => {
                self.report.note(path, Applied::K);
                Some(e)
            }
            (Some(ProfileOption::RetainDeviceIdentity), Vr::AE) => {
                self.report.note(path, Applied::C);
                Some(self.map_text_values(e, |key, v| {
                    format!("AE{}", base32(&key.mac("ae-title", v.as_bytes()), 14))
                }))
            }
            (_, Vr::UI) => {
                self.report.note(path, Applied::U);
                Some(self.remap_uids(e))
            }
            (_, vr) if vr.is_text() => self.clean_text(e, path, cs),
            _ => {
                // Binary data kept by a cleaning option (overlay bitmaps under Clean Graphics).
                self.report.note(path, Applied::C);
                Some(e)
            }
        }
    }

    /// Descriptor cleaning in the data set's character set; when the text cannot be decoded or
    /// re-encoded exactly the element is removed rather than guessed at.
    fn clean_text<'a>(
        &mut self,
        e: Element<'a>,
        path: &str,
        cs: &CharacterSet,
    ) -> Option<Element<'a>> {
        let raw = e.raw().unwrap_or_default();
        let trimmed = trim_text(e.vr, raw);
        let text = if e.vr.uses_character_set() {
            cs.decode(trimmed)
        } else {
            std::str::from_utf8(trimmed).ok().map(str::to_string)
        };
        let Some(text) = text else {
            self.report.note(path, Applied::X);
            self.report
                .warn("a descriptor could not be decoded in its character set and was removed");
            return None;
        };
        let cleaned = self.ids.clean(&text);
        if cleaned == text {
            self.report.note(path, Applied::C);
            return Some(e);
        }
        let bytes = if e.vr.uses_character_set() {
            cs.encode(&cleaned)
        } else {
            Some(cleaned.into_bytes())
        };
        let Some(bytes) = bytes else {
            self.report.note(path, Applied::X);
            self.report
                .warn("a cleaned descriptor could not be re-encoded and was removed");
            return None;
        };
        self.report.note(path, Applied::C);
        Some(Element::bytes(e.tag, e.vr, pad_text(e.vr, bytes)))
    }

    fn map_text_values<'a>(
        &self,
        e: Element<'a>,
        f: impl Fn(&ProjectKey, &str) -> String,
    ) -> Element<'a> {
        map_values(&e, |v| {
            Some(if v.is_empty() {
                String::new()
            } else {
                f(self.key, v)
            })
        })
        .unwrap_or(e)
    }

    /// Replaces every UID value of an element, recording original → new for the linkage.
    fn remap_uids<'a>(&mut self, e: Element<'a>) -> Element<'a> {
        map_values(&e, |v| Some(self.remap_uid(v))).unwrap_or(e)
    }

    fn remap_uid(&mut self, old: &str) -> String {
        let new = uids::remap(self.key, old);
        if new != old {
            self.uid_pairs.insert(old.to_string(), new.clone());
        }
        new
    }

    /// Shifts the dates of a DA or DT element; a value that is not a date gets a dummy date (the
    /// attribute may be required, so it is not removed).
    fn shift_dates<'a>(&mut self, e: Element<'a>) -> Option<Element<'a>> {
        let (shift, vr) = (self.shift, e.vr);
        let mut failed = false;
        let shifted = map_values(&e, |v| {
            let (r, dummy) = if vr == Vr::DA {
                (dates::shift_da(v, shift), "19000101")
            } else {
                (dates::shift_dt(v, shift), "19000101000000")
            };
            Some(r.unwrap_or_else(|| {
                failed = true;
                dummy.to_string()
            }))
        });
        if failed {
            self.report.warn(
                "a date that could not be read was replaced by a dummy date instead of shifted",
            );
        }
        Some(shifted.unwrap_or(e))
    }

    fn dummy<'a>(&mut self, e: Element<'a>) -> Element<'a> {
        if let Value::Items(items) = e.value {
            return Element {
                value: Value::Items(items.into_iter().map(|i| self.dummy_item(i)).collect()),
                ..e
            };
        }
        let text = |s: &str| Cow::Owned(pad_text(e.vr, s.as_bytes().to_vec()));
        let value = match (&e.value, e.vr) {
            (Value::Fragments(_), _) => Value::Fragments(vec![Cow::Owned(Vec::new())]),
            (_, Vr::UI) => {
                let original = e
                    .raw()
                    .map(|r| String::from_utf8_lossy(trim_text(Vr::UI, r)).into_owned());
                let new = match original.filter(|s| !s.is_empty()) {
                    Some(o) => self.remap_uid(&o),
                    None => uids::remap(self.key, &format!("dummy{}", e.tag)),
                };
                Value::Bytes(text(&new))
            }
            (_, Vr::SH) if e.tag == tags::TIMEZONE_OFFSET_FROM_UTC => Value::Bytes(text("+0000")),
            (_, Vr::DA) => Value::Bytes(text("19000101")),
            (_, Vr::DT) => Value::Bytes(text("19000101000000")),
            (_, Vr::TM) => Value::Bytes(text("000000")),
            (_, Vr::DS | Vr::IS) => Value::Bytes(text("0")),
            (_, Vr::AS) => Value::Bytes(text("000Y")),
            (_, Vr::UR) => Value::Bytes(text("urn:dummy")),
            (_, vr) if vr.is_text() => Value::Bytes(text("ANONYMOUS")),
            (_, vr) => Value::Bytes(Cow::Owned(vec![0u8; vr.binary_width().max(2)])),
        };
        Element {
            tag: e.tag,
            vr: e.vr,
            value,
            undefined_length: e.undefined_length,
        }
    }
}

impl Walker<'_> {
    /// A dummy sequence item (action D on a sequence): the item keeps its structure, so the
    /// Type 1 attributes the IOD needs inside it stay present, but nothing that could identify:
    /// every text, date, code, decimal and binary value becomes its VR's dummy (zeros for
    /// floats), instance UIDs are remapped as everywhere else, private elements go. Only the
    /// enumerated values that make the structure ([`STRUCTURAL_CODES`]: Value Type,
    /// Relationship Type, ...), class UIDs, integers and attribute tags are kept.
    fn dummy_item<'a>(&mut self, item: Item<'a>) -> Item<'a> {
        let elements = item
            .elements
            .into_iter()
            // A value of unknown structure (UN, or bytes where the dictionary has a sequence)
            // has no dummy that a reader would parse back the same way: it goes.
            .filter(|e| {
                let opaque = matches!(e.value, Value::Bytes(_)) && matches!(e.vr, Vr::SQ | Vr::UN);
                !(e.tag.is_private() || never_kept(e.tag) || opaque)
            })
            .map(|e| match &e.value {
                Value::Items(_) => self.dummy(e),
                _ if e.raw().is_some_and(|r| trim_text(e.vr, r).is_empty()) => e,
                _ if e.vr == Vr::UI && uids::is_class_uid_attribute(e.tag) => e,
                _ if e.vr == Vr::UI && !self.opts.retain_uids => self.remap_uids(e),
                _ if e.vr == Vr::UI => e,
                _ if e.vr == Vr::CS && STRUCTURAL_CODES.contains(&e.tag) => e,
                // Integers count, index and point (graphic points, frame and segment numbers);
                // measurements of the patient (age, weight in an SR) are decimals or floats.
                _ if matches!(
                    e.vr,
                    Vr::US | Vr::SS | Vr::UL | Vr::SL | Vr::UV | Vr::SV | Vr::IS | Vr::AT
                ) =>
                {
                    e
                }
                Value::Bytes(b) if matches!(e.vr, Vr::FL | Vr::FD | Vr::OF | Vr::OD) => {
                    Element::bytes(e.tag, e.vr, vec![0; b.len()])
                }
                _ => self.dummy(e),
            })
            .collect();
        Item { elements, ..item }
    }
}

/// Coded strings kept in a dummy item: enumerated values that say how the content is built
/// (SR content items, graphic objects), never what was found or who it was about.
const STRUCTURAL_CODES: [Tag; 12] = [
    tags::PIXEL_ORIGIN_INTERPRETATION,
    tags::RELATIONSHIP_TYPE,
    tags::VALUE_TYPE,
    tags::CONTINUITY_OF_CONTENT,
    tags::TEMPORAL_RANGE_TYPE,
    tags::GRAPHIC_TYPE,
    tags::GRAPHIC_FILLED,
    tags::GRAPHIC_ANNOTATION_UNITS,
    tags::BOUNDING_BOX_ANNOTATION_UNITS,
    tags::ANCHOR_POINT_ANNOTATION_UNITS,
    tags::ANCHOR_POINT_VISIBILITY,
    tags::BOUNDING_BOX_TEXT_HORIZONTAL_JUSTIFICATION,
];

/// Elements that carry nothing a recipient needs and may carry anything: Data Set Trailing
/// Padding, file meta or command elements misplaced in a data set, and the odd groups that
/// PS3.5 7.8.1 forbids (below 0008, and FFFF).
fn never_kept(tag: Tag) -> bool {
    let g = tag.group();
    tag == Tag(0xFFFC, 0xFFFC)
        || g == 0x0002
        || matches!(g, 0x0001 | 0x0003 | 0x0005 | 0x0007 | 0xFFFF)
}

/// The element with an empty value (a sequence with no items).
fn empty(e: Element<'_>) -> Element<'_> {
    match e.value {
        Value::Items(_) => Element {
            value: Value::Items(Vec::new()),
            ..e
        },
        Value::Fragments(_) => Element::bytes(e.tag, Vr::OB, Vec::new()),
        Value::Bytes(_) => Element::bytes(e.tag, e.vr, Vec::new()),
    }
}

/// The MIDI-B style path of an element inside `parent`.
/// The Table E.1-1 row that decides an attribute: the overlay planes follow the Overlay Data
/// rule as a whole (a plane without its data is meaningless, and its label and description are
/// free text); every other attribute its own row.
pub(crate) fn rule_tag(tag: Tag) -> Tag {
    let g = tag.group();
    if (0x6000..=0x601E).contains(&g) && g.is_multiple_of(2) && tag.element() != 0x4000 {
        Tag(g, 0x3000)
    } else {
        tag
    }
}

fn element_path(parent: &str, tag: Tag, creators: &HashMap<(u16, u8), String>) -> String {
    path::element(
        parent,
        tag,
        safe_private::address(tag, creators).map(|a| a.display()),
    )
}

/// The element with each of its values (backslash-separated, padding removed) replaced by `f`'s
/// answer, padded as its VR requires; values that all come out empty leave an empty value.
/// `None` when `f` rejects a value or the element has no primitive value.
fn map_values<'a>(
    e: &Element<'a>,
    mut f: impl FnMut(&str) -> Option<String>,
) -> Option<Element<'a>> {
    let values = split_values(e.vr, e.raw()?)
        .into_iter()
        .map(|v| f(&String::from_utf8_lossy(v)))
        .collect::<Option<Vec<String>>>()?;
    let joined = if values.iter().all(String::is_empty) {
        String::new()
    } else {
        values.join("\\")
    };
    Some(Element::bytes(
        e.tag,
        e.vr,
        pad_text(e.vr, joined.into_bytes()),
    ))
}

/// VRs whose bytes may hold text that the file did not label as such.
fn is_opaque_bytes(vr: Vr) -> bool {
    matches!(vr, Vr::UN | Vr::OB)
}
