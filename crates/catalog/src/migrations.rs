//! The schema migrations of both backends as sqlx runs them. A migration whose comments were
//! reworded after it shipped keeps the checksum it was first applied with (pinned below), so
//! databases migrated before the rewording still start; only comment lines may change in a
//! pinned file.

use std::borrow::Cow;
use std::sync::LazyLock;

use sqlx::migrate::Migrator;

/// SQLite migrations whose comments now cite `docs/spec.md §N` instead of the original
/// specification's section marks (the same numbering): version, SHA-384 of the text first applied.
const SQLITE_PINNED: &[(i64, &str)] = &[
    (
        1,
        "423ec0ec61835ab11c074864cf6711eab963607b2b17dfb1e00e7028622f1cf87cc90c2c5fdfcaa4fdd92cb6f961f847",
    ),
    (
        3,
        "606800fbe0a82ac619b61ea3e7344ca5889bcd1be25630b44b5e356503e530186c11784b7eb7425fa3712e5aa5544f40",
    ),
    (
        4,
        "dea6c973a859e1acfb8a6a0fdb89f17995e03f7dd74082e79d94ac7090f4c30e3daea14c9c8d17ca590071a582aee6d1",
    ),
    (
        6,
        "b9bb17a4444f6cddc2f6f48f4bf6d08b1442c1323fe62c9ddd755aed9c57b3557a3f66d2e82732ba7e6bb9580c8b7afc",
    ),
    (
        8,
        "3994a19a340d773e9c352f274384cbbed92c3df4af02b051459bd58129c8cdd6193255c18dfd971afbd05804289a3957",
    ),
    (
        12,
        "16f8f924a134fc1bb59a3b63cb5ebaba5e88fc55dfa8ac8bbcddbba9c5c5b19b28fe959f321f83c9cb9ab84f89c336ba",
    ),
];

/// PostgreSQL migrations pinned the same way.
const POSTGRES_PINNED: &[(i64, &str)] = &[
    (
        1,
        "9d2827f1d0c72897372b948a379cb4404ea72b116e043162fb7e4fcba2f84fe89887d0f8efdd770ae9a56b9209a05fa8",
    ),
    (
        5,
        "9e4b171a5c6c93c2b35b719e334ed3fa239c2445f4a3091cc39cc2b9fffc327c651f5694a921a090658b2b2c5a16a5a2",
    ),
];

/// The SQLite migrations.
pub(crate) static SQLITE: LazyLock<Migrator> =
    LazyLock::new(|| pinned(&sqlx::migrate!("./migrations/sqlite"), SQLITE_PINNED));

/// The PostgreSQL migrations.
pub(crate) static POSTGRES: LazyLock<Migrator> =
    LazyLock::new(|| pinned(&sqlx::migrate!("./migrations/postgres"), POSTGRES_PINNED));

/// `embedded` with the checksums of `pins` in place of the computed ones.
fn pinned(embedded: &Migrator, pins: &[(i64, &str)]) -> Migrator {
    let migrations = embedded
        .iter()
        .cloned()
        .map(|mut m| {
            if let Some(sum) =
                pins.iter().find(|(v, _)| *v == m.version).and_then(|(_, h)| hex::decode(h).ok())
            {
                m.checksum = Cow::Owned(sum);
            }
            m
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use sha2::{Digest as _, Sha384};

    use super::*;

    /// Every pin is a SHA-384, names a migration that exists, and is needed (the file's text
    /// changed since); every other migration keeps the checksum of its text.
    fn check(migrator: &Migrator, pins: &[(i64, &str)], dir: &str) {
        for (version, hex_sum) in pins {
            assert_eq!(hex::decode(hex_sum).unwrap().len(), 48, "pin of {version}");
            assert!(migrator.version_exists(*version), "pin of a missing migration {version}");
        }
        let files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        for m in migrator.iter() {
            let prefix = format!("{:04}_", m.version);
            let file = files
                .iter()
                .find(|f| f.file_name().unwrap().to_str().unwrap().starts_with(&prefix))
                .unwrap();
            let text = Sha384::digest(std::fs::read(file).unwrap()).to_vec();
            match pins.iter().find(|(v, _)| *v == m.version) {
                Some((_, h)) => {
                    assert_eq!(m.checksum.as_ref(), hex::decode(h).unwrap().as_slice());
                    assert_ne!(m.checksum.as_ref(), text.as_slice(), "{file:?}: pin not needed");
                }
                None => assert_eq!(m.checksum.as_ref(), text.as_slice(), "{file:?}"),
            }
        }
    }

    #[test]
    fn pinned_checksums_stand_only_for_reworded_migrations() {
        let root = env!("CARGO_MANIFEST_DIR");
        check(&SQLITE, SQLITE_PINNED, &format!("{root}/migrations/sqlite"));
        check(&POSTGRES, POSTGRES_PINNED, &format!("{root}/migrations/postgres"));
    }
}
