//! `prodlink import off|stores|offers|catalog|rules FILE`: runs an importer, prints the counts
//! (accepted + updated + rejected = rows read) and where the rejects went, then embeds the
//! products whose text changed for semantic search.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use catalog::CatalogStore;
use catalog::import::{self, ImportKind, ReportFiles};
use catalog::semantic::Semantic;

use crate::cli::{ImportArgs, ImportCommand};
use crate::progress::{CliProgress, CountProgress};
use crate::settings::FileSettings;

/// Where report files go: `--report-dir`, else beside the input when that directory is
/// writable, else the current directory.
fn report_base(input: &Path, report_dir: Option<&Path>) -> PathBuf {
    let name = input.file_name().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("import"));
    if let Some(dir) = report_dir {
        return dir.join(name);
    }
    let dir = input.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let writable = tempfile_probe(dir);
    if writable { input.to_owned() } else { name }
}

fn tempfile_probe(dir: &Path) -> bool {
    let probe = dir.join(format!(".prodlink-write-test-{}", std::process::id()));
    let ok = std::fs::File::create(&probe).is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

/// Runs the command.
pub async fn run(database: &str, what: ImportCommand, file: &FileSettings) -> anyhow::Result<()> {
    let (kind, args): (ImportKind, ImportArgs) = match what {
        ImportCommand::Off(a) => (ImportKind::Off, a),
        ImportCommand::Stores(a) => (ImportKind::Stores, a),
        ImportCommand::Offers(a) => (ImportKind::Offers, a),
        ImportCommand::Rules(a) => (ImportKind::Rules, a),
        ImportCommand::Catalog(a) => (ImportKind::Catalog, a),
    };
    let store = super::open_store(database).await?;
    let report_dir = args.report_dir.or(file.report_dir.clone());
    let base = report_base(&args.file, report_dir.as_deref());
    let no_progress = args.no_progress.or(file.no_progress).unwrap_or(false);
    let progress = CliProgress::new(&format!("import {kind}"), !no_progress);
    let report = import::import_file(
        Arc::clone(&store),
        kind,
        &args.file,
        ReportFiles::Beside(base),
        &progress,
    )
    .await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "imported {} ({kind})", args.file.display())?;
    writeln!(out, "  rows read:  {}", report.rows)?;
    writeln!(out, "  accepted:   {}", report.accepted)?;
    writeln!(out, "  updated:    {} ({} unchanged)", report.updated_total(), report.unchanged)?;
    match &report.rejects_file {
        Some(p) => writeln!(out, "  rejected:   {} (reasons in {})", report.rejected, p.display())?,
        None => writeln!(out, "  rejected:   {}", report.rejected)?,
    }
    if let Some(p) = &report.warnings_file {
        writeln!(
            out,
            "  values dropped from accepted rows: {} (listed in {})",
            report.warnings,
            p.display()
        )?;
    }
    writeln!(
        out,
        "  time:       {:.2} s ({:.0} rows/s)",
        report.elapsed.as_secs_f64(),
        report.rate()
    )?;
    anyhow::ensure!(
        report.balanced(),
        "internal error: the import counts do not add up: {report:?}"
    );
    drop(out);
    let products_changed = matches!(kind, ImportKind::Off | ImportKind::Catalog);
    if products_changed && !args.no_embed.unwrap_or(false) {
        let model_dir = args.model_dir.or(file.model_dir.clone());
        embed(store, model_dir.as_deref(), !no_progress).await?;
    }
    Ok(())
}

/// Embeds every product whose text is new or changed since it was last embedded, with a
/// progress bar; without a model it says how semantic search will catch up instead.
async fn embed(
    store: Arc<dyn CatalogStore>,
    dir: Option<&Path>,
    visible: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let Some(dir) = super::model_dir(dir) else {
        writeln!(
            out,
            "  embedding:  skipped (no model; run scripts/fetch-model.sh or pass --model-dir)"
        )?;
        return Ok(());
    };
    drop(out);
    let id = super::embedder_id(&dir)?;
    let started = Instant::now();
    let embedder = tokio::task::spawn_blocking(move || search::load_embedder(&dir)).await??;
    let permits = std::thread::available_parallelism().map_or(2, |n| n.get());
    let semantic = Arc::new(Semantic::with_embedder(embedder, id, permits));
    semantic.load(store.as_ref()).await?;
    let total = store.embed_backlog().await?;
    let mut progress = CountProgress::new("embed", total, visible);
    let mut done = 0u64;
    loop {
        let n = semantic.index_round(store.as_ref()).await? as u64;
        if n == 0 {
            break;
        }
        done += n;
        progress.add(n, done);
    }
    progress.finish();
    let status = semantic.status(store.as_ref()).await?;
    writeln!(
        std::io::stdout().lock(),
        "  embedding:  {} products embedded, {} unchanged skipped, {} in the index ({:.1} s)",
        status.embedded_since_start,
        done.saturating_sub(status.embedded_since_start),
        status.indexed,
        started.elapsed().as_secs_f64()
    )?;
    Ok(())
}
