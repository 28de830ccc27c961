//! Importers (docs/spec.md §9 `prodlink import off|stores|offers|catalog`): read a file (optionally
//! gzip-compressed), turn each input row into a write or a rejection with its reason, write in
//! batches through [`CatalogStore`], and account for every row:
//! `accepted + updated + rejected == rows read` (updated includes rows that changed nothing).
//!
//! Parsing runs on a blocking thread and hands batches to the async writer over a bounded
//! channel, so parsing and SQLite work overlap on two cores. Rejected rows go to a rejects file
//! beside the input (`FILE.rejects.tsv`: line, key, reason, original record); values dropped from
//! accepted rows (an impossible nutrient amount, say) go to `FILE.warnings.tsv`.

pub mod catalog;
pub mod ingredients;
pub mod off;
pub mod offers;
pub(crate) mod records;
pub mod rules;
pub mod source;
pub mod stores;

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::model::{OfferWrite, ProductWrite, StoreWrite, WriteOutcome};
use crate::store::{CatalogStore, StoreError};
pub use source::Source;

/// Rows per write batch (one transaction each).
pub const BATCH_ROWS: usize = 1000;

/// What kind of file an importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// Open Food Facts export: TSV/CSV (OFF column names) or JSONL (OFF product objects).
    Off,
    /// Stores: the Walmart store list, or prodlink's store CSV/JSONL.
    Stores,
    /// Offers: prodlink's offer CSV/JSONL.
    Offers,
    /// prodlink's own catalog JSONL (products, stores and offers, one object per line).
    Catalog,
    /// Resolver rules JSONL.
    Rules,
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Off => "off",
            Self::Stores => "stores",
            Self::Offers => "offers",
            Self::Catalog => "catalog",
            Self::Rules => "rules",
        })
    }
}

/// One write produced from an input row.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// A product.
    Product(Box<ProductWrite>),
    /// A store.
    Store(Box<StoreWrite>),
    /// An offer.
    Offer(Box<OfferWrite>),
    /// A resolver rule.
    Rule(Box<crate::model::RuleWrite>),
}

/// Where a parsed row came from, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRef {
    /// 1-based line (or record) number in the input.
    pub line: u64,
    /// The row's key as given (barcode, store ref…), for humans.
    pub key: String,
    /// The original record, verbatim when line-based.
    pub raw: String,
}

/// A parsed input row.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// The row became a write (values that had to be dropped are listed as warnings).
    Write {
        /// Origin.
        row: RowRef,
        /// The write.
        write: Write,
        /// `field: problem` notes for values dropped from the row.
        warnings: Vec<String>,
    },
    /// The row cannot be imported.
    Reject {
        /// Origin.
        row: RowRef,
        /// Why.
        reason: String,
    },
    /// A row that intentionally holds no data (blank line). Not counted.
    Skip,
}

/// Receives progress updates; the CLI draws a progress bar from them.
pub trait Progress: Send + Sync {
    /// Called once with the input size in bytes (when known).
    fn start(&self, total_bytes: Option<u64>);
    /// Called after each batch.
    fn update(&self, bytes_read: u64, rows: u64);
    /// Called once at the end.
    fn finish(&self);
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: Option<u64>) {}
    fn update(&self, _: u64, _: u64) {}
    fn finish(&self) {}
}

/// Where rejected rows and warnings are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportFiles {
    /// Beside the input: `INPUT.rejects.tsv` and `INPUT.warnings.tsv` (created only if needed).
    Beside(PathBuf),
    /// Keep them in memory (tests, the demo loader); at most this many of each are kept.
    InMemory(usize),
}

/// The outcome of an import.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// Rows read (blank lines excluded).
    pub rows: u64,
    /// New records created.
    pub accepted: u64,
    /// Existing records changed.
    pub updated: u64,
    /// Existing records the row matched exactly (counted within `updated` for the totals).
    pub unchanged: u64,
    /// Rows refused.
    pub rejected: u64,
    /// Values dropped from accepted rows.
    pub warnings: u64,
    /// The rejects file, when any row was rejected and files were requested.
    pub rejects_file: Option<PathBuf>,
    /// The warnings file, when any value was dropped and files were requested.
    pub warnings_file: Option<PathBuf>,
    /// In-memory rejects (`ReportFiles::InMemory`): `(line, key, reason)`.
    pub reject_samples: Vec<(u64, String, String)>,
    /// In-memory warnings: `(line, key, note)`.
    pub warning_samples: Vec<(u64, String, String)>,
    /// Wall time.
    pub elapsed: Duration,
}

impl ImportReport {
    /// `updated` as printed: changed plus unchanged rows.
    pub fn updated_total(&self) -> u64 {
        self.updated + self.unchanged
    }

    /// Whether every row is accounted for.
    pub fn balanced(&self) -> bool {
        self.accepted + self.updated_total() + self.rejected == self.rows
    }

    /// Rows per second.
    pub fn rate(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The one-line summary the CLI prints.
    pub fn summary(&self) -> String {
        format!(
            "{} rows: {} accepted, {} updated ({} unchanged), {} rejected; {} values dropped; {:.1} s ({:.0} rows/s)",
            self.rows,
            self.accepted,
            self.updated_total(),
            self.unchanged,
            self.rejected,
            self.warnings,
            self.elapsed.as_secs_f64(),
            self.rate()
        )
    }
}

/// Import failures that stop the whole run (bad rows never do).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The input could not be read, or a report file written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The input is not in a format this importer reads.
    #[error("{0}")]
    Format(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { context: context.into(), source }
    }
}

/// Writes rejects and warnings, creating files lazily.
struct Sink {
    mode: ReportFiles,
    rejects: Option<BufWriter<File>>,
    warnings: Option<BufWriter<File>>,
}

fn sibling(input: &Path, suffix: &str) -> PathBuf {
    let mut name = input.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    input.with_file_name(name)
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

impl Sink {
    /// A sink; report files of an earlier run of the same input are removed first, so a clean
    /// re-import does not leave old rejects lying around.
    fn new(mode: ReportFiles) -> Result<Self, ImportError> {
        if let ReportFiles::Beside(input) = &mode {
            for suffix in [".rejects.tsv", ".warnings.tsv"] {
                let path = sibling(input, suffix);
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(ImportError::io(
                            format!("removing the old {}", path.display()),
                            e,
                        ));
                    }
                }
            }
        }
        Ok(Self { mode, rejects: None, warnings: None })
    }

    fn open(path: &Path, header: &str) -> Result<BufWriter<File>, ImportError> {
        let file = File::create(path)
            .map_err(|e| ImportError::io(format!("creating {}", path.display()), e))?;
        let mut w = BufWriter::new(file);
        writeln!(w, "{header}")
            .map_err(|e| ImportError::io(format!("writing {}", path.display()), e))?;
        Ok(w)
    }

    fn reject(
        &mut self,
        report: &mut ImportReport,
        row: &RowRef,
        reason: &str,
    ) -> Result<(), ImportError> {
        report.rejected += 1;
        match &self.mode {
            ReportFiles::InMemory(max) => {
                if report.reject_samples.len() < *max {
                    report.reject_samples.push((row.line, row.key.clone(), reason.to_owned()));
                }
            }
            ReportFiles::Beside(input) => {
                if self.rejects.is_none() {
                    let path = sibling(input, ".rejects.tsv");
                    self.rejects = Some(Self::open(
                        &path,
                        "line\tkey\treason\trecord (the input record, verbatim)",
                    )?);
                    report.rejects_file = Some(path);
                }
                if let Some(w) = self.rejects.as_mut() {
                    writeln!(
                        w,
                        "{}\t{}\t{}\t{}",
                        row.line,
                        one_line(&row.key),
                        one_line(reason),
                        one_line(&row.raw)
                    )
                    .map_err(|e| ImportError::io("writing the rejects file", e))?;
                }
            }
        }
        Ok(())
    }

    fn warn(
        &mut self,
        report: &mut ImportReport,
        row: &RowRef,
        note: &str,
    ) -> Result<(), ImportError> {
        report.warnings += 1;
        match &self.mode {
            ReportFiles::InMemory(max) => {
                if report.warning_samples.len() < *max {
                    report.warning_samples.push((row.line, row.key.clone(), note.to_owned()));
                }
            }
            ReportFiles::Beside(input) => {
                if self.warnings.is_none() {
                    let path = sibling(input, ".warnings.tsv");
                    self.warnings = Some(Self::open(&path, "line\tkey\tdropped value")?);
                    report.warnings_file = Some(path);
                }
                if let Some(w) = self.warnings.as_mut() {
                    writeln!(w, "{}\t{}\t{}", row.line, one_line(&row.key), one_line(note))
                        .map_err(|e| ImportError::io("writing the warnings file", e))?;
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ImportError> {
        for w in [self.rejects.as_mut(), self.warnings.as_mut()].into_iter().flatten() {
            w.flush().map_err(|e| ImportError::io("flushing a report file", e))?;
        }
        Ok(())
    }
}

/// Counts bytes consumed by the parser, for progress.
#[derive(Debug, Clone, Default)]
pub struct ByteCounter(Arc<AtomicU64>);

impl ByteCounter {
    /// Adds bytes read.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Bytes read so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Sends parsed rows to the writer in batches (used by the blocking parsers).
pub struct BatchSender {
    tx: mpsc::Sender<Vec<Parsed>>,
    buf: Vec<Parsed>,
}

impl BatchSender {
    /// Queues a row; returns `false` when the writer has stopped (the parser should stop too).
    pub fn push(&mut self, p: Parsed) -> bool {
        match &p {
            Parsed::Skip => return true,
            // Hash and validate here, on the parsing thread, not on the database writer's.
            Parsed::Write { write: Write::Product(w), .. } => {
                w.check();
            }
            _ => {}
        }
        self.buf.push(p);
        if self.buf.len() >= BATCH_ROWS {
            return self.flush();
        }
        true
    }

    fn flush(&mut self) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        let batch = std::mem::replace(&mut self.buf, Vec::with_capacity(BATCH_ROWS));
        self.tx.blocking_send(batch).is_ok()
    }
}

impl Drop for BatchSender {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Imports that write at least this many rows refresh the planner's statistics at the end.
const ANALYZE_AFTER_ROWS: u64 = 1_000;

/// Refreshes the planner's statistics after a bulk write; a failure is logged, not fatal (the
/// data is written; the database's own autovacuum catches up later).
pub(crate) async fn refresh_statistics(store: &dyn CatalogStore) {
    if let Err(e) = store.refresh_statistics().await {
        tracing::warn!(error = %e, "could not refresh the database's statistics after the import");
    }
}

/// Runs an import: `parse` runs on a blocking thread and pushes rows; this task writes them.
pub async fn run<P>(
    store: Arc<dyn CatalogStore>,
    source: Source,
    files: ReportFiles,
    progress: &dyn Progress,
    parse: P,
) -> Result<ImportReport, ImportError>
where
    P: FnOnce(Source, &mut BatchSender) -> Result<(), ImportError> + Send + 'static,
{
    let started = Instant::now();
    let counter = source.counter();
    progress.start(source.total_bytes());
    let (tx, mut rx) = mpsc::channel::<Vec<Parsed>>(4);
    let parser = tokio::task::spawn_blocking(move || {
        let mut sender = BatchSender { tx, buf: Vec::with_capacity(BATCH_ROWS) };
        parse(source, &mut sender)
    });

    let mut report = ImportReport::default();
    let mut sink = Sink::new(files)?;
    let write_result: Result<(), ImportError> = async {
        while let Some(batch) = rx.recv().await {
            write_batch(store.as_ref(), batch, &mut sink, &mut report).await?;
            progress.update(counter.get(), report.rows);
        }
        Ok(())
    }
    .await;
    // Stop the parser if writing failed (it sees the closed channel), then collect its result.
    drop(rx);
    let parse_result = parser
        .await
        .map_err(|e| ImportError::Format(format!("the parser stopped unexpectedly: {e}")))?;
    write_result?;
    parse_result?;
    sink.finish()?;
    if report.accepted + report.updated >= ANALYZE_AFTER_ROWS {
        refresh_statistics(store.as_ref()).await;
    }
    progress.finish();
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Consecutive writes of one kind, with the rows they came from.
enum Pending {
    Products(Vec<ProductWrite>),
    Stores(Vec<StoreWrite>),
    Offers(Vec<OfferWrite>),
    Rules(Vec<crate::model::RuleWrite>),
}

impl Pending {
    fn accepts(&self, w: &Write) -> bool {
        matches!(
            (self, w),
            (Self::Products(_), Write::Product(_))
                | (Self::Stores(_), Write::Store(_))
                | (Self::Offers(_), Write::Offer(_))
                | (Self::Rules(_), Write::Rule(_))
        )
    }

    fn push(&mut self, w: Write) {
        match (self, w) {
            (Self::Products(v), Write::Product(p)) => v.push(*p),
            (Self::Stores(v), Write::Store(s)) => v.push(*s),
            (Self::Offers(v), Write::Offer(o)) => v.push(*o),
            (Self::Rules(v), Write::Rule(r)) => v.push(*r),
            _ => {}
        }
    }

    async fn write(&self, store: &dyn CatalogStore) -> Result<Vec<WriteOutcome>, StoreError> {
        match self {
            Self::Products(v) => store.upsert_products(v).await,
            Self::Stores(v) => store.upsert_stores(v).await,
            Self::Offers(v) => store.upsert_offers(v).await,
            Self::Rules(v) => store.upsert_rules(v).await,
        }
    }

    fn start(w: Write) -> Self {
        match w {
            Write::Product(p) => Self::Products(vec![*p]),
            Write::Store(s) => Self::Stores(vec![*s]),
            Write::Offer(o) => Self::Offers(vec![*o]),
            Write::Rule(r) => Self::Rules(vec![*r]),
        }
    }
}

async fn write_batch(
    store: &dyn CatalogStore,
    batch: Vec<Parsed>,
    sink: &mut Sink,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    // Writes are grouped into runs of one kind and written; then every row is reported in
    // input order (parse rejections and write outcomes interleaved as in the file).
    enum Row {
        Rejected(RowRef, String),
        Written(RowRef, Vec<String>),
    }
    let mut rows: Vec<Row> = Vec::with_capacity(batch.len());
    let mut outcomes: Vec<WriteOutcome> = Vec::with_capacity(batch.len());
    let mut pending: Option<Pending> = None;
    for p in batch {
        match p {
            Parsed::Skip => {}
            Parsed::Reject { row, reason } => rows.push(Row::Rejected(row, reason)),
            Parsed::Write { row, write, warnings } => {
                match pending.as_mut() {
                    Some(run) if run.accepts(&write) => run.push(write),
                    _ => {
                        if let Some(run) = pending.take() {
                            outcomes.extend(run.write(store).await?);
                        }
                        pending = Some(Pending::start(write));
                    }
                }
                rows.push(Row::Written(row, warnings));
            }
        }
    }
    if let Some(run) = pending {
        outcomes.extend(run.write(store).await?);
    }
    let written = rows.iter().filter(|r| matches!(r, Row::Written(..))).count();
    if outcomes.len() != written {
        return Err(ImportError::Store(StoreError::Corrupt(format!(
            "the store reported {} outcomes for {written} rows",
            outcomes.len()
        ))));
    }
    let mut outcomes = outcomes.into_iter();
    for row in rows {
        report.rows += 1;
        match row {
            Row::Rejected(row, reason) => sink.reject(report, &row, &reason)?,
            Row::Written(row, warnings) => match outcomes.next() {
                Some(WriteOutcome::Rejected(reason)) => sink.reject(report, &row, &reason)?,
                Some(outcome) => {
                    match outcome {
                        WriteOutcome::Inserted => report.accepted += 1,
                        WriteOutcome::Updated => report.updated += 1,
                        _ => report.unchanged += 1,
                    }
                    for w in &warnings {
                        sink.warn(report, &row, w)?;
                    }
                }
                None => {}
            },
        }
    }
    Ok(())
}

/// Imports a file of the given kind (format detected from its content).
pub async fn import_file(
    store: Arc<dyn CatalogStore>,
    kind: ImportKind,
    path: &Path,
    files: ReportFiles,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    let source = Source::open(path)?;
    import_source(store, kind, source, files, progress).await
}

/// Imports from an already opened source.
pub async fn import_source(
    store: Arc<dyn CatalogStore>,
    kind: ImportKind,
    source: Source,
    files: ReportFiles,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    match kind {
        ImportKind::Off => run(store, source, files, progress, off::parse).await,
        ImportKind::Stores => run(store, source, files, progress, stores::parse).await,
        ImportKind::Offers => run(store, source, files, progress, offers::parse).await,
        ImportKind::Catalog => run(store, source, files, progress, catalog::parse).await,
        ImportKind::Rules => run(store, source, files, progress, rules::parse).await,
    }
}
