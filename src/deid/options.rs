//! The options of PS3.15 E.3 and the presets, defined once: the CLI's flags, the page's checkboxes,
//! the audit, the De-identification Method attributes and the profile columns all come from here.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The options of PS3.15 E.3, in the order of the Table E.1-1 columns; Clean Pixel Data, which
/// acts on pixels rather than attributes and has no column, last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileOption {
    RetainSafePrivate,
    RetainUids,
    RetainDeviceIdentity,
    RetainInstitutionIdentity,
    RetainPatientCharacteristics,
    RetainLongFullDates,
    RetainLongModifiedDates,
    CleanDescriptors,
    CleanStructuredContent,
    CleanGraphics,
    CleanPixelData,
}

/// What a user needs to know about one option: its identifier (the Table E.1-1 column, the
/// `--flag` with dashes, the page's checkbox), its name in PS3.15 / CID 7050, a one-line plain
/// explanation, and the option it cannot be combined with.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct OptionInfo {
    pub option: ProfileOption,
    pub id: &'static str,
    pub name: &'static str,
    pub help: &'static str,
    /// The option that is turned off when this one is turned on (Full vs Modified Dates).
    pub excludes: Option<ProfileOption>,
}

/// Every option, in column order. The one place where option names and help live.
const OPTIONS: [OptionInfo; ProfileOption::COUNT] = {
    use ProfileOption::*;
    const fn info(
        option: ProfileOption,
        id: &'static str,
        name: &'static str,
        help: &'static str,
        excludes: Option<ProfileOption>,
    ) -> OptionInfo {
        OptionInfo {
            option,
            id,
            name,
            help,
            excludes,
        }
    }
    [
        info(
            RetainSafePrivate,
            "retain_safe_private",
            "Retain Safe Private Option",
            "Keep private (vendor) attributes that PS3.15 Table E.3.10-1 or TCIA's Posda dispositions list as safe (their UIDs remapped, dates shifted); remove all other private data.",
            None,
        ),
        info(
            RetainUids,
            "retain_uids",
            "Retain UIDs Option",
            "Keep the original study, series and instance UIDs instead of replacing them.",
            None,
        ),
        info(
            RetainDeviceIdentity,
            "retain_device_identity",
            "Retain Device Identity Option",
            "Keep scanner identity (station name, serial number); AE titles are replaced by stable pseudonyms.",
            None,
        ),
        info(
            RetainInstitutionIdentity,
            "retain_institution_identity",
            "Retain Institution Identity Option",
            "Keep the institution name, address and department.",
            None,
        ),
        info(
            RetainPatientCharacteristics,
            "retain_patient_characteristics",
            "Retain Patient Characteristics Option",
            "Keep sex, age (capped at 90), size, weight and similar; clean free-text characteristics.",
            None,
        ),
        info(
            RetainLongFullDates,
            "retain_long_full_dates",
            "Retain Longitudinal Temporal Information Full Dates Option",
            "Keep all dates and times unchanged.",
            Some(RetainLongModifiedDates),
        ),
        info(
            RetainLongModifiedDates,
            "retain_long_modified_dates",
            "Retain Longitudinal Temporal Information Modified Dates Option",
            "Shift every date by a per-patient number of days, so intervals survive.",
            Some(RetainLongFullDates),
        ),
        info(
            CleanDescriptors,
            "clean_descriptors",
            "Clean Descriptors Option",
            "Keep descriptions and comments, removing names, IDs, dates and phone numbers found in them.",
            None,
        ),
        info(
            CleanStructuredContent,
            "clean_structured_content",
            "Clean Structured Content Option",
            "Keep structured report content, cleaning names, dates, UIDs and text items.",
            None,
        ),
        info(
            CleanGraphics,
            "clean_graphics",
            "Clean Graphics Option",
            "Keep overlays and graphic annotations, dropping free-text annotations.",
            None,
        ),
        info(
            CleanPixelData,
            "clean_pixel_data",
            "Clean Pixel Data Option",
            "Black out names, IDs and dates burned into images (ultrasound banners, screen captures) using CTP's mask library and your masks; images at risk that no mask covers are held back.",
            None,
        ),
    ]
};

impl ProfileOption {
    /// How many options there are.
    pub const COUNT: usize = 11;

    /// All options, in column order.
    pub const ALL: [ProfileOption; ProfileOption::COUNT] = {
        let mut all = [ProfileOption::RetainSafePrivate; ProfileOption::COUNT];
        let mut i = 0;
        while i < ProfileOption::COUNT {
            all[i] = OPTIONS[i].option;
            i += 1;
        }
        all
    };

    /// Everything known about this option.
    pub fn info(self) -> &'static OptionInfo {
        &OPTIONS[self.index()]
    }

    /// The column of Table E.1-1 (and of the profile CSV) for this option.
    pub fn column(self) -> &'static str {
        self.info().id
    }

    /// The option's name in PS3.15 and CID 7050.
    pub fn standard_name(self) -> &'static str {
        self.info().name
    }

    /// The CLI flag, `--` and the column with dashes.
    pub fn flag(self) -> String {
        self.column().replace('_', "-")
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Which options are on. Deserialises from `{"retain_uids": true, ...}` (the browser app's form).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    pub retain_safe_private: bool,
    pub retain_uids: bool,
    pub retain_device_identity: bool,
    pub retain_institution_identity: bool,
    pub retain_patient_characteristics: bool,
    pub retain_long_full_dates: bool,
    pub retain_long_modified_dates: bool,
    pub clean_descriptors: bool,
    pub clean_structured_content: bool,
    pub clean_graphics: bool,
    pub clean_pixel_data: bool,
}

/// A named starting point for the options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// The Basic Application Level Confidentiality Profile with no option.
    Basic,
    /// TCIA: Basic + Retain Safe Private + Retain Device Identity + Retain Patient
    /// Characteristics + Retain Longitudinal Temporal Information with Modified Dates + Clean
    /// Descriptors.
    Tcia,
}

/// A preset as the page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct PresetInfo {
    pub id: Preset,
    pub name: &'static str,
    pub options: Options,
}

impl Preset {
    /// Every preset, for the page.
    pub const ALL: [Preset; 2] = [Preset::Basic, Preset::Tcia];

    /// The options of the preset.
    pub fn options(self) -> Options {
        match self {
            Preset::Basic => Options::default(),
            Preset::Tcia => Options {
                retain_safe_private: true,
                retain_device_identity: true,
                retain_patient_characteristics: true,
                retain_long_modified_dates: true,
                clean_descriptors: true,
                ..Options::default()
            },
        }
    }

    /// A preset by name, in any case (`basic`, `TCIA`).
    pub fn parse(name: &str) -> Result<Preset> {
        match name.to_ascii_lowercase().as_str() {
            "basic" => Ok(Preset::Basic),
            "tcia" => Ok(Preset::Tcia),
            _ => Err(Error::Options("presets are 'basic' and 'tcia'".into())),
        }
    }

    /// A one-line description.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Basic => "Basic Application Level Confidentiality Profile",
            Preset::Tcia => {
                "TCIA (Basic + safe private, device identity, patient characteristics, modified dates, clean descriptors)"
            }
        }
    }
}

/// The whole option vocabulary, as the page receives it (`optionList()`).
#[derive(Debug, Clone, Serialize)]
pub struct OptionList {
    pub options: Vec<OptionInfo>,
    pub presets: Vec<PresetInfo>,
}

/// The options and presets, for a user interface.
pub fn option_list() -> OptionList {
    OptionList {
        options: OPTIONS.to_vec(),
        presets: Preset::ALL
            .iter()
            .map(|&p| PresetInfo {
                id: p,
                name: p.name(),
                options: p.options(),
            })
            .collect(),
    }
}

impl Options {
    /// The Basic profile with no option.
    pub fn basic() -> Options {
        Preset::Basic.options()
    }

    /// The TCIA preset (see [`Preset::Tcia`]).
    pub fn tcia() -> Options {
        Preset::Tcia.options()
    }

    /// A preset by name (`basic` or `tcia`).
    pub fn preset(name: &str) -> Result<Options> {
        Ok(Preset::parse(name)?.options())
    }

    /// A preset with options added by hand. An option asked for explicitly turns off the option
    /// it excludes when that one came from the preset (`--preset tcia --retain-long-full-dates`
    /// means Full Dates); asking for both is an error.
    pub fn from_preset_and(preset: Preset, asked: &[ProfileOption]) -> Result<Options> {
        let mut o = preset.options();
        for &opt in asked {
            if let Some(other) = opt.info().excludes.filter(|x| !asked.contains(x)) {
                o.set(other, false);
            }
            o.set(opt, true);
        }
        o.validate()?;
        Ok(o)
    }

    /// Whether an option is on.
    pub fn has(&self, o: ProfileOption) -> bool {
        let in_column_order = [
            self.retain_safe_private,
            self.retain_uids,
            self.retain_device_identity,
            self.retain_institution_identity,
            self.retain_patient_characteristics,
            self.retain_long_full_dates,
            self.retain_long_modified_dates,
            self.clean_descriptors,
            self.clean_structured_content,
            self.clean_graphics,
            self.clean_pixel_data,
        ];
        in_column_order[o.index()]
    }

    /// Turns an option on or off.
    pub fn set(&mut self, o: ProfileOption, on: bool) {
        *self.field_mut(o) = on;
    }

    fn field_mut(&mut self, o: ProfileOption) -> &mut bool {
        match o {
            ProfileOption::RetainSafePrivate => &mut self.retain_safe_private,
            ProfileOption::RetainUids => &mut self.retain_uids,
            ProfileOption::RetainDeviceIdentity => &mut self.retain_device_identity,
            ProfileOption::RetainInstitutionIdentity => &mut self.retain_institution_identity,
            ProfileOption::RetainPatientCharacteristics => &mut self.retain_patient_characteristics,
            ProfileOption::RetainLongFullDates => &mut self.retain_long_full_dates,
            ProfileOption::RetainLongModifiedDates => &mut self.retain_long_modified_dates,
            ProfileOption::CleanDescriptors => &mut self.clean_descriptors,
            ProfileOption::CleanStructuredContent => &mut self.clean_structured_content,
            ProfileOption::CleanGraphics => &mut self.clean_graphics,
            ProfileOption::CleanPixelData => &mut self.clean_pixel_data,
        }
    }

    /// The options that are on, in column order.
    pub fn enabled(&self) -> Vec<ProfileOption> {
        ProfileOption::ALL
            .into_iter()
            .filter(|o| self.has(*o))
            .collect()
    }

    /// Rejects combinations the standard does not allow.
    pub fn validate(&self) -> Result<()> {
        for info in OPTIONS {
            if let Some(other) = info.excludes
                && self.has(info.option)
                && self.has(other)
            {
                return Err(Error::Options(format!(
                    "choose either the {} or the {}, not both",
                    info.name,
                    other.standard_name()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_column_order() {
        for (i, o) in ProfileOption::ALL.iter().enumerate() {
            assert_eq!(o.index(), i);
            assert_eq!(OPTIONS[i].option, *o);
            let json = serde_json::to_string(o).unwrap();
            assert_eq!(json.trim_matches('"'), o.column(), "serde name = column");
        }
    }

    #[test]
    fn every_option_can_be_set_and_read() {
        for o in ProfileOption::ALL {
            let mut opts = Options::default();
            opts.set(o, true);
            assert_eq!(opts.enabled(), vec![o]);
        }
    }

    #[test]
    fn an_explicit_date_option_overrides_the_preset() {
        use ProfileOption::*;
        let o = Options::from_preset_and(Preset::Tcia, &[RetainLongFullDates]).unwrap();
        assert!(o.retain_long_full_dates && !o.retain_long_modified_dates);
        assert!(o.clean_descriptors, "the rest of the preset stays");
        let both = Options::from_preset_and(
            Preset::Basic,
            &[RetainLongFullDates, RetainLongModifiedDates],
        );
        assert!(matches!(both, Err(Error::Options(_))));
    }
}
