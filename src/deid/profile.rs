//! The confidentiality profile as data: PS3.15 Table E.1-1 and its option columns.
//!
//! The built-in table (`profiles/basic_profile_e1_1.csv`) is parsed by the same code that reads a
//! user's own profile file, so a site can tighten or relax single rows without rebuilding.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use serde::Serialize;

pub use crate::deid::options::{Options, ProfileOption};
use crate::dicom::model::{Tag, TagExt};
use crate::error::{Error, Result};

/// An action code of Table E.1-1a.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Action {
    /// Replace with a non-empty dummy value valid for the VR.
    D,
    /// Replace with an empty value.
    Z,
    /// Remove.
    X,
    /// Keep (sequences still have their items processed).
    K,
    /// Clean: replace with values of similar meaning that carry no identifying information.
    C,
    /// Replace a UID with a consistent new one.
    U,
    /// Z unless D is needed for Type 1.
    ZD,
    /// X unless Z is needed for Type 2.
    XZ,
    /// X unless D is needed for Type 1.
    XD,
    /// X, Z or D by Type 3, 2 or 1.
    XZD,
    /// X, Z, or keep the sequence with its instance UIDs replaced, by Type 3, 2 or 1.
    XZU,
}

impl Action {
    /// Parses a code as printed in the standard (`X/Z/U*` included).
    pub fn parse(code: &str) -> Option<Action> {
        Some(match code.trim() {
            "D" => Action::D,
            "Z" => Action::Z,
            "X" => Action::X,
            "K" => Action::K,
            "C" => Action::C,
            "U" => Action::U,
            "Z/D" => Action::ZD,
            "X/Z" => Action::XZ,
            "X/D" => Action::XD,
            "X/Z/D" => Action::XZD,
            "X/Z/U*" | "X/Z/U" => Action::XZU,
            _ => return None,
        })
    }

    /// The code as the standard prints it.
    pub fn code(self) -> &'static str {
        match self {
            Action::D => "D",
            Action::Z => "Z",
            Action::X => "X",
            Action::K => "K",
            Action::C => "C",
            Action::U => "U",
            Action::ZD => "Z/D",
            Action::XZ => "X/Z",
            Action::XD => "X/D",
            Action::XZD => "X/Z/D",
            Action::XZU => "X/Z/U*",
        }
    }

    /// Whether the action depends on the attribute's Type in the IOD.
    pub fn is_compound(self) -> bool {
        matches!(
            self,
            Action::ZD | Action::XZ | Action::XD | Action::XZD | Action::XZU
        )
    }
}

/// Which attributes a rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagPattern {
    /// One tag.
    Exact(Tag),
    /// A repeating group such as `(60xx,3000)`: the tag matches when `tag & mask == value`.
    Masked { value: u32, mask: u32 },
    /// `(gggg,eeee) where gggg is odd`: every private attribute.
    Private,
}

impl TagPattern {
    /// Parses `0010 0010`-style 8-character patterns (`x` = any hex digit, `ggggeeee` = private).
    pub fn parse(s: &str) -> Option<TagPattern> {
        let s: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if s == "ggggeeee" {
            return Some(TagPattern::Private);
        }
        if s.len() != 8 {
            return None;
        }
        let mut value = 0u32;
        let mut mask = 0u32;
        for c in s.chars() {
            value <<= 4;
            mask <<= 4;
            if c != 'x' {
                value |= c.to_digit(16)?;
                mask |= 0xF;
            }
        }
        Some(if mask == u32::MAX {
            TagPattern::Exact(Tag::from_u32(value))
        } else {
            TagPattern::Masked { value, mask }
        })
    }

    /// Whether this pattern covers a tag. Repeating groups only match even groups.
    pub fn matches(&self, tag: Tag) -> bool {
        match *self {
            TagPattern::Exact(t) => t == tag,
            TagPattern::Masked { value, mask } => tag.as_u32() & mask == value && !tag.is_private(),
            TagPattern::Private => tag.is_private(),
        }
    }
}

/// One row of the profile table.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub pattern: TagPattern,
    pub name: String,
    pub keyword: String,
    pub basic: Action,
    /// The entry of each option column, in [`ProfileOption::ALL`] order.
    pub options: [Option<Action>; ProfileOption::COUNT],
}

impl Rule {
    /// The option column entry for an option.
    pub fn option(&self, o: ProfileOption) -> Option<Action> {
        self.options[o.index()]
    }

    /// The action for the options in force, and the option that decided it (if any); see
    /// [`pick_option`] for rows where several enabled options have entries.
    pub fn resolve(&self, opts: &Options) -> (Action, Option<ProfileOption>) {
        let entries = ProfileOption::ALL
            .into_iter()
            .filter_map(|o| self.option(o).map(|a| (o, a)));
        match pick_option(entries, opts) {
            Some((a, o)) => (a, Some(o)),
            None => (self.basic, None),
        }
    }
}

/// Which of a row's option entries applies when several enabled options have one (shared by
/// Table E.1-1 and Table E.3.4-1): the temporal options decide first (a shifted date wins over a
/// kept one), then K wins over C, then the first in column order.
pub fn pick_option(
    entries: impl IntoIterator<Item = (ProfileOption, Action)>,
    opts: &Options,
) -> Option<(Action, ProfileOption)> {
    let entries: Vec<(ProfileOption, Action)> =
        entries.into_iter().filter(|(o, _)| opts.has(*o)).collect();
    let temporal = |o: &ProfileOption| {
        matches!(
            o,
            ProfileOption::RetainLongFullDates | ProfileOption::RetainLongModifiedDates
        )
    };
    entries
        .iter()
        .find(|(o, _)| temporal(o))
        .or_else(|| entries.iter().find(|(_, a)| *a == Action::K))
        .or_else(|| entries.first())
        .map(|(o, a)| (*a, *o))
}

/// A whole profile: every rule, indexed for lookup.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Names the table and its edition in DeidentificationMethod.
    pub edition: String,
    pub rules: Vec<Rule>,
    exact: HashMap<Tag, usize>,
    patterns: Vec<usize>,
}

/// The built-in Table E.1-1 (PS3.15 2024c with the 2026c additions).
pub const BUILTIN_TABLE: &str = include_str!("../../profiles/basic_profile_e1_1.csv");
/// The edition named in DeidentificationMethod for the built-in table.
pub const BUILTIN_EDITION: &str = "DICOM PS3.15 2026c Table E.1-1";
/// Identifying attributes that Table E.1-1 does not list, applied after it (same format); see
/// `profiles/README.md`.
pub const BUILTIN_SUPPLEMENT: &str = include_str!("../../profiles/supplement.csv");

impl Profile {
    /// The built-in profile (Table E.1-1 and the supplement), parsed once and shared, so
    /// de-identifiers do not copy the table.
    pub fn builtin() -> Arc<Profile> {
        static BUILTIN: LazyLock<Arc<Profile>> = LazyLock::new(|| {
            let mut p = Profile::from_csv(BUILTIN_EDITION, BUILTIN_TABLE)
                .expect("the built-in profile table parses (checked by tests)");
            let extra = Profile::from_csv("supplement", BUILTIN_SUPPLEMENT)
                .expect("the built-in supplement parses (checked by tests)");
            p.extend(extra);
            Arc::new(p)
        });
        Arc::clone(&BUILTIN)
    }

    /// Parses a profile CSV with a header row. Required columns: `tag_pattern` (or `tag`) and
    /// `basic_profile`; the ten option columns are optional (missing = no entry), and `name`
    /// and `keyword` are carried for reports.
    pub fn from_csv(source_name: &str, text: &str) -> Result<Profile> {
        let err = |line: usize, reason: String| Error::Profile {
            source_name: source_name.to_string(),
            line,
            reason,
        };
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let headers = rdr
            .headers()
            .map_err(|e| err(1, format!("unreadable header: {e}")))?
            .clone();
        let col = |name: &str| headers.iter().position(|h| h.trim() == name);
        let tag_col = col("tag_pattern")
            .or_else(|| col("tag"))
            .ok_or_else(|| err(1, "no 'tag_pattern' or 'tag' column".into()))?;
        let basic_col =
            col("basic_profile").ok_or_else(|| err(1, "no 'basic_profile' column".into()))?;
        let name_col = col("name");
        let kw_col = col("keyword");
        let option_cols: Vec<Option<usize>> =
            ProfileOption::ALL.iter().map(|o| col(o.column())).collect();

        let mut rules = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| err(line, format!("unreadable row: {e}")))?;
            let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("").trim();
            let raw_tag = get(Some(tag_col));
            if raw_tag.is_empty() {
                continue;
            }
            let pattern = if raw_tag.contains("gggg") {
                Some(TagPattern::Private)
            } else {
                TagPattern::parse(raw_tag)
            }
            .ok_or_else(|| err(line, "tag pattern is not 8 hex digits or x".into()))?;
            let basic = Action::parse(get(Some(basic_col)))
                .ok_or_else(|| err(line, "unknown Basic action code".into()))?;
            let mut options = [None; ProfileOption::COUNT];
            for (k, c) in option_cols.iter().enumerate() {
                let v = get(*c);
                if !v.is_empty() {
                    options[k] = Some(Action::parse(v).ok_or_else(|| {
                        err(
                            line,
                            format!(
                                "unknown action code in column {}",
                                ProfileOption::ALL[k].column()
                            ),
                        )
                    })?);
                }
            }
            rules.push(Rule {
                pattern,
                name: get(name_col).to_string(),
                keyword: get(kw_col).to_string(),
                basic,
                options,
            });
        }
        if rules.is_empty() {
            return Err(err(1, "the table has no rows".into()));
        }
        let mut exact = HashMap::new();
        let mut patterns = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            match r.pattern {
                TagPattern::Exact(t) => {
                    exact.insert(t, i);
                }
                _ => patterns.push(i),
            }
        }
        Ok(Profile {
            edition: source_name.to_string(),
            rules,
            exact,
            patterns,
        })
    }

    /// Adds the rules of another table; its rows win for tags both list.
    pub fn extend(&mut self, other: Profile) {
        for r in other.rules {
            match r.pattern {
                TagPattern::Exact(t) => {
                    self.exact.insert(t, self.rules.len());
                }
                _ => self.patterns.push(self.rules.len()),
            }
            self.rules.push(r);
        }
    }

    /// The rule for a standard (even-group) tag, if any. Private tags are handled by
    /// [`Profile::private_rule`].
    pub fn rule(&self, tag: Tag) -> Option<&Rule> {
        if let Some(&i) = self.exact.get(&tag) {
            return Some(&self.rules[i]);
        }
        self.patterns
            .iter()
            .map(|&i| &self.rules[i])
            .find(|r| !matches!(r.pattern, TagPattern::Private) && r.pattern.matches(tag))
    }

    /// The private-attributes rule (Basic X, Retain Safe Private C), if the table has one.
    pub fn private_rule(&self) -> Option<&Rule> {
        self.patterns
            .iter()
            .map(|&i| &self.rules[i])
            .find(|r| r.pattern == TagPattern::Private)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_spot_checks() {
        let p = Profile::builtin();
        assert_eq!(p.rules.len(), 656 + 4, "Table E.1-1 and the supplement");
        let alt = p.rule(Tag(0x0010, 0x0033)).unwrap();
        assert_eq!(alt.basic, Action::X);
        assert_eq!(
            alt.option(ProfileOption::RetainLongFullDates),
            Some(Action::K)
        );
        let name = p.rule(Tag(0x0010, 0x0010)).unwrap();
        assert_eq!(name.basic, Action::Z);
        let sop = p.rule(Tag(0x0008, 0x0018)).unwrap();
        assert_eq!(sop.basic, Action::U);
        assert_eq!(sop.option(ProfileOption::RetainUids), Some(Action::K));
        let overlay = p.rule(Tag(0x6002, 0x3000)).unwrap();
        assert_eq!(overlay.basic, Action::X);
        assert!(p.rule(Tag(0x6003, 0x3000)).is_none());
        let curve = p.rule(Tag(0x5010, 0x2500)).unwrap();
        assert_eq!(curve.option(ProfileOption::CleanGraphics), Some(Action::C));
        assert_eq!(p.rule(Tag(0x0008, 0x0080)).unwrap().basic, Action::XZD);
        let pr = p.private_rule().unwrap();
        assert_eq!(pr.basic, Action::X);
        assert_eq!(pr.option(ProfileOption::RetainSafePrivate), Some(Action::C));
    }

    #[test]
    fn option_precedence() {
        let p = Profile::builtin();
        let study_date = p.rule(Tag(0x0008, 0x0020)).unwrap();
        assert_eq!(study_date.resolve(&Options::basic()).0, Action::Z);
        let mut o = Options::basic();
        o.retain_long_modified_dates = true;
        assert_eq!(study_date.resolve(&o).0, Action::C);
        o.retain_long_modified_dates = false;
        o.retain_long_full_dates = true;
        assert_eq!(study_date.resolve(&o).0, Action::K);
        // Allergies: Retain Patient Characteristics C and Clean Descriptors C.
        let allergies = p.rule(Tag(0x0010, 0x2110)).unwrap();
        let (a, by) = allergies.resolve(&Options::tcia());
        assert_eq!(a, Action::C);
        assert_eq!(by, Some(ProfileOption::RetainPatientCharacteristics));
    }

    #[test]
    fn user_profile_errors_name_the_line() {
        let e =
            Profile::from_csv("mine.csv", "tag_pattern,basic_profile\n00100010,Q\n").unwrap_err();
        assert_eq!(
            e,
            Error::Profile {
                source_name: "mine.csv".into(),
                line: 2,
                reason: "unknown Basic action code".into()
            }
        );
        let p = Profile::from_csv(
            "mine.csv",
            "tag,basic_profile,clean_descriptors\n\"(0008,1030)\",X,C\n",
        )
        .unwrap();
        assert_eq!(
            p.rule(Tag(0x0008, 0x1030))
                .unwrap()
                .option(ProfileOption::CleanDescriptors),
            Some(Action::C)
        );
        assert!(
            Options {
                retain_long_full_dates: true,
                retain_long_modified_dates: true,
                ..Options::default()
            }
            .validate()
            .is_err()
        );
    }
}
