//! `dcm-deid`: the command-line face of `dicom_deid`. Arguments, key files, the batch runner's
//! files and threads, and progress; every policy is the library's.

mod args;
mod batch;
mod verify;

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;
use dicom_deid::output::{Outcome, Summary};
use dicom_deid::pixels::script::Expr;
use dicom_deid::pixels::{PixelPolicy, PixelScript, PixelSettings, ScriptText};
use dicom_deid::review::{self, VerifyConfig, log::RunLog};
use dicom_deid::{Deidentifier, Lookup, Overrides, Profile, ProjectKey, SafePrivate};

use args::{Cli, Command, DeidArgs, EngineArgs, InventoryArgs, VerifyArgs};

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

fn load_or_create_key(path: Option<&Path>) -> anyhow::Result<ProjectKey> {
    let Some(path) = path else {
        warn!(
            "note: no --key given; a random key is used and pseudonyms will differ next time \
             (pass --key FILE to keep it)"
        );
        return Ok(ProjectKey::generate()?);
    };
    if path.exists() {
        let text = fs::read_to_string(path).context("cannot read the key file")?;
        return Ok(ProjectKey::from_hex(&text)?);
    }
    let key = ProjectKey::generate()?;
    write_key(path, &key)?;
    warn!(
        "created a new project key in {}: keep it secret, keep it safe",
        path.display()
    );
    Ok(key)
}

fn write_key(path: &Path, key: &ProjectKey) -> anyhow::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    let mut f = opts.open(path).context("cannot create the key file")?;
    writeln!(f, "{}", key.to_hex()).context("cannot write the key file")
}

/// Reads a user's table file; `what` names it in errors.
fn read_table(path: &Path, what: &str) -> anyhow::Result<(String, String)> {
    let text = fs::read_to_string(path).with_context(|| format!("cannot read the {what}"))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(what)
        .to_string();
    Ok((name, text))
}

/// The engine the arguments describe, with this key.
fn engine(args: &EngineArgs, key: ProjectKey) -> anyhow::Result<Deidentifier> {
    let mut d = Deidentifier::new(args.options()?, key)?;
    if let Some(p) = &args.profile {
        let (name, text) = read_table(p, "profile")?;
        d = d.with_profile(Profile::from_csv(&name, &text)?);
    }
    if let Some(p) = &args.safe_private {
        let (name, text) = read_table(p, "safe-private table")?;
        d = d.with_safe_private(SafePrivate::from_csv(&name, &text)?);
    }
    if let Some(p) = &args.lookup {
        let (_, text) = read_table(p, "lookup table")?;
        d = d.with_lookup(Lookup::from_csv(&text)?);
    }
    Ok(d)
}

fn deidentifier(args: &DeidArgs) -> anyhow::Result<Deidentifier> {
    let key = load_or_create_key(args.engine.key.as_deref())?;
    let mut d = engine(&args.engine, key)?;
    if let Some(p) = &args.overrides {
        let (name, text) = read_table(p, "overrides (pre-review) file")?;
        d = d.with_overrides(Overrides::from_csv(&name, &text)?);
    }
    Ok(d.with_pixels(pixel_policy(args)?))
}

fn jobs(n: Option<usize>) -> usize {
    n.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

/// The mask sources and the at-risk policy from the arguments.
fn pixel_policy(args: &DeidArgs) -> anyhow::Result<PixelPolicy> {
    let mut settings = PixelSettings {
        release_unmasked: args.release_unmasked,
        detect_text: args.detect_text || args.mask_detected_text,
        mask_detected_text: args.mask_detected_text,
        ..PixelSettings::default()
    };
    if settings.detect_text {
        // Fail before the run rather than hold back every image.
        dicom_deid::detect::ensure_model()?;
    }
    for p in &args.pixel_scripts {
        let (name, text) = read_table(p, "pixel script")?;
        for s in PixelScript::parse(&name, &text).signatures {
            if s.expr == Expr::Invalid {
                warn!(
                    "warning: {name} line {}: the signature does not parse (or has a `matches` pattern that does not compile) and never matches",
                    s.line
                );
            }
        }
        settings.scripts.push(ScriptText { name, text });
    }
    if let Some(p) = &args.pixel_regions {
        let (name, text) = read_table(p, "pixel regions file")?;
        settings.regions = Some(
            serde_json::from_str(&text)
                .with_context(|| format!("the pixel regions file {name} is not valid"))?,
        );
    }
    Ok(settings.policy()?)
}

fn deidentify(args: DeidArgs) -> anyhow::Result<bool> {
    let deidentifier = deidentifier(&args)?;
    // Walk the inputs before creating anything, so an output inside an input folder (or its
    // temporary .partial file) is never taken for an input.
    let inputs = batch::collect_inputs(&args.inputs, Some(&args.output));
    let destination = batch::Destination::open(&args.output).context("cannot create the output")?;
    if let Some(l) = &args.linkage
        && inside(l, destination.path())
    {
        bail!("the linkage folder (PHI) must not be the output or inside it");
    }
    if let Some(q) = &args.quarantine
        && inside(q, destination.path())
    {
        bail!("the quarantine folder (PHI) must not be the output or inside it");
    }
    let jobs = jobs(args.engine.jobs);
    // Hidden by indicatif itself when stderr is not a terminal.
    let bar = indicatif::ProgressBar::new(inputs.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let log = RunLog {
        run_id: ProjectKey::generate()?.fingerprint(),
        started_utc: batch::now_utc(),
        tool: review::log::TOOL.into(),
        profile: deidentifier.profile().edition.clone(),
        options: *deidentifier.options(),
        private_dictionaries: deidentifier
            .safe_private()
            .sources()
            .into_iter()
            .map(String::from)
            .collect(),
        key_fingerprint: deidentifier.key_fingerprint(),
        sample_seed: match args.sample_seed {
            Some(s) => s,
            None => u64::from_le_bytes(ProjectKey::generate()?.as_bytes()[..8].try_into()?),
        },
        reviewer: args.reviewer.clone(),
        ..RunLog::default()
    };
    let names = batch::input_names(&args.inputs, &inputs);
    let result = batch::run(
        &deidentifier,
        &inputs,
        &destination,
        batch::Run {
            jobs,
            linkage_dir: args.linkage.as_deref(),
            quarantine_dir: args.quarantine.as_deref(),
            log,
            verification: (!args.no_verify).then(|| batch::Verification {
                config: VerifyConfig::of(&deidentifier),
                names: &names,
            }),
        },
        &|_| bar.inc(1),
    )
    .context("cannot write the output")?;
    bar.finish_and_clear();
    for (input, outcome) in inputs.iter().zip(&result.outcomes) {
        match outcome {
            Outcome::Failed(r) => warn!("failed:  {}: {r}", input.display()),
            Outcome::Skipped(r) => warn!("skipped: {}: {r}", input.display()),
            Outcome::Quarantined(r) => warn!("held back: {}: {r}", input.display()),
            Outcome::Excluded(r) => warn!("excluded: {}: {r}", input.display()),
            Outcome::Written(_) => {}
        }
    }
    print_summary(&result.summary);
    say!(
        "review: final_review-noPHI.csv, deid_log-noPHI.csv; inspect the {} files of \
         review_sample-noPHI.csv (seed {})",
        result.log.sample_size,
        result.log.sample_seed
    );
    let critical = result.report.as_ref().is_some_and(|r| r.has_critical());
    if let Some(r) = &result.report {
        for line in r.summary_lines(20) {
            say!("{line}");
        }
        if critical {
            warn!(
                "error: residual PHI: critical findings in the output (see {}); do not release it",
                dicom_deid::review::verify::NO_PHI_CSV
            );
        }
    }
    if let Some(l) = &args.linkage {
        say!("linkage files (contain PHI) written to {}", l.display());
    }
    if let (Some(q), true) = (&args.quarantine, result.summary.quarantined > 0) {
        say!(
            "quarantined originals (contain PHI) written to {}",
            q.display()
        );
    }
    Ok(result.summary.failed == 0 && !critical)
}

/// Writes the element inventory and (unless `--no-values`) the pre-review of the inputs.
fn inventory(args: InventoryArgs) -> anyhow::Result<bool> {
    // The actions do not depend on the key: a fresh one is enough.
    let d = engine(&args.engine, ProjectKey::generate()?)?;
    let inputs = batch::collect_inputs(&args.inputs, Some(&args.output));
    let with_values = !args.no_values;
    let (inventory, failed) = batch::inventory(&d, &inputs, with_values, jobs(args.engine.jobs));
    fs::create_dir_all(&args.output).context("cannot create the output folder")?;
    batch::write_atomically(
        &args.output.join("inventory-noPHI.csv"),
        inventory.inventory_csv().as_bytes(),
    )?;
    if with_values {
        batch::write_atomically(
            &args.output.join("pre_review-PHI.csv"),
            inventory.pre_review_csv().as_bytes(),
        )?;
    }
    say!(
        "{} files examined, {} not read; inventory-noPHI.csv{} written to {}",
        inventory.files(),
        failed,
        if with_values {
            " and pre_review-PHI.csv (contains PHI)"
        } else {
            ""
        },
        args.output.display()
    );
    Ok(true)
}

/// Whether `path` (which may not exist yet) is `folder` or lies inside it, links resolved.
fn inside(path: &Path, folder: &Path) -> bool {
    let Ok(folder) = fs::canonicalize(folder) else {
        return false;
    };
    // `..` folded lexically, then the longest part that exists resolved, the rest added back.
    let Ok(absolute) = std::path::absolute(path) else {
        return false;
    };
    let mut resolved = std::path::PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::ParentDir => {
                resolved.pop();
            }
            std::path::Component::CurDir => {}
            other => resolved.push(other),
        }
    }
    let mut rest = Vec::new();
    while !resolved.exists() {
        match (
            resolved.file_name().map(|n| n.to_owned()),
            resolved.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                resolved = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let Ok(mut full) = fs::canonicalize(&resolved) else {
        return false;
    };
    full.extend(rest.into_iter().rev());
    full.starts_with(&folder)
}

/// `verify`: the originals harvested, the output checked, the report written.
fn verify(args: VerifyArgs) -> anyhow::Result<bool> {
    let Some((originals, output)) = args.paths() else {
        bail!("give the originals and the output: verify --originals INPUT... OUTPUT -o DIR");
    };
    let key = match args.engine.key.as_deref() {
        Some(path) => {
            let text = fs::read_to_string(path).context("cannot read the key file")?;
            ProjectKey::from_hex(&text)?
        }
        None => {
            warn!(
                "note: no --key given: outputs cannot be paired with their originals, so a value \
                 the profile kept cannot be told from one the engine wrote"
            );
            ProjectKey::generate()?
        }
    };
    let config = VerifyConfig::of(&engine(&args.engine, key)?);
    if let Some(d) = &args.detail
        && inside(d, &output)
    {
        bail!("the detail folder (PHI) must not be the output or inside it");
    }
    let inputs = batch::collect_inputs(&originals, Some(&output));
    let names = batch::input_names(&originals, &inputs);
    let bar = indicatif::ProgressBar::new(inputs.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos} files  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let (report, unpaired) = verify::run(
        &config,
        &inputs,
        &names,
        &output,
        jobs(args.engine.jobs),
        &|| bar.inc(1),
    )
    .context("cannot read the output")?;
    bar.finish_and_clear();
    verify::write(&report, &args.report, args.detail.as_deref())
        .context("cannot write the report")?;
    for line in report.summary_lines(20) {
        say!("{line}");
    }
    if unpaired > 0 {
        say!(
            "note: {unpaired} outputs have no original among the inputs given (or another key): \
             checked against every patient's identifiers only"
        );
    }
    say!(
        "report written to {}",
        args.report
            .join(dicom_deid::review::verify::NO_PHI_CSV)
            .display()
    );
    if let Some(d) = &args.detail {
        say!("detail (contains PHI) written to {}", d.display());
    }
    if report.has_critical() {
        warn!("error: residual PHI: critical findings; do not release this output");
    }
    Ok(!report.has_critical())
}

fn print_summary(summary: &Summary) {
    say!(
        "{} {} found: {} de-identified, {} skipped, {} failed, {} quarantined",
        summary.found,
        if summary.found == 1 { "file" } else { "files" },
        summary.deidentified,
        summary.skipped,
        summary.failed,
        summary.quarantined
    );
    for (reason, n) in summary
        .skipped_reasons
        .iter()
        .chain(&summary.failed_reasons)
        .chain(&summary.quarantined_reasons)
    {
        say!("  {n:>6} × {reason}");
    }
    if summary.masked > 0 {
        say!("{} images masked (Clean Pixel Data)", summary.masked);
    }
    for w in summary.warnings() {
        say!("warning: {w}");
    }
    if summary.at_risk_unmasked > 0 {
        say!(
            "warning: {} images that may show burned-in text were written unmasked",
            summary.at_risk_unmasked
        );
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Deidentify(args) => deidentify(*args),
        Command::Inventory(args) => inventory(*args),
        Command::Verify(args) => verify(*args),
        Command::Keygen { file } => ProjectKey::generate()
            .map_err(anyhow::Error::from)
            .and_then(|k| write_key(&file, &k))
            .map(|_| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            warn!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
