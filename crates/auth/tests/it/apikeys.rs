//! API keys and organizations on both backends: a key is made for an organization with REST
//! scopes, validated (a mistyped one is refused by its checksum before any lookup), stored only
//! as a hash, listed without secrets, marks its last use at most once a minute, and is refused
//! once revoked — at once by the process that revoked it even when cached, and on PostgreSQL by
//! every other process as well; users belong to organizations, and a change is seen at once.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use auth::apikey::{self, ApiKeyError};
use auth::secrets;
use auth::store::ApiKeyRecord;
use auth::{InvalidApiKey, ManageError};
use common::*;

on_both_backends!(
    api_keys_validate_list_and_revoke,
    a_mistyped_key_is_refused_without_a_lookup,
    the_schema_refuses_bad_api_keys,
    users_belong_to_organizations,
    revocations_and_organization_changes_reach_other_processes,
);

/// Runs a statement that may fail; whether it succeeded.
async fn try_execute(db: &TestDb, sql: &'static str) -> bool {
    db.try_execute(sql, &[]).await.is_ok()
}

/// The key's row, read through the server's listing.
async fn listed(h: &Harness, id: i64) -> ApiKeyRecord {
    h.server.list_api_keys(None).await.unwrap().into_iter().find(|k| k.id == id).unwrap()
}

/// Waits (up to 2 s) until the key's `last_used_at` differs from `before`; returns it.
async fn last_use_after(h: &Harness, id: i64, before: Option<&str>) -> String {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let now = listed(h, id).await.last_used_at;
        if let Some(t) = now.filter(|t| Some(t.as_str()) != before) {
            return t;
        }
        assert!(Instant::now() < deadline, "last_used_at still {before:?} after 2 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn api_keys_validate_list_and_revoke(b: Backend) {
    let h = harness(b).await;
    let s = &h.server;
    let acme = s.create_organization("  Acme Foods ").await.unwrap();
    let other = s.create_organization("Globex").await.unwrap();
    let (record, key) = s
        .create_api_key(
            acme,
            "Nightly sync",
            "products:write  products:read",
            Some(120),
            Some(h.user.id),
        )
        .await
        .unwrap();
    assert_eq!(apikey::check_format(&key), Ok(()));
    assert_eq!(record.prefix, key[..15]);
    assert_eq!(
        (record.name.as_str(), record.organization_id, record.organization_name.as_str()),
        ("Nightly sync", acme, "Acme Foods")
    );
    assert_eq!(record.scopes, ["products:read", "products:write"]);
    assert_eq!(record.rate_limit_per_minute, Some(120));
    assert_eq!(record.created_by_user_id, Some(h.user.id));
    assert_eq!((record.last_used_at.as_deref(), record.revoked_at.as_deref()), (None, None));
    let (plain, plain_key) =
        s.create_api_key(other, "Feed", "accounts:read", None, None).await.unwrap();
    assert_eq!(plain.rate_limit_per_minute, None);
    assert_ne!(plain_key, key);

    // Only the SHA-256 of the key is stored; no column holds the key.
    let id = [Arg::Int(record.id)];
    let stored = h.db.text("SELECT secret_hash FROM api_keys WHERE id = $1", &id).await.unwrap();
    assert_eq!(stored, secrets::hash(&key));
    let plaintext = [Arg::Text(Some(&key))];
    let holding =
        h.db.int(
            "SELECT count(*) FROM api_keys WHERE secret_hash = $1 OR prefix = $1 OR name = $1 \
             OR scopes = $1",
            &plaintext,
        )
        .await;
    assert_eq!(holding, 0);

    // Valid: the organization, scopes and limit come back.
    let info = s.validate_api_key(&key).await.unwrap();
    assert_eq!(
        (info.id, info.organization_id, info.name.as_str(), info.prefix.as_str()),
        (record.id, acme, "Nightly sync", &key[..15])
    );
    assert_eq!(info.scopes, ["products:read", "products:write"]);
    assert_eq!(info.rate_limit_per_minute, Some(120));
    assert_eq!(s.validate_api_key(&plain_key).await.unwrap().organization_id, other);

    // Refusals: unknown but well-formed, not a key, cut off.
    assert_eq!(s.validate_api_key(&apikey::generate()).await, Err(InvalidApiKey::Unknown));
    assert_eq!(
        s.validate_api_key("pl_at_abc").await,
        Err(InvalidApiKey::Format(ApiKeyError::NotAnApiKey))
    );
    let cut = s.validate_api_key(&key[..40]).await.unwrap_err();
    assert!(cut.to_string().contains("cut off"), "{cut}");

    // The last use is recorded (in the background), then not again within a minute; a
    // minute later it is.
    let first = last_use_after(&h, record.id, None).await;
    s.validate_api_key(&key).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(listed(&h, record.id).await.last_used_at.as_deref(), Some(first.as_str()));
    h.clock.advance(61);
    s.validate_api_key(&key).await.unwrap();
    let second = last_use_after(&h, record.id, Some(&first)).await;
    assert!(second > first, "{second} <= {first}");

    // Listing: by organization or all, by id, and never a secret or its hash.
    let all = s.list_api_keys(None).await.unwrap();
    assert_eq!(all.iter().map(|k| k.id).collect::<Vec<_>>(), [record.id, plain.id]);
    let mine = s.list_api_keys(Some(acme)).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, record.id);
    assert!(s.list_api_keys(Some(acme + 1000)).await.unwrap().is_empty());
    let shown = format!("{all:?}");
    for secret in [&key, &plain_key, &secrets::hash(&key), &secrets::hash(&plain_key)] {
        assert!(!shown.contains(secret.as_str()), "a listing shows {secret}");
    }
    assert!(!shown.contains(&key[15..30]), "a listing shows more than the prefix");

    // Revoking: refused at once although the validation is cached; revoking again or an
    // unknown id changes nothing. The other key still works.
    assert!(s.validate_api_key(&key).await.is_ok());
    assert!(s.revoke_api_key(record.id).await.unwrap());
    assert_eq!(s.validate_api_key(&key).await, Err(InvalidApiKey::Revoked));
    assert!(!s.revoke_api_key(record.id).await.unwrap());
    assert!(!s.revoke_api_key(record.id + 1000).await.unwrap());
    assert!(listed(&h, record.id).await.revoked_at.is_some());
    assert!(s.validate_api_key(&plain_key).await.is_ok());

    // What cannot be made, with the reason.
    let refused = [
        (acme, "X", "qr:generate", None, "MCP scope"),
        (acme, "X", "products:read products:delete", None, "\"products:delete\" is not a scope"),
        (acme, "X", "", None, "at least one scope"),
        (acme, " ", "products:read", None, "1 to 200 characters"),
        (acme, "X", "products:read", Some(0), "out of range"),
        (acme + 1000, "X", "products:read", None, "no organization with id"),
    ];
    for (org, name, scopes, rate, why) in refused {
        match s.create_api_key(org, name, scopes, rate, None).await {
            Err(ManageError::Invalid(m)) => assert!(m.contains(why), "{m} (expected {why})"),
            other => panic!("{scopes:?} {rate:?}: {other:?}"),
        }
    }
    let qr = s.create_api_key(acme, "X", "qr:generate", None, None).await.unwrap_err();
    assert!(
        qr.to_string().contains("products:read products:write rules:write accounts:read"),
        "{qr}"
    );
}

async fn a_mistyped_key_is_refused_without_a_lookup(b: Backend) {
    let h = harness(b).await;
    let org = h.server.create_organization("Acme").await.unwrap();
    let (_, key) = h.server.create_api_key(org, "k", "products:read", None, None).await.unwrap();
    let mut typo = key.clone().into_bytes();
    typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let e = h.server.validate_api_key(&typo).await.unwrap_err();
    assert_eq!(e, InvalidApiKey::Format(ApiKeyError::ChecksumMismatch));
    assert!(e.to_string().contains("mistyped or truncated"), "{e}");

    // With the database gone, a lookup fails: format errors still come back as such (no
    // lookup was made), while a well-formed key cannot be checked.
    h.db.close().await;
    assert_eq!(
        h.server.validate_api_key(&typo).await,
        Err(InvalidApiKey::Format(ApiKeyError::ChecksumMismatch))
    );
    assert_eq!(
        h.server.validate_api_key(&apikey::generate()).await,
        Err(InvalidApiKey::Unavailable)
    );
}

async fn the_schema_refuses_bad_api_keys(b: Backend) {
    let db = TestDb::new(b).await;
    db.execute(
        "INSERT INTO organizations (name, created_at, updated_at) VALUES ('Acme', 't', 't')",
        &[],
    )
    .await;
    assert!(
        try_execute(
            &db,
            "INSERT INTO api_keys (prefix, secret_hash, name, organization_id, scopes, created_at) \
             VALUES ('pl_key_abcdefgh', '0000000000000000000000000000000000000000000000000000000000000000', 'k', 1, 'accounts:read products:read products:write rules:write', 't')"
        )
        .await,
        "a valid row was refused"
    );
    let refused = [
        // scopes: MCP's, unknown, empty, badly spaced
        "INSERT INTO api_keys (prefix, secret_hash, name, organization_id, scopes, created_at) VALUES ('pl_key_abcdefgh', '1111111111111111111111111111111111111111111111111111111111111111', 'k', 1, 'qr:generate', 't')",
        "INSERT INTO api_keys (prefix, secret_hash, name, organization_id, scopes, created_at) VALUES ('pl_key_abcdefgh', '1111111111111111111111111111111111111111111111111111111111111111', 'k', 1, 'products:read products:readx', 't')",
        "INSERT INTO api_keys (prefix, secret_hash, name, organization_id, scopes, created_at) VALUES ('pl_key_abcdefgh', '1111111111111111111111111111111111111111111111111111111111111111', 'k', 1, '', 't')",
        "INSERT INTO api_keys (prefix, secret_hash, name, organization_id, scopes, created_at) VALUES ('pl_key_abcdefgh', '1111111111111111111111111111111111111111111111111111111111111111', 'k', 1, 'products:read  rules:write', 't')",
        "INSERT INTO api_keys (prefix, secret_hash, name, organization_id, scopes, created_at) VALUES ('pl_key_abcdefgh', '1111111111111111111111111111111111111111111111111111111111111111', 'k', 1, ' products:read', 't')",
        // the same hash twice, a hash that is not one, a key instead of its hash
        "INSERT INTO api_keys (prefix, secret_hash, name, organization_id, scopes, created_at) VALUES ('pl_key_abcdefgh', '0000000000000000000000000000000000000000000000000000000000000000', 'k', 1, 'products:read', 't')",
        "INSERT INTO api_keys (prefix, secret_hash, name, organization_id, scopes, created_at) VALUES ('pl_key_abcdefgh', 'ABCDEF1111111111111111111111111111111111111111111111111111111111', 'k', 1, 'products:read', 't')",
        "INSERT INTO api_keys (prefix, secret_hash, name, organization_id, scopes, created_at) VALUES ('pl_key_abcdefgh', 'pl_key_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ_abcdef', 'k', 1, 'products:read', 't')",
        // a prefix that shows too much, no organization, an unknown one, a blank name, a zero limit
        "INSERT INTO api_keys (prefix, secret_hash, name, organization_id, scopes, created_at) VALUES ('pl_key_abcdefghijk', '2222222222222222222222222222222222222222222222222222222222222222', 'k', 1, 'products:read', 't')",
        "INSERT INTO api_keys (prefix, secret_hash, name, scopes, created_at) VALUES ('pl_key_abcdefgh', '2222222222222222222222222222222222222222222222222222222222222222', 'k', 'products:read', 't')",
        "INSERT INTO api_keys (prefix, secret_hash, name, organization_id, scopes, created_at) VALUES ('pl_key_abcdefgh', '2222222222222222222222222222222222222222222222222222222222222222', 'k', 99, 'products:read', 't')",
        "INSERT INTO api_keys (prefix, secret_hash, name, organization_id, scopes, created_at) VALUES ('pl_key_abcdefgh', '2222222222222222222222222222222222222222222222222222222222222222', '  ', 1, 'products:read', 't')",
        "INSERT INTO api_keys (prefix, secret_hash, name, organization_id, scopes, rate_limit_per_minute, created_at) VALUES ('pl_key_abcdefgh', '2222222222222222222222222222222222222222222222222222222222222222', 'k', 1, 'products:read', 0, 't')",
    ];
    for sql in refused {
        assert!(!try_execute(&db, sql).await, "{}: the schema accepted {sql}", db.backend.name());
    }
    // Deleting an organization deletes its keys.
    assert_eq!(db.execute("DELETE FROM organizations WHERE name = 'Acme'", &[]).await, 1);
    assert_eq!(db.int("SELECT count(*) FROM api_keys", &[]).await, 0);
}

async fn users_belong_to_organizations(b: Backend) {
    let h = harness(b).await;
    let s = &h.server;
    let acme = s.create_organization("Acme Foods").await.unwrap();
    let globex = s.create_organization("Globex").await.unwrap();
    match s.create_organization("Acme Foods").await {
        Err(ManageError::Invalid(m)) => assert!(m.contains("exists"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(s.create_organization("").await, Err(ManageError::Invalid(_))));
    let names: Vec<String> = s.organizations().await.unwrap().into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["Acme Foods", "Globex"]);
    assert_eq!(s.organization_by_name(" Acme Foods ").await.unwrap().unwrap().id, acme);
    assert_eq!(s.organization_by_name("acme foods").await.unwrap(), None);
    assert_eq!(s.organization(globex).await.unwrap().unwrap().name, "Globex");
    assert_eq!(s.organization(globex + 100).await.unwrap(), None);

    // A user starts in none; changes are seen at once, though the answer is cached.
    let uid = h.user.id;
    assert_eq!(h.user.organization_id, None);
    assert_eq!(s.user_organization(uid).await.unwrap(), None);
    s.set_user_organization(uid, Some(acme)).await.unwrap();
    assert_eq!(s.user_organization(uid).await.unwrap(), Some(acme));
    assert_eq!(h.store.user_by_id(uid).await.unwrap().unwrap().organization_id, Some(acme));
    let by_email = s.user_by_email(" ANN@example.com").await.unwrap().unwrap();
    assert_eq!(by_email.organization_id, Some(acme));
    assert_eq!(s.session_user(&h.session).await.unwrap().organization_id, Some(acme));
    s.set_user_organization(uid, Some(globex)).await.unwrap();
    assert_eq!(s.user_organization(uid).await.unwrap(), Some(globex));
    s.set_user_organization(uid, None).await.unwrap();
    assert_eq!(s.user_organization(uid).await.unwrap(), None);
    assert_eq!(s.user_organization(uid + 100).await.unwrap(), None);
    match s.set_user_organization(uid, Some(globex + 100)).await {
        Err(ManageError::Invalid(m)) => assert!(m.contains("no organization"), "{m}"),
        other => panic!("{other:?}"),
    }
    match s.set_user_organization(uid + 100, Some(acme)).await {
        Err(ManageError::Invalid(m)) => assert!(m.contains("no user"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.user_organization(uid).await.unwrap(), None);
}

async fn revocations_and_organization_changes_reach_other_processes(b: Backend) {
    // On PostgreSQL revocations are announced, so the caches may live long; on SQLite the
    // other process's cache lives until its TTL.
    let pg = matches!(b, Backend::Postgres(_));
    let a = harness_with(b, |c| c.token_cache_ttl = Duration::from_secs(60)).await;
    let other = a.other_process().await;
    let acme = a.server.create_organization("Acme").await.unwrap();
    let globex = a.server.create_organization("Globex").await.unwrap();
    let (record, key) =
        a.server.create_api_key(acme, "k", "products:read", None, None).await.unwrap();

    // A key made by one process works on the other; both cache it.
    assert_eq!(other.server.validate_api_key(&key).await.unwrap().organization_id, acme);
    assert!(a.server.validate_api_key(&key).await.is_ok());
    a.server.set_user_organization(a.user.id, Some(acme)).await.unwrap();
    assert_eq!(other.server.user_organization(a.user.id).await.unwrap(), Some(acme));

    // Revoked through the first: it refuses at once; a process that never saw the key refuses
    // it; on PostgreSQL the other one, which cached it, hears of it within moments.
    assert!(a.server.revoke_api_key(record.id).await.unwrap());
    assert_eq!(a.server.validate_api_key(&key).await, Err(InvalidApiKey::Revoked));
    let fresh = a.other_process().await;
    assert_eq!(fresh.server.validate_api_key(&key).await, Err(InvalidApiKey::Revoked));
    a.server.set_user_organization(a.user.id, Some(globex)).await.unwrap();
    if pg {
        let deadline = Instant::now() + Duration::from_secs(2);
        while other.server.validate_api_key(&key).await.is_ok() {
            assert!(Instant::now() < deadline, "the key was still accepted 2 s after revocation");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(other.server.validate_api_key(&key).await, Err(InvalidApiKey::Revoked));
        while other.server.user_organization(a.user.id).await.unwrap() != Some(globex) {
            assert!(Instant::now() < deadline, "the old organization was still cached after 2 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    } else {
        assert!(other.server.validate_api_key(&key).await.is_ok(), "cached for its TTL");
    }
    assert_eq!(fresh.server.user_organization(a.user.id).await.unwrap(), Some(globex));
}
