//! The command line. The PS3.15 option flags are generated from the library's one option table
//! ([`ProfileOption::ALL`]), so a new option appears here with its standard name by itself.

use std::path::PathBuf;

use clap::{ArgAction, ArgMatches, Args, FromArgMatches, Parser, Subcommand};
use dicom_deid::{Options, Preset, ProfileOption};

#[derive(Parser)]
#[command(
    name = "dcm-deid",
    version,
    about = "De-identify DICOM files (DICOM PS3.15 Annex E)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// De-identify files and folders into an output folder or zip.
    Deidentify(Box<DeidArgs>),
    /// Element inventory (no PHI) and the values to review before de-identifying (PHI) of a set
    /// of files, for the options given.
    Inventory(Box<InventoryArgs>),
    /// Check de-identified output for residual PHI: every identifier harvested from the
    /// originals is looked for in every output; writes residual_phi-noPHI.csv into -o and exits
    /// 1 on a critical finding.
    Verify(Box<VerifyArgs>),
    /// Create a new project key file (64 hex digits).
    Keygen {
        /// Where to write the key; refuses to overwrite.
        file: PathBuf,
    },
}

/// What the engine is told: options, key and tables (shared by `deidentify` and `verify`).
#[derive(Args)]
pub struct EngineArgs {
    /// Start from a preset, basic or tcia (Basic with Retain Safe Private, Retain Device
    /// Identity, Retain Patient Characteristics, Retain Long. Modified Dates and Clean
    /// Descriptors); option flags add to it.
    #[arg(long, default_value = "basic", value_parser = |s: &str| Preset::parse(s))]
    pub preset: Preset,
    #[command(flatten)]
    pub flags: OptionFlags,
    /// Project key file: loaded if it exists, otherwise created. Same key = same pseudonyms.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// CSV of `original_id,new_id[,new_name[,issuer]]` to take patient pseudonyms from.
    #[arg(long)]
    pub lookup: Option<PathBuf>,
    /// A profile CSV in the format of profiles/basic_profile_e1_1.csv, replacing Table E.1-1.
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// A private dictionary replacing the built-in ones: Table E.3.10-1's format
    /// (profiles/safe_private_e3_10_1.csv) or Posda's and TCIA's knowledge base
    /// (element_sig_pattern, vr, private_disposition), told apart by the header.
    #[arg(long)]
    pub safe_private: Option<PathBuf>,
    /// Worker threads (default: number of cores).
    #[arg(long, short)]
    pub jobs: Option<usize>,
}

impl EngineArgs {
    /// The preset with the flags given, by the library's precedence rule.
    pub fn options(&self) -> dicom_deid::Result<Options> {
        Options::from_preset_and(self.preset, &self.flags.0)
    }
}

#[derive(Args)]
pub struct DeidArgs {
    /// Files or folders (walked recursively).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output folder, or a zip file when the name ends in .zip (streamed, zip64 when needed).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Write the PHI linkage files (linkage.csv, uid_mapping.csv, patid_mapping.csv) and the
    /// residual-PHI detail (residual_phi-detail-PHI.csv) to this folder, which must be outside
    /// the output.
    #[arg(long)]
    pub linkage: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// A CTP DicomPixelAnonymizer script of mask regions by header signature (Clean Pixel Data);
    /// repeatable; applied in the order given, before the built-in CTP library.
    #[arg(long = "pixel-script", value_name = "FILE")]
    pub pixel_scripts: Vec<PathBuf>,
    /// A JSON file of explicit mask regions by image, series or device (as the page exports
    /// them); they take precedence over every script.
    #[arg(long, value_name = "FILE")]
    pub pixel_regions: Option<PathBuf>,
    /// Write the original files of quarantined images (pixels at risk, no mask) to this folder
    /// for review. They hold PHI; the folder must be outside the output.
    #[arg(long, value_name = "DIR")]
    pub quarantine: Option<PathBuf>,
    /// Write images at risk of burned-in text that no mask covers instead of quarantining them;
    /// the audit records the accepted risk.
    #[arg(long)]
    pub release_unmasked: bool,
    /// With Clean Pixel Data: look for burned-in text on every frame (PP-OCRv4 text detector;
    /// the model comes from `npm install`). An image with text outside every mask is held back.
    #[arg(long)]
    pub detect_text: bool,
    /// With Clean Pixel Data: mask the text boxes found outside every mask instead of holding
    /// the image back (implies --detect-text; the audit names the masks that came from detection).
    #[arg(long)]
    pub mask_detected_text: bool,
    /// A pre-review CSV (as `dcm-deid inventory` writes it) whose `decision` and `replacement`
    /// columns override the profile for those values.
    #[arg(long, value_name = "FILE")]
    pub overrides: Option<PathBuf>,
    /// Seed of the random sample of outputs to inspect (default: a random one); the same seed
    /// over the same outputs picks the same files. Recorded in deid_log-noPHI.csv.
    #[arg(long, value_name = "N")]
    pub sample_seed: Option<u64>,
    /// The reviewer's name for the de-identification log.
    #[arg(long, value_name = "NAME", default_value = "")]
    pub reviewer: String,
    /// Skip the residual-PHI verification that otherwise ends every run (it looks for every
    /// identifier of the inputs in the outputs and writes residual_phi-noPHI.csv).
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The original files and folders the output was made from; the last value is the output
    /// when it is not given after them.
    #[arg(long, num_args = 1.., required = true, value_name = "INPUT")]
    pub originals: Vec<PathBuf>,
    /// The de-identified output: a folder or a .zip.
    pub output: Option<PathBuf>,
    /// Folder for residual_phi-noPHI.csv (shareable: no identifying text).
    #[arg(short = 'o', long = "report")]
    pub report: PathBuf,
    /// Folder for residual_phi-detail-PHI.csv, the matched text of each finding (PHI; keep it
    /// outside the output, like the linkage files).
    #[arg(long, value_name = "DIR")]
    pub detail: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

impl VerifyArgs {
    /// The originals and the output, the output taken from the end of --originals when needed.
    pub fn paths(&self) -> Option<(Vec<PathBuf>, PathBuf)> {
        let mut originals = self.originals.clone();
        let output = match &self.output {
            Some(o) => o.clone(),
            None => originals.pop()?,
        };
        (!originals.is_empty()).then_some((originals, output))
    }
}

#[derive(Args)]
pub struct InventoryArgs {
    /// Files or folders (walked recursively).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Folder for inventory-noPHI.csv and pre_review-PHI.csv.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Skip the pre-review (values, PHI): write the inventory only.
    #[arg(long)]
    pub no_values: bool,
}

/// The PS3.15 option flags given on the command line, one `--flag` per option.
pub struct OptionFlags(pub Vec<ProfileOption>);

impl Args for OptionFlags {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for o in ProfileOption::ALL {
            let info = o.info();
            cmd = cmd.arg(
                clap::Arg::new(info.id)
                    .long(o.flag())
                    .action(ArgAction::SetTrue)
                    .help(format!("{}: {}", info.name, info.help)),
            );
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for OptionFlags {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(OptionFlags(
            ProfileOption::ALL
                .into_iter()
                .filter(|o| m.get_flag(o.column()))
                .collect(),
        ))
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_option_has_a_flag_named_after_its_column() {
        let cmd = Cli::command();
        let deid = cmd.find_subcommand("deidentify").unwrap();
        for o in ProfileOption::ALL {
            let arg = deid.get_arguments().find(|a| a.get_id() == o.column());
            assert_eq!(
                arg.and_then(|a| a.get_long()),
                Some(o.flag().as_str()),
                "{o:?}"
            );
        }
    }

    #[test]
    fn verify_takes_the_output_after_the_originals() {
        let cli = Cli::try_parse_from([
            "dcm-deid",
            "verify",
            "--originals",
            "a",
            "b",
            "out.zip",
            "-o",
            "report",
            "--preset",
            "tcia",
        ])
        .unwrap();
        let Command::Verify(args) = cli.command else {
            panic!("verify")
        };
        let (originals, output) = args.paths().unwrap();
        assert_eq!(originals, [PathBuf::from("a"), PathBuf::from("b")]);
        assert_eq!(output, PathBuf::from("out.zip"));
        assert!(args.engine.options().unwrap().clean_descriptors);
    }

    #[test]
    fn flags_add_to_the_preset() {
        let cli = Cli::try_parse_from([
            "dcm-deid",
            "deidentify",
            "in",
            "-o",
            "out",
            "--preset",
            "TCIA",
            "--retain-long-full-dates",
            "--retain-uids",
        ])
        .unwrap();
        let Command::Deidentify(args) = cli.command else {
            panic!("deidentify")
        };
        let o = args.engine.options().unwrap();
        assert!(o.retain_uids && o.retain_long_full_dates && !o.retain_long_modified_dates);
        assert!(o.clean_descriptors);
    }
}
