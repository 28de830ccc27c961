//! The lexical leg of `search_products`: the in-memory [`LexicalIndex`] of every product's
//! search document, loaded from the store and kept in step with it. Documents are read in
//! write order (those other processes wrote included: `prodlink import`, a second server on
//! the same database), analyzed outside the index's lock, on as many threads as there are
//! cores, and inserted in pages, so searches keep running while a large catalog loads.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use gs1::Gtin14;
use search::lexical::{self, ParsedQuery};
use search::text::{Analyzer, Lang};
use search::{Document, LexicalIndex, LexicalMatch};
use serde::Serialize;

use crate::error::ServiceError;
use crate::store::{CatalogStore, SearchCursor, SearchDocument};

/// Search documents read per page.
const PAGE: usize = 2_000;

/// The lexical search state shared by every request and the background indexer.
pub struct Lexical {
    index: RwLock<LexicalIndex<Gtin14>>,
    analyzer: Arc<Analyzer>,
    /// Where reading stopped; its lock also lets one catch-up run at a time.
    cursor: tokio::sync::Mutex<SearchCursor>,
    loaded: AtomicBool,
    /// A background task keeps the index (searches never load it themselves).
    kept: AtomicBool,
}

impl std::fmt::Debug for Lexical {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexical").field("documents", &self.len()).finish_non_exhaustive()
    }
}

impl Default for Lexical {
    fn default() -> Self {
        Self::new()
    }
}

/// What `/mcp/health` reports about the lexical leg.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LexicalStatus {
    /// Every search document stored when the process started is loaded.
    pub ready: bool,
    /// Products in the in-memory index.
    pub indexed: usize,
    /// Products whose search document is still to be (re)built.
    pub pending: u64,
    /// Distinct terms in the index.
    pub terms: usize,
    /// Memory the index holds, approximately, in MiB.
    pub memory_mib: f64,
}

fn poisoned() -> ServiceError {
    ServiceError::Internal("lexical index lock poisoned".into())
}

impl Lexical {
    /// An empty index.
    pub fn new() -> Self {
        let analyzer = Arc::new(Analyzer::new());
        Self {
            index: RwLock::new(LexicalIndex::new(Arc::clone(&analyzer))),
            analyzer,
            cursor: tokio::sync::Mutex::new((0, String::new())),
            loaded: AtomicBool::new(false),
            kept: AtomicBool::new(false),
        }
    }

    /// Whether the documents stored at start are loaded (until then, results are incomplete).
    pub fn ready(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Products in the index.
    pub fn len(&self) -> usize {
        self.index.read().map(|i| i.len()).unwrap_or(0)
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Progress for health reports.
    pub async fn status(&self, store: &dyn CatalogStore) -> Result<LexicalStatus, ServiceError> {
        let pending = store.search_backlog().await?;
        let (indexed, terms, bytes) = self
            .index
            .read()
            .map(|i| (i.len(), i.term_count(), i.memory_bytes()))
            .map_err(|_| poisoned())?;
        let memory_mib = (bytes as f64 / 1048576.0 * 10.0).round() / 10.0;
        Ok(LexicalStatus { ready: self.ready(), indexed, pending, terms, memory_mib })
    }

    /// Reads the documents written since the last read into the index — at first all of them;
    /// returns how many were read. The first complete read marks the index ready.
    pub async fn catch_up(&self, store: &dyn CatalogStore) -> Result<usize, ServiceError> {
        let mut cursor = self.cursor.lock().await;
        self.read_pages(store, &mut cursor).await
    }

    /// Records that a background task keeps the index in step with the store.
    pub fn kept_in_background(&self) {
        self.kept.store(true, Ordering::Release);
    }

    /// Loads the index unless it is loaded, a background task keeps it, or another task is
    /// loading it: for a catalog that no background indexer keeps (tests, one-off tools).
    /// Never waits for a running load.
    pub async fn load_if_idle(&self, store: &dyn CatalogStore) -> Result<(), ServiceError> {
        if self.ready() || self.kept.load(Ordering::Acquire) {
            return Ok(());
        }
        if let Ok(mut cursor) = self.cursor.try_lock() {
            self.read_pages(store, &mut cursor).await?;
        }
        Ok(())
    }

    async fn read_pages(
        &self,
        store: &dyn CatalogStore,
        cursor: &mut SearchCursor,
    ) -> Result<usize, ServiceError> {
        let mut total = 0;
        loop {
            let (page, next) = store.search_documents(cursor, PAGE).await?;
            let n = page.len();
            if n > 0 {
                let analyzer = Arc::clone(&self.analyzer);
                let analyzed = tokio::task::spawn_blocking(move || analyze_page(&analyzer, page))
                    .await
                    .map_err(|e| ServiceError::Internal(format!("indexing: {e}").into()))?;
                let mut index = self.index.write().map_err(|_| poisoned())?;
                for (gtin, doc) in analyzed {
                    match doc {
                        Some(doc) => index.insert_analyzed(gtin, doc),
                        None => index.remove(&gtin),
                    }
                }
            }
            total += n;
            if let Some(c) = next {
                *cursor = c;
            }
            if n < PAGE {
                break;
            }
        }
        if total > 0 {
            // The vocabulary of prefixes and typos, once per catch-up (tens of milliseconds).
            self.index.write().map_err(|_| poisoned())?.refresh_vocabulary();
        }
        self.loaded.store(true, Ordering::Release);
        Ok(total)
    }

    /// Parses a query against the index's vocabulary (its words' stems, synonyms and, for
    /// words the catalog lacks, corrections).
    pub fn parse(&self, query: &str) -> Result<ParsedQuery, ServiceError> {
        Ok(self.index.read().map_err(|_| poisoned())?.parse(query))
    }

    /// The `k` best products for a parsed query, among `allow` when given, best first.
    pub async fn candidates(
        self: &Arc<Self>,
        parsed: Arc<ParsedQuery>,
        allow: Option<Arc<HashSet<Gtin14>>>,
        k: usize,
    ) -> Result<Vec<LexicalMatch<Gtin14>>, ServiceError> {
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let index = this.index.read().map_err(|_| poisoned())?;
            Ok(match &allow {
                None => index.search_parsed(&parsed, k, None),
                Some(set) => {
                    let allow = |g: &Gtin14| set.contains(g);
                    index.search_parsed(&parsed, k, Some(&allow))
                }
            })
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("lexical search: {e}").into()))?
    }

    /// The lexical match of each product for a parsed query (`None` where it matches nothing).
    pub fn score(
        &self,
        parsed: &ParsedQuery,
        gtins: &[Gtin14],
    ) -> Result<Vec<Option<LexicalMatch<Gtin14>>>, ServiceError> {
        let index = self.index.read().map_err(|_| poisoned())?;
        Ok(index.score_keys(parsed, gtins))
    }
}

/// Analyzes a page of documents on every core (`None` for a deleted product).
fn analyze_page(
    analyzer: &Analyzer,
    page: Vec<SearchDocument>,
) -> Vec<(Gtin14, Option<lexical::AnalyzedDocument>)> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).max(1);
    let chunk = page.len().div_ceil(threads).max(1);
    let one = |d: &SearchDocument| {
        let doc = (!d.deleted).then(|| {
            let fields = [0, 1, 2, 3, 4, 5].map(|i| d.fields[i].as_str());
            let lang = d.lang.as_deref().and_then(Lang::from_code);
            lexical::analyze(analyzer, &Document { lang, fields })
        });
        (d.gtin, doc)
    };
    if threads == 1 || page.len() < 64 {
        return page.iter().map(one).collect();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = page
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}
