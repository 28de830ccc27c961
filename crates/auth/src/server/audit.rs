//! The QR quota (counted from the audit log) and the durable audit log.

use std::time::Duration;

use time::OffsetDateTime;

use crate::clock::stamp;
use crate::store::AuditRecord;

use super::AuthServer;

impl AuthServer {
    /// Checks a user's QR quota; `Err(seconds)` until the next allowance when exhausted.
    pub async fn check_qr_quota(&self, user_id: i64) -> Result<(), u64> {
        let now = self.now();
        let day = now.replace_time(time::Time::MIDNIGHT);
        let month = day.replace_day(1).unwrap_or(day);
        let used = |since: OffsetDateTime| {
            let since = stamp(since);
            async move {
                self.store.count_audit(user_id, "generate_qr_url", "ok", &since).await.unwrap_or(0)
            }
        };
        if used(month).await >= u64::from(self.config.qr_per_month) {
            let next = if month.month() == time::Month::December {
                month
                    .replace_year(month.year() + 1)
                    .and_then(|m| m.replace_month(time::Month::January))
            } else {
                month.replace_month(month.month().next())
            }
            .unwrap_or(month + Duration::from_secs(31 * 86400));
            return Err((next - now).whole_seconds().max(1) as u64);
        }
        if used(day).await >= u64::from(self.config.qr_per_day) {
            return Err(((day + Duration::from_secs(86400)) - now).whole_seconds().max(1) as u64);
        }
        Ok(())
    }

    /// Appends a durable audit row.
    pub async fn audit(&self, row: AuditRecord) {
        let row = AuditRecord {
            occurred_at: if row.occurred_at.is_empty() {
                stamp(self.now())
            } else {
                row.occurred_at
            },
            ..row
        };
        if let Err(e) = self.store.audit(&row).await {
            tracing::error!(error = %e, action = row.action, "writing an audit row failed");
        }
    }
}
