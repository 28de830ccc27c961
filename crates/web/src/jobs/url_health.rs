//! The custom-URL health check (docs/spec.md §5): a background task that asks every brand URL a
//! resolver rule redirects to whether it still answers, a few at a time, through the
//! SSRF-guarded client (public addresses only, no redirects followed, a time limit). A URL
//! that fails `failures_to_dead` checks in a row is marked dead — the resolver then skips the
//! rule or falls back to the hosted page, as the rule says — and alive again on its next
//! success.

use std::sync::Arc;
use std::time::Duration;

use auth::cimd::{FetchPolicy, SystemLookup, guarded_client, url_host_allowed};
use catalog::CatalogStore;
use tokio::task::JoinSet;

/// Health-check settings.
#[derive(Debug, Clone)]
pub struct UrlHealthSettings {
    /// How often each URL is checked (and how often the task wakes up).
    pub interval: Duration,
    /// Consecutive failures that mark a URL dead.
    pub failures_to_dead: u32,
    /// URLs checked at the same time.
    pub concurrency: usize,
    /// URLs checked per round at most.
    pub batch: u32,
    /// Which addresses may be contacted (tests allow loopback), and the time limit.
    pub policy: FetchPolicy,
}

impl Default for UrlHealthSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(300),
            failures_to_dead: 3,
            concurrency: 8,
            batch: 500,
            policy: FetchPolicy { timeout: Duration::from_secs(10), ..FetchPolicy::default() },
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// URLs checked.
    pub checked: u32,
    /// Of those, answering.
    pub alive: u32,
    /// Of those, marked dead now or still dead.
    pub dead: u32,
}

/// The checker.
pub struct UrlHealth {
    store: Arc<dyn CatalogStore>,
    client: reqwest::Client,
    settings: UrlHealthSettings,
}

/// Whether `url` answers: any status below 400 after a HEAD (or a GET when HEAD is not
/// allowed); redirects count as answers (they are not followed).
async fn answers(client: &reqwest::Client, url: &str, policy: &FetchPolicy) -> bool {
    let Ok(parsed) = url::Url::parse(url) else { return false };
    if !matches!(parsed.scheme(), "http" | "https") || !url_host_allowed(&parsed, policy) {
        return false;
    }
    match client.head(parsed.clone()).send().await {
        Ok(r) if matches!(r.status().as_u16(), 405 | 501) => {
            client.get(parsed).send().await.is_ok_and(|r| r.status().as_u16() < 400)
        }
        Ok(r) => r.status().as_u16() < 400,
        Err(_) => false,
    }
}

impl UrlHealth {
    /// A checker over a store.
    pub fn new(store: Arc<dyn CatalogStore>, settings: UrlHealthSettings) -> Result<Self, String> {
        let client = guarded_client(
            &settings.policy,
            Arc::new(SystemLookup),
            concat!("prodlink/", env!("CARGO_PKG_VERSION"), " (link check)"),
        )?;
        Ok(Self { store, client, settings })
    }

    /// Checks the URLs that are due (never checked, or checked more than an interval ago).
    pub async fn round(&self) -> Result<RoundReport, catalog::store::StoreError> {
        let due_before = jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::try_from(self.settings.interval).unwrap_or_default())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_string();
        let now = jiff::Timestamp::now().to_string();
        let due = self.store.custom_urls_due(&due_before, self.settings.batch, &now).await?;
        let mut report = RoundReport::default();
        let mut tasks = JoinSet::new();
        let mut pending = due.into_iter();
        let concurrency = self.settings.concurrency.max(1);
        loop {
            while tasks.len() < concurrency {
                let Some((id, url)) = pending.next() else { break };
                let client = self.client.clone();
                let policy = self.settings.policy.clone();
                tasks.spawn(async move { (id, answers(&client, &url, &policy).await, url) });
            }
            let Some(done) = tasks.join_next().await else { break };
            let Ok((id, alive, url)) = done else { continue };
            let now = jiff::Timestamp::now().to_string();
            let status = self
                .store
                .record_url_check(id, alive, self.settings.failures_to_dead, &now)
                .await?;
            report.checked += 1;
            if alive {
                report.alive += 1;
            } else if status == "dead" {
                report.dead += 1;
                tracing::warn!(rule_id = id, url = %url, "custom URL is dead");
            }
        }
        Ok(report)
    }

    /// Runs rounds forever, one per interval.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(self.settings.interval.max(Duration::from_secs(1)));
            loop {
                tick.tick().await;
                match self.round().await {
                    Ok(r) if r.checked > 0 => {
                        tracing::info!(
                            checked = r.checked,
                            alive = r.alive,
                            dead = r.dead,
                            "custom URLs checked"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "custom URL check failed"),
                }
            }
        })
    }
}
