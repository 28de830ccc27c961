//! The paging parameters every REST list shares (docs/spec.md §7): `page` (from 1, default 1) and
//! `page_size` (1-100, default 20), declared once here so that every list documents and checks
//! them alike; the lists answer with the `pagination` envelope
//! (`catalog::rules_admin::Pagination`: `page`, `page_size`, `total`, `total_pages`).

use super::params::{Checked, Kind, ParamSpec};

/// Largest `page` accepted.
const MAX_PAGE: i64 = 1_000_000;
/// Default `page_size`.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// The `page` and `page_size` parameters of a list; `per_page` describes `page_size`
/// (e.g. "Rules per page (1-100).").
pub const fn params(per_page: &'static str) -> [ParamSpec; 2] {
    [
        ParamSpec::optional("page", Kind::Integer { min: 1, max: MAX_PAGE }, "The page, from 1.")
            .with_default("1"),
        ParamSpec::optional("page_size", Kind::Integer { min: 1, max: 100 }, per_page)
            .with_default("20"),
    ]
}

/// The checked `page` and `page_size` (defaults when absent).
pub fn page(checked: &Checked) -> (u64, u64) {
    let get = |name, default| {
        checked.integer(name).and_then(|v| u64::try_from(v).ok()).unwrap_or(default)
    };
    (get("page", 1), get("page_size", DEFAULT_PAGE_SIZE))
}
