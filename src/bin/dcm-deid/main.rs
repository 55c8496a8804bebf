//! `dcm-deid`: the command-line face of `dicom_deid`. Argument parsing, key files and progress
//! only; everything else is the library.

use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
mod batch;

use batch::Outcome;

use dicom_deid::{Deidentifier, Lookup, Options, Profile, ProfileOption, ProjectKey, SafePrivate};

/// Prints a line to stdout; a closed pipe (`dcm-deid ... | head`) is not an error worth a panic.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

/// Prints a line to stderr, ignoring a closed stream.
macro_rules! warn {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($t)*);
    }};
}

#[derive(Parser)]
#[command(
    name = "dcm-deid",
    version,
    about = "De-identify DICOM files (DICOM PS3.15 Annex E)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// De-identify files and folders into an output folder or zip.
    Deidentify(DeidArgs),
    /// Create a new project key file (64 hex digits).
    Keygen {
        /// Where to write the key; refuses to overwrite.
        file: PathBuf,
    },
}

#[derive(Args)]
struct DeidArgs {
    /// Files or folders (walked recursively).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output folder, or a zip file when the name ends in .zip (streamed, zip64 when needed).
    #[arg(short, long)]
    output: PathBuf,
    /// Write the PHI linkage files (linkage.csv, uid_mapping.csv, patid_mapping.csv) to this
    /// folder, which must be outside the output.
    #[arg(long)]
    linkage: Option<PathBuf>,
    /// Start from a preset: basic, or tcia (Basic + Retain Safe Private + Retain Device Identity
    /// + Retain Patient Characteristics + Retain Long. Modified Dates + Clean Descriptors).
    #[arg(long, default_value = "basic")]
    preset: String,
    /// Retain Safe Private Option.
    #[arg(long)]
    retain_safe_private: bool,
    /// Retain UIDs Option.
    #[arg(long)]
    retain_uids: bool,
    /// Retain Device Identity Option.
    #[arg(long)]
    retain_device_identity: bool,
    /// Retain Institution Identity Option.
    #[arg(long)]
    retain_institution_identity: bool,
    /// Retain Patient Characteristics Option.
    #[arg(long)]
    retain_patient_characteristics: bool,
    /// Retain Longitudinal Temporal Information Full Dates Option.
    #[arg(long)]
    retain_long_full_dates: bool,
    /// Retain Longitudinal Temporal Information Modified Dates Option.
    #[arg(long)]
    retain_long_modified_dates: bool,
    /// Clean Descriptors Option.
    #[arg(long)]
    clean_descriptors: bool,
    /// Clean Structured Content Option.
    #[arg(long)]
    clean_structured_content: bool,
    /// Clean Graphics Option.
    #[arg(long)]
    clean_graphics: bool,
    /// Project key file: loaded if it exists, otherwise created. Same key = same pseudonyms.
    #[arg(long)]
    key: Option<PathBuf>,
    /// CSV of `original_id,new_id[,new_name]` to take patient pseudonyms from.
    #[arg(long)]
    lookup: Option<PathBuf>,
    /// A profile CSV in the format of profiles/basic_profile_e1_1.csv, replacing Table E.1-1.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// A safe-private CSV in the format of profiles/safe_private_e3_10_1.csv.
    #[arg(long)]
    safe_private: Option<PathBuf>,
    /// Worker threads (default: number of cores).
    #[arg(long, short)]
    jobs: Option<usize>,
}

impl DeidArgs {
    fn options(&self) -> Result<Options, String> {
        let mut o = Options::preset(&self.preset).map_err(|e| e.to_string())?;
        let flags = [
            (ProfileOption::RetainSafePrivate, self.retain_safe_private),
            (ProfileOption::RetainUids, self.retain_uids),
            (
                ProfileOption::RetainDeviceIdentity,
                self.retain_device_identity,
            ),
            (
                ProfileOption::RetainInstitutionIdentity,
                self.retain_institution_identity,
            ),
            (
                ProfileOption::RetainPatientCharacteristics,
                self.retain_patient_characteristics,
            ),
            (
                ProfileOption::RetainLongFullDates,
                self.retain_long_full_dates,
            ),
            (
                ProfileOption::RetainLongModifiedDates,
                self.retain_long_modified_dates,
            ),
            (ProfileOption::CleanDescriptors, self.clean_descriptors),
            (
                ProfileOption::CleanStructuredContent,
                self.clean_structured_content,
            ),
            (ProfileOption::CleanGraphics, self.clean_graphics),
        ];
        for (opt, on) in flags {
            if on {
                o.set(opt, true);
            }
        }
        if o.retain_long_full_dates
            && self.retain_long_full_dates
            && !self.retain_long_modified_dates
        {
            o.retain_long_modified_dates = false; // an explicit Full Dates flag overrides a preset
        }
        o.validate().map_err(|e| e.to_string())?;
        Ok(o)
    }
}

fn load_or_create_key(path: Option<&Path>) -> Result<ProjectKey, String> {
    let Some(path) = path else {
        warn!(
            "note: no --key given; a random key is used and pseudonyms will differ next time \
             (pass --key FILE to keep it)"
        );
        return ProjectKey::generate().map_err(|e| e.to_string());
    };
    if path.exists() {
        let text =
            fs::read_to_string(path).map_err(|e| format!("cannot read the key file: {e}"))?;
        return ProjectKey::from_hex(&text).map_err(|e| e.to_string());
    }
    let key = ProjectKey::generate().map_err(|e| e.to_string())?;
    write_key(path, &key)?;
    warn!(
        "created a new project key in {}: keep it secret, keep it safe",
        path.display()
    );
    Ok(key)
}

fn write_key(path: &Path, key: &ProjectKey) -> Result<(), String> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    let mut f = opts
        .open(path)
        .map_err(|e| format!("cannot create the key file: {e}"))?;
    writeln!(f, "{}", key.to_hex()).map_err(|e| format!("cannot write the key file: {e}"))
}

fn session(args: &DeidArgs) -> Result<Deidentifier, String> {
    let key = load_or_create_key(args.key.as_deref())?;
    let mut s = Deidentifier::new(args.options()?, key).map_err(|e| e.to_string())?;
    if let Some(p) = &args.profile {
        let text = fs::read_to_string(p).map_err(|e| format!("cannot read the profile: {e}"))?;
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("custom profile");
        s = s.with_profile(Profile::from_csv(name, &text).map_err(|e| e.to_string())?);
    }
    if let Some(p) = &args.safe_private {
        let text = fs::read_to_string(p)
            .map_err(|e| format!("cannot read the safe-private table: {e}"))?;
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("safe private");
        s = s.with_safe_private(SafePrivate::from_csv(name, &text).map_err(|e| e.to_string())?);
    }
    if let Some(p) = &args.lookup {
        let text =
            fs::read_to_string(p).map_err(|e| format!("cannot read the lookup table: {e}"))?;
        s = s.with_lookup(Lookup::from_csv(&text).map_err(|e| e.to_string())?);
    }
    Ok(s)
}

fn deidentify(args: DeidArgs) -> Result<bool, String> {
    let session = session(&args)?;
    // Walk the inputs before creating anything, so an output inside an input folder (or its
    // temporary .partial file) is never taken for an input.
    let inputs = batch::collect_inputs(&args.inputs, Some(&args.output));
    let output =
        batch::Output::open(&args.output).map_err(|e| format!("cannot create the output: {e}"))?;
    if let Some(l) = &args.linkage {
        let inside = fs::canonicalize(l.parent().unwrap_or(l))
            .ok()
            .zip(fs::canonicalize(output.path()).ok())
            .is_some_and(|(l, o)| l.starts_with(o));
        if inside {
            return Err("the linkage folder must not be inside the output".into());
        }
    }
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(inputs.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} files  {per_sec}  eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let result = batch::run(
        &session,
        &inputs,
        &output,
        jobs,
        args.linkage.as_deref(),
        &|_| {
            if let Some(b) = &bar {
                b.inc(1);
            }
        },
    )
    .map_err(|e| format!("cannot write the output: {e}"))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    for (input, outcome) in inputs.iter().zip(&result.outcomes) {
        match outcome {
            Outcome::Failed(r) => warn!("failed:  {}: {r}", input.display()),
            Outcome::Skipped(r) => warn!("skipped: {}: {r}", input.display()),
            Outcome::Done(_) => {}
        }
    }
    let summary = &result.summary;
    say!(
        "{} files found: {} de-identified, {} skipped, {} failed",
        summary.found,
        summary.deidentified,
        summary.skipped,
        summary.failed
    );
    for (reason, n) in summary
        .skipped_reasons
        .iter()
        .chain(&summary.failed_reasons)
    {
        say!("  {n:>6} × {reason}");
    }
    if let Some(l) = &args.linkage {
        say!("linkage files (contain PHI) written to {}", l.display());
    }
    Ok(summary.failed == 0)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Deidentify(args) => deidentify(args),
        Command::Keygen { file } => ProjectKey::generate()
            .map_err(|e| e.to_string())
            .and_then(|k| write_key(&file, &k))
            .map(|_| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            warn!("error: {e}");
            ExitCode::from(2)
        }
    }
}
