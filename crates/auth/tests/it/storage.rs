//! The storage contract on both backends: every record round-trips with the same values,
//! duplicate keys are `Conflict`s, single use and rotation hold when several processes (pools)
//! race, the server secret is created once per database, and two authorization servers on one
//! database (two processes) share clients, codes, tokens, sessions and revocations, a revoked
//! access token being refused by the other process within its validation cache lifetime.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth::AuthServer;
use auth::clock::{ManualClock, stamp};
use auth::secrets;
use auth::store::{
    AuditRecord, AuthStore, AuthStoreError, ClientKind, ClientRecord, ConsentRecord, TokenRecord,
};
use common::*;
use time::OffsetDateTime;

on_both_backends!(
    store_round_trips_every_record,
    single_use_holds_across_processes,
    servers_starting_together_share_one_secret,
    two_servers_share_one_database,
);

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

/// Stored times relative to one instant: `at(0)` is now, `at(-60)` a minute ago.
fn clock() -> impl Fn(i64) -> String + Copy {
    let now = OffsetDateTime::now_utc();
    move |secs| stamp(now + time::Duration::seconds(secs))
}

fn client(id: &str, kind: ClientKind) -> ClientRecord {
    ClientRecord {
        client_id: id.into(),
        kind,
        client_name: Some("Agent".into()),
        redirect_uris: vec![LOOPBACK_CB.into(), "http://127.0.0.1/cb".into()],
        auth_method: "none".into(),
        secret_hash: None,
        scope: "qr:generate".into(),
        grant_types: vec!["authorization_code".into()],
        application_type: Some("native".into()),
        document: None,
        document_expires_at: None,
    }
}

fn token(raw: &str, kind: &str, grant_id: i64, created_at: &str, expires_at: &str) -> TokenRecord {
    TokenRecord {
        token_hash: secrets::hash(raw),
        kind: kind.into(),
        grant_id,
        scope: "qr:generate".into(),
        audience: Some(RESOURCE.into()),
        expires_at: expires_at.into(),
        rotated_at: None,
        revoked_at: None,
        created_at: created_at.into(),
    }
}

async fn store_round_trips_every_record(b: Backend) {
    let db = TestDb::new(b).await;
    let s = auth_store(&db);
    let at = clock();
    let now = at(0);

    // Users: ids, lookups, duplicate emails, the disabled flag (a boolean on both backends).
    let ann = s.create_user("ann@example.com", HASH, &now).await.unwrap();
    let bob = s.create_user("bob@example.com", HASH, &now).await.unwrap();
    assert!(ann > 0 && bob > ann);
    match s.create_user("ann@example.com", HASH, &now).await {
        Err(AuthStoreError::Conflict(m)) => {
            assert_eq!(m, "a user with the email ann@example.com exists")
        }
        other => panic!("{}: expected a conflict, got {other:?}", db.backend.name()),
    }
    let u = s.user_by_email("ann@example.com").await.unwrap().unwrap();
    assert_eq!(
        (u.id, u.email.as_str(), u.password_hash.as_str(), u.disabled),
        (ann, "ann@example.com", HASH, false)
    );
    assert_eq!(s.user_by_id(ann).await.unwrap(), Some(u));
    assert_eq!(s.user_by_email("nobody@example.com").await.unwrap(), None);
    assert_eq!(s.user_by_id(ann + 1000).await.unwrap(), None);

    // Sessions: live until they expire, end on delete, never for a disabled user.
    let (s1, s2) = (secrets::hash("session-1"), secrets::hash("session-2"));
    s.create_session(&s1, ann, &now, &at(60)).await.unwrap();
    s.create_session(&s2, bob, &now, &at(60)).await.unwrap();
    assert_eq!(s.session_user(&s1, &now).await.unwrap().map(|u| u.id), Some(ann));
    assert_eq!(s.session_user(&s1, &at(61)).await.unwrap(), None);
    assert!(s.create_session(&s1, ann, &now, &at(60)).await.is_err(), "a session key is unique");
    s.delete_session(&s1).await.unwrap();
    assert_eq!(s.session_user(&s1, &now).await.unwrap(), None);
    let changed =
        db.execute("UPDATE users SET disabled = TRUE WHERE id = $1", &[Arg::Int(bob)]).await;
    assert_eq!(changed, 1);
    assert!(s.user_by_id(bob).await.unwrap().unwrap().disabled);
    assert_eq!(s.session_user(&s2, &now).await.unwrap(), None);

    // Clients: every field round-trips; saving again replaces.
    let mut dcr = client("pl_client_one", ClientKind::Dcr);
    s.save_client(&dcr, &now).await.unwrap();
    assert_eq!(s.client("pl_client_one").await.unwrap(), Some(dcr.clone()));
    dcr.client_name = None;
    dcr.auth_method = "client_secret_basic".into();
    dcr.secret_hash = Some(secrets::hash("pl_cs_x"));
    dcr.grant_types = vec!["authorization_code".into(), "refresh_token".into()];
    dcr.application_type = None;
    s.save_client(&dcr, &now).await.unwrap();
    assert_eq!(s.client("pl_client_one").await.unwrap(), Some(dcr.clone()));
    let doc_url = "https://agent.example.com/client.json";
    let mut cimd = client(doc_url, ClientKind::Cimd);
    cimd.document = Some(r#"{"client_id":"https://agent.example.com/client.json"}"#.into());
    cimd.document_expires_at = Some(at(300));
    s.save_client(&cimd, &now).await.unwrap();
    assert_eq!(s.client(doc_url).await.unwrap(), Some(cimd.clone()));
    let fetched_at = db
        .text(
            "SELECT fetched_at FROM oauth_clients WHERE client_id = $1",
            &[Arg::Text(Some(doc_url))],
        )
        .await
        .unwrap();
    assert_eq!(fetched_at, now);
    s.save_client(&client("static-app", ClientKind::Static), &now).await.unwrap();
    assert_eq!(s.client("static-app").await.unwrap().unwrap().kind, ClientKind::Static);
    assert_eq!(s.client("pl_client_none").await.unwrap(), None);

    // Stale registrations: only unused DCR clients without grants created before the cutoff.
    s.save_client(&client("pl_client_unused", ClientKind::Dcr), &at(-7200)).await.unwrap();
    s.save_client(&client("pl_client_touched", ClientKind::Dcr), &at(-7200)).await.unwrap();
    s.touch_client("pl_client_touched", &now).await.unwrap();
    assert_eq!(s.delete_stale_clients(&at(-3600)).await.unwrap(), 1);
    assert_eq!(s.client("pl_client_unused").await.unwrap(), None);
    assert!(s.client("pl_client_touched").await.unwrap().is_some());
    assert!(s.client("pl_client_one").await.unwrap().is_some(), "created after the cutoff");

    // Consents: saved, listed newest first, revoked with every grant of that user and client.
    s.save_consent(ann, "pl_client_one", "qr:generate", &at(-10)).await.unwrap();
    s.save_consent(ann, doc_url, "qr:generate", &now).await.unwrap();
    assert_eq!(s.consent(ann, "pl_client_one").await.unwrap().as_deref(), Some("qr:generate"));
    assert_eq!(s.consent(bob, "pl_client_one").await.unwrap(), None);
    assert_eq!(
        s.consents(ann).await.unwrap(),
        vec![
            ConsentRecord {
                client_id: doc_url.into(),
                client_name: Some("Agent".into()),
                scope: "qr:generate".into(),
                granted_at: now.clone(),
            },
            ConsentRecord {
                client_id: "pl_client_one".into(),
                client_name: None,
                scope: "qr:generate".into(),
                granted_at: at(-10),
            },
        ]
    );
    let consented = s.create_grant(Some(ann), doc_url, "qr:generate", None, &now).await.unwrap();
    assert!(s.revoke_consent(ann, doc_url, &now).await.unwrap());
    assert!(!s.revoke_consent(ann, doc_url, &now).await.unwrap(), "already revoked");
    assert_eq!(s.consent(ann, doc_url).await.unwrap(), None);
    assert_eq!(s.consents(ann).await.unwrap().len(), 1);
    s.create_code(&secrets::hash("code-0"), consented, LOOPBACK_CB, &"c".repeat(43), &at(60))
        .await
        .unwrap();
    let code = s.code(&secrets::hash("code-0")).await.unwrap().unwrap();
    assert_eq!(code.grant.revoked_at.as_deref(), Some(now.as_str()));
    // Consenting again brings it back.
    s.save_consent(ann, doc_url, "qr:generate", &now).await.unwrap();
    assert!(s.consent(ann, doc_url).await.unwrap().is_some());

    // Grants, codes, tokens.
    let grant = s
        .create_grant(Some(ann), "pl_client_one", "qr:generate", Some(RESOURCE), &now)
        .await
        .unwrap();
    let machine = s.create_grant(None, "static-app", "products:read", None, &now).await.unwrap();
    assert!(grant > consented && machine > grant);
    let challenge = secrets::pkce_challenge("verifier-verifier-verifier-verifier-verifier");
    s.create_code(&secrets::hash("code-1"), grant, LOOPBACK_CB, &challenge, &at(60)).await.unwrap();
    let code = s.code(&secrets::hash("code-1")).await.unwrap().unwrap();
    assert_eq!(code.grant.id, grant);
    assert_eq!(code.grant.user_id, Some(ann));
    assert_eq!(code.grant.client_id, "pl_client_one");
    assert_eq!(code.grant.scope, "qr:generate");
    assert_eq!(code.grant.resource.as_deref(), Some(RESOURCE));
    assert_eq!(code.grant.revoked_at, None);
    assert_eq!(
        (code.redirect_uri.as_str(), code.code_challenge.as_str()),
        (LOOPBACK_CB, challenge.as_str())
    );
    assert_eq!((code.expires_at, code.used_at), (at(60), None));
    assert!(s.code(&secrets::hash("code-2")).await.unwrap().is_none());
    assert!(s.use_code(&secrets::hash("code-1"), &now).await.unwrap());
    assert!(!s.use_code(&secrets::hash("code-1"), &now).await.unwrap());
    assert!(!s.use_code(&secrets::hash("code-2"), &now).await.unwrap(), "unknown code");
    let used = s.code(&secrets::hash("code-1")).await.unwrap().unwrap();
    assert_eq!(used.used_at.as_deref(), Some(now.as_str()));

    let access = token("pl_at_1", "access", grant, &now, &at(3600));
    let refresh = token("pl_rt_1", "refresh", grant, &now, &at(3600));
    s.create_token(&access).await.unwrap();
    s.create_token(&refresh).await.unwrap();
    assert!(s.create_token(&access).await.is_err(), "a token hash is unique");
    let (t, g) = s.token(&access.token_hash).await.unwrap().unwrap();
    assert_eq!(t, access);
    assert_eq!((g.id, g.user_id, g.client_id.as_str()), (grant, Some(ann), "pl_client_one"));
    let machine_token = token("pl_at_machine", "access", machine, &now, &at(3600));
    s.create_token(&machine_token).await.unwrap();
    let (_, g) = s.token(&machine_token.token_hash).await.unwrap().unwrap();
    assert_eq!((g.user_id, g.resource), (None, None));
    assert!(!s.rotate_refresh(&access.token_hash, &now).await.unwrap(), "not a refresh token");
    assert!(s.rotate_refresh(&refresh.token_hash, &now).await.unwrap());
    assert!(!s.rotate_refresh(&refresh.token_hash, &now).await.unwrap(), "already rotated");
    let (t, _) = s.token(&refresh.token_hash).await.unwrap().unwrap();
    assert_eq!(t.rotated_at.as_deref(), Some(now.as_str()));
    let refresh2 = token("pl_rt_2", "refresh", grant, &now, &at(3600));
    s.create_token(&refresh2).await.unwrap();
    s.revoke_token(&access.token_hash, &at(-5)).await.unwrap();
    s.revoke_token(&access.token_hash, &now).await.unwrap();
    let (t, g) = s.token(&access.token_hash).await.unwrap().unwrap();
    assert_eq!((t.revoked_at, g.revoked_at), (Some(at(-5)), None), "the first revocation stays");
    s.revoke_grant(grant, &now).await.unwrap();
    let (t, g) = s.token(&refresh2.token_hash).await.unwrap().unwrap();
    assert_eq!(
        (t.revoked_at.as_deref(), g.revoked_at.as_deref()),
        (Some(now.as_str()), Some(now.as_str()))
    );
    assert!(!s.rotate_refresh(&refresh2.token_hash, &now).await.unwrap(), "revoked");
    let (t, _) = s.token(&access.token_hash).await.unwrap().unwrap();
    assert_eq!(t.revoked_at, Some(at(-5)));
    let (t, _) = s.token(&machine_token.token_hash).await.unwrap().unwrap();
    assert_eq!(t.revoked_at, None, "other grants are untouched");

    // Audit rows and counts.
    for (outcome, when) in [("ok", at(-100)), ("ok", now.clone()), ("rate_limited", now.clone())] {
        s.audit(&AuditRecord {
            occurred_at: when,
            request_id: Some("req-1".into()),
            action: "generate_qr_url".into(),
            outcome: outcome.into(),
            user_id: Some(ann),
            client_id: Some("pl_client_one".into()),
            target: Some("09506000134352".into()),
            arguments: serde_json::json!({"gtin": "09506000134352"}),
        })
        .await
        .unwrap();
    }
    assert_eq!(s.count_audit(ann, "generate_qr_url", "ok", &at(-1000)).await.unwrap(), 2);
    assert_eq!(s.count_audit(ann, "generate_qr_url", "ok", &at(-50)).await.unwrap(), 1);
    assert_eq!(s.count_audit(bob, "generate_qr_url", "ok", &at(-1000)).await.unwrap(), 0);
    let args = db
        .text("SELECT arguments FROM audit_events WHERE outcome = $1", &["rate_limited".into()])
        .await
        .unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&args).unwrap()["gtin"], "09506000134352");

    // The server secret: created once, 32 bytes, kept as hex text.
    let secret = s.server_secret().await.unwrap();
    assert_eq!(secret.len(), 32);
    assert_eq!(s.server_secret().await.unwrap(), secret);
    let stored =
        db.text("SELECT value FROM prodlink_meta WHERE key = 'auth_secret'", &[]).await.unwrap();
    assert_eq!(stored, hex::encode(&secret));
}

async fn single_use_holds_across_processes(b: Backend) {
    let db = TestDb::new(b).await;
    let mut stores = vec![auth_store(&db)];
    for _ in 0..3 {
        stores.push(other_process_auth_store(&db).await);
    }
    let s = &stores[0];
    let at = clock();
    let now = at(0);
    let user = s.create_user("ann@example.com", HASH, &now).await.unwrap();
    s.save_client(&client("pl_client_one", ClientKind::Dcr), &now).await.unwrap();
    for round in 0..5 {
        let grant =
            s.create_grant(Some(user), "pl_client_one", "qr:generate", None, &now).await.unwrap();
        let code = secrets::hash(&format!("code-{round}"));
        s.create_code(&code, grant, LOOPBACK_CB, &"c".repeat(43), &at(60)).await.unwrap();
        let refresh = token(&format!("pl_rt_{round}"), "refresh", grant, &now, &at(3600));
        s.create_token(&refresh).await.unwrap();

        // Every process tries twice at once; exactly one use wins.
        let mut uses = tokio::task::JoinSet::new();
        let mut rotations = tokio::task::JoinSet::new();
        for store in stores.iter().chain(stores.iter()) {
            let (s, code, now) = (store.clone(), code.clone(), now.clone());
            uses.spawn(async move { s.use_code(&code, &now).await.unwrap() });
            let (s, hash, now) = (store.clone(), refresh.token_hash.clone(), at(0));
            rotations.spawn(async move { s.rotate_refresh(&hash, &now).await.unwrap() });
        }
        let used = uses.join_all().await;
        let rotated = rotations.join_all().await;
        assert_eq!(used.iter().filter(|w| **w).count(), 1, "{}: {used:?}", db.backend.name());
        assert_eq!(rotated.iter().filter(|w| **w).count(), 1, "{}: {rotated:?}", db.backend.name());
    }
}

async fn servers_starting_together_share_one_secret(b: Backend) {
    let db = TestDb::new(b).await;
    let mut stores = vec![auth_store(&db)];
    for _ in 0..3 {
        stores.push(other_process_auth_store(&db).await);
    }
    // Four processes reach the empty database at once: one secret wins, all read it.
    let mut reads = tokio::task::JoinSet::new();
    for s in &stores {
        let s = s.clone();
        reads.spawn(async move { s.server_secret().await.unwrap() });
    }
    let found = reads.join_all().await;
    assert_eq!(found[0].len(), 32);
    assert!(found.iter().all(|s| *s == found[0]), "{}: {found:?}", db.backend.name());
    let rows = db.int("SELECT count(*) FROM prodlink_meta WHERE key = 'auth_secret'", &[]).await;
    assert_eq!(rows, 1);
    // Servers built over different pools sign with that secret: forms made by one check on the
    // other.
    let server = |store: Arc<dyn AuthStore>| async move {
        AuthServer::new(
            auth::AuthConfig::new(SITE),
            store,
            Arc::new(ManualClock::new()),
            Arc::new(FakeFetcher::default()),
        )
        .await
        .unwrap()
    };
    let (one, two) = tokio::join!(server(stores[1].clone()), server(stores[2].clone()));
    let form = one.form_token("pl_ss_cookie", "consents");
    assert!(two.check_form_token("pl_ss_cookie", "consents", &form));
}

async fn two_servers_share_one_database(b: Backend) {
    // On PostgreSQL revocations are announced to every process, so the cache may live long.
    let pg = matches!(b, Backend::Postgres(_));
    let ttl = if pg { Duration::from_secs(60) } else { Duration::from_millis(1500) };
    let a = harness_with(b, |c| c.token_cache_ttl = ttl).await;
    let other = a.other_process().await;
    assert_eq!(other.server.config().token_cache_ttl, ttl);

    // One secret, one set of sessions and clients.
    let form = a.server.form_token(&a.session, "consents");
    assert!(other.server.check_form_token(&a.session, "consents", &form));
    assert_eq!(other.server.session_user(&a.session).await.unwrap().id, a.user.id);

    // A code issued by one process is exchanged on the other, and only once.
    let client = a.public_client().await;
    let (code, verifier) = a.code(&client, LOOPBACK_CB).await;
    let t = other.exchange(&client, &code, &verifier, LOOPBACK_CB).await.unwrap();
    assert!(a.server.validate_bearer(&t.access_token).await.is_ok());
    let e = a.exchange(&client, &code, &verifier, LOOPBACK_CB).await.unwrap_err();
    assert!(e.description.contains("already used"), "{e:?}");
    // The replay revoked the grant; the other process has never validated the token: refused.
    let e = other.server.validate_bearer(&t.access_token).await.unwrap_err();
    assert!(e.0.contains("revoked"), "{e:?}");

    // Both processes exchanging one code at the same moment: one wins.
    let (code, verifier) = a.code(&client, LOOPBACK_CB).await;
    let (x, y) = tokio::join!(
        a.exchange(&client, &code, &verifier, LOOPBACK_CB),
        other.exchange(&client, &code, &verifier, LOOPBACK_CB)
    );
    assert_eq!(u8::from(x.is_ok()) + u8::from(y.is_ok()), 1, "{x:?} {y:?}");

    // Tokens issued by one process work on the other; so does rotating its refresh token.
    let (client, t) = a.tokens().await;
    let seen = Instant::now();
    assert_eq!(other.server.validate_bearer(&t.access_token).await.unwrap().client_id, client);
    let rotated = other.refresh(&client, t.refresh_token.as_deref().unwrap(), None).await.unwrap();

    // Revoking the access token on one process: that process refuses it at once. The other
    // cached its answer: on PostgreSQL the revocation is announced (NOTIFY) and it drops its
    // cache within moments, far inside the 60 s TTL; on SQLite (no announcements) it asks the
    // database again once the entry is older than `token_cache_ttl`.
    a.server
        .revoke(&params(&[("client_id", &client), ("token", &t.access_token)]), None)
        .await
        .unwrap();
    assert!(a.server.validate_bearer(&t.access_token).await.unwrap_err().0.contains("revoked"));
    if pg {
        let deadline = Instant::now() + Duration::from_secs(2);
        while other.server.validate_bearer(&t.access_token).await.is_ok() {
            assert!(Instant::now() < deadline, "still accepted 2 s after the revocation");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    } else {
        let _within_ttl = other.server.validate_bearer(&t.access_token).await;
        let wait = (seen + ttl).saturating_duration_since(Instant::now());
        tokio::time::sleep(wait + Duration::from_millis(50)).await;
    }
    let e = other.server.validate_bearer(&t.access_token).await.unwrap_err();
    assert!(e.0.contains("revoked"), "{e:?}");

    // Revoking the rotated refresh token on the other process ends the grant for both: this
    // process has not validated the access token yet and refuses it at once, and refuses the
    // refresh token; the revoking process drops its own cache entries at once.
    assert!(other.server.validate_bearer(&rotated.access_token).await.is_ok());
    let (_, unrelated) = a.tokens().await;
    let rt = rotated.refresh_token.as_deref().unwrap();
    other.server.revoke(&params(&[("client_id", &client), ("token", rt)]), None).await.unwrap();
    let e = other.server.validate_bearer(&rotated.access_token).await.unwrap_err();
    assert!(e.0.contains("revoked"), "{e:?}");
    let e = a.server.validate_bearer(&rotated.access_token).await.unwrap_err();
    assert!(e.0.contains("revoked"), "{e:?}");
    let e = a.refresh(&client, rt, None).await.unwrap_err();
    assert!(e.description.contains("revoked"), "{e:?}");
    // Another grant of the same user is untouched.
    assert!(other.server.validate_bearer(&unrelated.access_token).await.is_ok());

    // Refresh-token reuse detected on one process revokes the family everywhere.
    let (client, t) = a.tokens().await;
    let next = a.refresh(&client, t.refresh_token.as_deref().unwrap(), None).await.unwrap();
    let e = other.refresh(&client, t.refresh_token.as_deref().unwrap(), None).await.unwrap_err();
    assert!(e.description.contains("already used"), "{e:?}");
    assert!(a.server.validate_bearer(&next.access_token).await.is_err());
    assert!(a.refresh(&client, next.refresh_token.as_deref().unwrap(), None).await.is_err());
}
