//! [`RetailDb`](crate::store::RetailDb) on SQLite (see [`crate::retail`]): the statements and
//! body of [`crate::sql::retail`], with reads run once and retailers looked up by a JSON list
//! of names.

use super::SqliteStore;
use crate::write_plan::json_string_list;

/// The names as one JSON array, for `json_each`.
fn json_names(names: &[String]) -> String {
    json_string_list(names.iter().map(String::as_str))
}

crate::sql::retail::retail_db_impl! {
    store: SqliteStore,
    db: sqlx::Sqlite,
    read: crate::sql::read_once,
    retailers_named: crate::sql::retail::SQLITE_RETAILERS_NAMED,
    names: json_names,
}
