//! The authorization server's flows and every negative case of issue 4: PKCE, codes, redirect
//! matching, clients, resources, refresh rotation, revocation, introspection, consent CSRF,
//! sign-in throttling, quotas and bearer validation, with a manual clock, each on a real SQLite
//! file and (with `PRODLINK_TEST_PG`) on a PostgreSQL database of its own.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use auth::store::{AuditRecord, TokenRecord};
use auth::{AuthorizeError, LoginError};
use common::*;

on_both_backends!(
    discovery_documents_agree_on_the_issuer,
    happy_path_issues_working_tokens,
    pkce_is_required_and_only_s256,
    code_replay_is_refused_and_revokes_the_grant,
    expired_code_is_refused,
    code_is_bound_to_client_and_redirect,
    redirect_uris_match_exactly_except_loopback_ports,
    unknown_clients_get_a_page_never_a_redirect,
    repeated_parameters_are_invalid_requests,
    wrong_resource_is_invalid_target,
    scope_is_limited_to_the_client,
    refresh_rotates_and_reuse_revokes_the_family,
    refresh_scope_can_only_narrow,
    refresh_tokens_are_bound_to_their_client_and_expire,
    revocation_kills_tokens,
    bearer_validation_checks_expiry_kind_and_audience,
    consent_tokens_bind_session_and_request,
    consent_is_remembered_except_for_loopback_clients,
    revoking_consent_revokes_tokens,
    confidential_clients_authenticate,
    dynamic_registration_rules,
    sign_in_is_throttled_and_vague,
    sessions_expire,
    weak_or_duplicate_accounts_are_refused,
    qr_quota_counts_successful_generations,
    minted_tokens_work_for_the_mcp_resource,
);

fn page(r: Result<auth::AuthorizeRequest, AuthorizeError>) -> String {
    match r {
        Err(AuthorizeError::Page(m)) => m,
        other => panic!("expected an error page, got {other:?}"),
    }
}

fn redirect(
    r: Result<auth::AuthorizeRequest, AuthorizeError>,
) -> std::collections::HashMap<String, String> {
    match r {
        Err(AuthorizeError::Redirect(u)) => {
            assert!(u.starts_with("http://localhost"), "{u}");
            query(&u)
        }
        other => panic!("expected an error redirect, got {other:?}"),
    }
}

async fn discovery_documents_agree_on_the_issuer(b: Backend) {
    let h = harness(b).await;
    let m = h.server.metadata();
    assert_eq!(m["issuer"], SITE);
    assert_eq!(m["authorization_endpoint"], format!("{SITE}/o/authorize/"));
    assert_eq!(m["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(m["client_id_metadata_document_supported"], true);
    let r = h.server.resource_metadata();
    assert_eq!(r["resource"], RESOURCE);
    assert_eq!(r["authorization_servers"][0], m["issuer"]);
}

async fn happy_path_issues_working_tokens(b: Backend) {
    let h = harness(b).await;
    let (client, t) = h.tokens().await;
    assert_eq!(t.token_type, "Bearer");
    assert_eq!(t.expires_in, 24 * 3600);
    assert_eq!(t.scope, "qr:generate");
    assert!(t.access_token.starts_with("pl_at_"));
    let info = h.server.validate_bearer(&t.access_token).await.unwrap();
    assert_eq!(info.client_id, client);
    assert_eq!(info.user_id, Some(h.user.id));
    assert_eq!(info.scopes, vec!["qr:generate"]);
    // Tokens are stored hashed, never in clear.
    assert!(h.store.token(&t.access_token).await.unwrap().is_none());
    assert!(h.store.token(&auth::secrets::hash(&t.access_token)).await.unwrap().is_some());
}

async fn pkce_is_required_and_only_s256(b: Backend) {
    let h = harness(b).await;
    let client = h.public_client().await;
    let base = |extra: &[(&'static str, &'static str)]| {
        let mut p = vec![
            ("response_type", "code"),
            ("client_id", client.as_str()),
            ("redirect_uri", LOOPBACK_CB),
            ("state", "s1"),
        ];
        p.extend_from_slice(extra);
        params(&p)
    };
    let q = redirect(h.server.authorize(&base(&[])).await);
    assert_eq!(q["error"], "invalid_request");
    assert!(q["error_description"].contains("PKCE"), "{q:?}");
    assert_eq!(q["state"], "s1");
    assert_eq!(q["iss"], SITE);
    let (_, challenge) = pkce();
    let challenge: &'static str = Box::leak(challenge.into_boxed_str());
    let q = redirect(
        h.server
            .authorize(&base(&[("code_challenge", challenge), ("code_challenge_method", "plain")]))
            .await,
    );
    assert_eq!(q["error"], "invalid_request");
    assert!(q["error_description"].contains("S256"), "{q:?}");
    let q = redirect(h.server.authorize(&base(&[("code_challenge", challenge)])).await);
    assert!(q["error_description"].contains("plain is not allowed"), "{q:?}");
    let q = redirect(
        h.server
            .authorize(&base(&[("code_challenge", "short"), ("code_challenge_method", "S256")]))
            .await,
    );
    assert!(q["error_description"].contains("43 characters"), "{q:?}");

    // Wrong and missing verifiers at the token endpoint.
    let (code, _) = h.code(&client, LOOPBACK_CB).await;
    let (other_verifier, _) = pkce();
    let e = h.exchange(&client, &code, &other_verifier, LOOPBACK_CB).await.unwrap_err();
    assert_eq!((e.error, e.status), ("invalid_grant", 400));
    assert!(e.description.contains("code_verifier"), "{e:?}");
    let p = params(&[
        ("grant_type", "authorization_code"),
        ("client_id", &client),
        ("code", &code),
        ("redirect_uri", LOOPBACK_CB),
    ]);
    let e = h.server.token(&p, None).await.unwrap_err();
    assert_eq!(e.error, "invalid_request");
    assert!(e.description.contains("code_verifier is required"));
}

async fn code_replay_is_refused_and_revokes_the_grant(b: Backend) {
    let h = harness(b).await;
    let client = h.public_client().await;
    let (code, verifier) = h.code(&client, LOOPBACK_CB).await;
    let first = h.exchange(&client, &code, &verifier, LOOPBACK_CB).await.unwrap();
    assert!(h.server.validate_bearer(&first.access_token).await.is_ok());
    let e = h.exchange(&client, &code, &verifier, LOOPBACK_CB).await.unwrap_err();
    assert_eq!(e.error, "invalid_grant");
    assert!(e.description.contains("already used"));
    let gone = h.server.validate_bearer(&first.access_token).await.unwrap_err();
    assert!(gone.0.contains("revoked"), "{gone:?}");
    let e = h.refresh(&client, first.refresh_token.as_deref().unwrap(), None).await.unwrap_err();
    assert_eq!(e.error, "invalid_grant");
}

async fn expired_code_is_refused(b: Backend) {
    let h = harness(b).await;
    let client = h.public_client().await;
    let (code, verifier) = h.code(&client, LOOPBACK_CB).await;
    h.clock.advance(61);
    let e = h.exchange(&client, &code, &verifier, LOOPBACK_CB).await.unwrap_err();
    assert_eq!(e.error, "invalid_grant");
    assert!(e.description.contains("expired"), "{e:?}");
}

async fn code_is_bound_to_client_and_redirect(b: Backend) {
    let h = harness(b).await;
    let client = h.public_client().await;
    let intruder = h.public_client().await;
    let (code, verifier) = h.code(&client, LOOPBACK_CB).await;
    let e = h.exchange(&intruder, &code, &verifier, LOOPBACK_CB).await.unwrap_err();
    assert_eq!(e.error, "invalid_grant");
    assert!(e.description.contains("another client"));
    let e = h.exchange(&client, &code, &verifier, "http://localhost/other").await.unwrap_err();
    assert!(e.description.contains("redirect_uri differs"), "{e:?}");
    let e = h.exchange(&client, "pl_ac_unknown", &verifier, LOOPBACK_CB).await.unwrap_err();
    assert!(e.description.contains("unknown authorization code"));
}

async fn redirect_uris_match_exactly_except_loopback_ports(b: Backend) {
    let h = harness(b).await;
    let client = h.public_client().await;
    let (_, challenge) = pkce();
    // A loopback redirect may come back on any port.
    let req = h.authorize(&client, "http://localhost:53682/callback", &challenge).await;
    assert_eq!(req.redirect_uri, "http://localhost:53682/callback");
    for bad in [
        "http://127.0.0.1/callback",
        "http://127.0.0.1:53682/callback",
        "http://[::1]/callback",
        "http://localhost/callback/",
        "http://localhost/callback?x=1",
        "https://localhost/callback",
        "http://localhost.evil.example/callback",
    ] {
        let p = code_request(&client, bad, &challenge, &[]);
        let m = page(h.server.authorize(&p).await);
        assert!(m.contains("not registered"), "{bad}: {m}");
    }
    // https redirects match exactly, port included.
    let (web, _) = h.confidential_client().await;
    for bad in [
        "https://app.example.com:8443/cb",
        "https://app.example.com/cb2",
        "https://APP.example.com/cb/",
    ] {
        let p = code_request(&web, bad, &challenge, &[]);
        assert!(page(h.server.authorize(&p).await).contains("not registered"), "{bad}");
    }
    // Missing redirect_uri: a page, not a redirect.
    let p = params(&[("response_type", "code"), ("client_id", &client)]);
    assert!(page(h.server.authorize(&p).await).contains("no redirect_uri"));
}

async fn unknown_clients_get_a_page_never_a_redirect(b: Backend) {
    let h = harness(b).await;
    let (_, challenge) = pkce();
    let p = code_request("pl_client_nobody", LOOPBACK_CB, &challenge, &[]);
    assert!(page(h.server.authorize(&p).await).contains("unknown client"));
    let p = params(&[("response_type", "code"), ("redirect_uri", LOOPBACK_CB)]);
    assert!(page(h.server.authorize(&p).await).contains("no client_id"));
    let e = h.exchange("pl_client_nobody", "pl_ac_x", "v", LOOPBACK_CB).await.unwrap_err();
    assert_eq!((e.error, e.status), ("invalid_client", 401));
}

async fn repeated_parameters_are_invalid_requests(b: Backend) {
    let h = harness(b).await;
    let client = h.public_client().await;
    let (_, challenge) = pkce();
    let p = code_request(
        &client,
        LOOPBACK_CB,
        &challenge,
        &[("scope", "qr:generate"), ("scope", "products:write")],
    );
    let q = redirect(h.server.authorize(&p).await);
    assert_eq!(q["error"], "invalid_request");
    assert!(q["error_description"].contains("scope is repeated"));
}

async fn wrong_resource_is_invalid_target(b: Backend) {
    let h = harness(b).await;
    let client = h.public_client().await;
    let (_, challenge) = pkce();
    let p = code_request(
        &client,
        LOOPBACK_CB,
        &challenge,
        &[("resource", "https://evil.example/mcp"), ("state", "s")],
    );
    let q = redirect(h.server.authorize(&p).await);
    assert_eq!(q["error"], "invalid_target");
    assert_eq!(q["state"], "s");
    // The resource, case-insensitive in scheme/host and with a trailing slash, is the same.
    let p = code_request(
        &client,
        LOOPBACK_CB,
        &challenge,
        &[("resource", "HTTPS://PRODLINK.test/mcp/http/")],
    );
    assert_eq!(h.server.authorize(&p).await.unwrap().resource, RESOURCE);
    // The second MCP endpoint (`/mcp`) is the same server under another name: accepted, and the
    // token's audience is the name the client asked for.
    let p = code_request(
        &client,
        LOOPBACK_CB,
        &challenge,
        &[("resource", "https://prodlink.test/mcp")],
    );
    assert_eq!(h.server.authorize(&p).await.unwrap().resource, "https://prodlink.test/mcp");
    let p = code_request(
        &client,
        LOOPBACK_CB,
        &challenge,
        &[("resource", "https://prodlink.test/mcp/other")],
    );
    assert_eq!(redirect(h.server.authorize(&p).await)["error"], "invalid_target");

    let (code, verifier) = h.code(&client, LOOPBACK_CB).await;
    let p = params(&[
        ("grant_type", "authorization_code"),
        ("client_id", &client),
        ("code", &code),
        ("code_verifier", &verifier),
        ("redirect_uri", LOOPBACK_CB),
        ("resource", "https://prodlink.test/api/"),
    ]);
    let e = h.server.token(&p, None).await.unwrap_err();
    assert_eq!(e.error, "invalid_target");
}

async fn scope_is_limited_to_the_client(b: Backend) {
    let h = harness(b).await;
    let client = h.public_client().await;
    let (_, challenge) = pkce();
    let p =
        code_request(&client, LOOPBACK_CB, &challenge, &[("scope", "qr:generate products:write")]);
    let q = redirect(h.server.authorize(&p).await);
    assert_eq!(q["error"], "invalid_scope");
    assert!(q["error_description"].contains("products:write"));
}

async fn refresh_rotates_and_reuse_revokes_the_family(b: Backend) {
    let h = harness(b).await;
    let (client, first) = h.tokens().await;
    let r1 = first.refresh_token.clone().unwrap();
    let second = h.refresh(&client, &r1, None).await.unwrap();
    let r2 = second.refresh_token.clone().unwrap();
    assert_ne!(r1, r2);
    assert!(h.server.validate_bearer(&second.access_token).await.is_ok());
    // The rotated token comes back: revoke everything of the grant.
    let e = h.refresh(&client, &r1, None).await.unwrap_err();
    assert_eq!(e.error, "invalid_grant");
    assert!(e.description.contains("already used"));
    assert!(h.server.validate_bearer(&second.access_token).await.is_err());
    assert!(h.server.validate_bearer(&first.access_token).await.is_err());
    let e = h.refresh(&client, &r2, None).await.unwrap_err();
    assert!(e.description.contains("revoked"), "{e:?}");
}

async fn refresh_scope_can_only_narrow(b: Backend) {
    let h = harness(b).await;
    let (client, t) = h.tokens().await;
    let e = h
        .refresh(&client, t.refresh_token.as_deref().unwrap(), Some("qr:generate products:write"))
        .await
        .unwrap_err();
    assert_eq!(e.error, "invalid_scope");
    // The failed attempt did not consume the token.
    let ok =
        h.refresh(&client, t.refresh_token.as_deref().unwrap(), Some("qr:generate")).await.unwrap();
    assert_eq!(ok.scope, "qr:generate");
}

async fn refresh_tokens_are_bound_to_their_client_and_expire(b: Backend) {
    let h = harness(b).await;
    let (client, t) = h.tokens().await;
    let other = h.public_client().await;
    let rt = t.refresh_token.unwrap();
    let e = h.refresh(&other, &rt, None).await.unwrap_err();
    assert!(e.description.contains("another client"));
    let e = h.refresh(&client, &t.access_token, None).await.unwrap_err();
    assert!(e.description.contains("unknown refresh token"));
    h.clock.advance(91 * 24 * 3600);
    let e = h.refresh(&client, &rt, None).await.unwrap_err();
    assert!(e.description.contains("expired"));
}

async fn revocation_kills_tokens(b: Backend) {
    let h = harness(b).await;
    let (client, t) = h.tokens().await;
    assert!(h.server.validate_bearer(&t.access_token).await.is_ok());
    h.server
        .revoke(&params(&[("client_id", &client), ("token", &t.access_token)]), None)
        .await
        .unwrap();
    let e = h.server.validate_bearer(&t.access_token).await.unwrap_err();
    assert!(e.0.contains("revoked"));
    // The refresh token still works after revoking only the access token; revoking it ends the grant.
    let next = h.refresh(&client, t.refresh_token.as_deref().unwrap(), None).await.unwrap();
    h.server
        .revoke(
            &params(&[("client_id", &client), ("token", next.refresh_token.as_deref().unwrap())]),
            None,
        )
        .await
        .unwrap();
    assert!(h.server.validate_bearer(&next.access_token).await.is_err());
    // Unknown tokens and other clients' tokens: 200 and no effect.
    h.server
        .revoke(&params(&[("client_id", &client), ("token", "pl_at_nothing")]), None)
        .await
        .unwrap();
    let (_, t2) = h.tokens().await;
    h.server
        .revoke(&params(&[("client_id", &client), ("token", &t2.access_token)]), None)
        .await
        .unwrap();
    assert!(h.server.validate_bearer(&t2.access_token).await.is_ok());
}

async fn bearer_validation_checks_expiry_kind_and_audience(b: Backend) {
    let h = harness(b).await;
    let (_, t) = h.tokens().await;
    assert!(h.server.validate_bearer("pl_at_made_up").await.unwrap_err().0.contains("unknown"));
    let e = h.server.validate_bearer(t.refresh_token.as_deref().unwrap()).await.unwrap_err();
    assert!(e.0.contains("refresh token"));
    // A token for another audience (issued to the built-in CLI client).
    h.server.mint_token("ann@example.com", "qr:generate").await.unwrap();
    let now = auth::clock::stamp(time::OffsetDateTime::now_utc());
    let grant = h
        .store
        .create_grant(
            Some(h.user.id),
            "prodlink-cli",
            "qr:generate",
            Some("https://elsewhere.example/mcp"),
            &now,
        )
        .await
        .unwrap();
    h.store
        .create_token(&TokenRecord {
            token_hash: auth::secrets::hash("pl_at_foreign"),
            kind: "access".into(),
            grant_id: grant,
            scope: "qr:generate".into(),
            audience: Some("https://elsewhere.example/mcp".into()),
            expires_at: auth::clock::stamp(
                time::OffsetDateTime::now_utc() + Duration::from_secs(3600),
            ),
            rotated_at: None,
            revoked_at: None,
            created_at: now,
        })
        .await
        .unwrap();
    let e = h.server.validate_bearer("pl_at_foreign").await.unwrap_err();
    assert!(e.0.contains("not for this resource"), "{e:?}");
    // Expiry (also through the validation cache).
    assert!(h.server.validate_bearer(&t.access_token).await.is_ok());
    h.clock.advance(24 * 3600 + 1);
    let e = h.server.validate_bearer(&t.access_token).await.unwrap_err();
    assert!(e.0.contains("expired"), "{e:?}");
}

async fn consent_tokens_bind_session_and_request(b: Backend) {
    let h = harness(b).await;
    let client = h.public_client().await;
    let (_, challenge) = pkce();
    let req = h.authorize(&client, LOOPBACK_CB, &challenge).await;
    let token = h.server.consent_token(&h.session, &req);
    assert!(h.server.check_consent_token(&h.session, &req, &token));
    assert!(!h.server.check_consent_token(&h.session, &req, ""));
    assert!(!h.server.check_consent_token("pl_ss_another_session", &req, &token));
    let mut tampered = req.clone();
    tampered.redirect_uri = "http://localhost:9999/callback".into();
    assert!(!h.server.check_consent_token(&h.session, &tampered, &token));
    let mut tampered = req.clone();
    tampered.scope = "qr:generate products:write".into();
    assert!(!h.server.check_consent_token(&h.session, &tampered, &token));
    // Deny goes back with access_denied, state and iss.
    let q = query(&h.server.deny(&req));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], SITE);
}

async fn consent_is_remembered_except_for_loopback_clients(b: Backend) {
    let h = harness(b).await;
    let client = h.public_client().await;
    let (_, challenge) = pkce();
    let req = h.authorize(&client, LOOPBACK_CB, &challenge).await;
    h.server.approve(&h.user, &req).await.unwrap();
    assert!(h.server.needs_consent(&h.user, &req).await, "loopback-only clients are always asked");
    let (web, _) = h.confidential_client().await;
    let req = h.authorize(&web, "https://app.example.com/cb", &challenge).await;
    assert!(h.server.needs_consent(&h.user, &req).await);
    h.server.approve(&h.user, &req).await.unwrap();
    assert!(!h.server.needs_consent(&h.user, &req).await);
    // The user sees both consents and can revoke one, which ends its tokens.
    let listed = h.server.consents(h.user.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(h.server.revoke_consent(h.user.id, &web).await.unwrap());
    assert!(h.server.needs_consent(&h.user, &req).await);
    assert_eq!(h.server.consents(h.user.id).await.unwrap().len(), 1);
}

async fn revoking_consent_revokes_tokens(b: Backend) {
    let h = harness(b).await;
    let (client, t) = h.tokens().await;
    assert!(h.server.validate_bearer(&t.access_token).await.is_ok());
    h.server.revoke_consent(h.user.id, &client).await.unwrap();
    assert!(h.server.validate_bearer(&t.access_token).await.is_err());
    assert!(h.refresh(&client, t.refresh_token.as_deref().unwrap(), None).await.is_err());
}

async fn confidential_clients_authenticate(b: Backend) {
    let h = harness(b).await;
    let (id, secret) = h.confidential_client().await;
    let (code, verifier) = h.code(&id, "https://app.example.com/cb").await;
    let form = |extra: &[(&str, &str)]| {
        let mut p = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", verifier.as_str()),
            ("redirect_uri", "https://app.example.com/cb"),
        ];
        p.extend_from_slice(extra);
        params(&p)
    };
    let e = h.server.token(&form(&[("client_id", &id)]), None).await.unwrap_err();
    assert_eq!((e.error, e.status), ("invalid_client", 401));
    let e = h.server.token(&form(&[]), Some((id.clone(), "pl_cs_wrong".into()))).await.unwrap_err();
    assert_eq!((e.error, e.status, e.basic_challenge), ("invalid_client", 401, true));
    let e = h
        .server
        .token(&form(&[("client_id", &id), ("client_secret", "nope")]), None)
        .await
        .unwrap_err();
    assert_eq!((e.error, e.basic_challenge), ("invalid_client", false));
    let e = h
        .server
        .token(&form(&[("client_secret", &secret)]), Some((id.clone(), secret.clone())))
        .await
        .unwrap_err();
    assert_eq!(e.error, "invalid_request");
    let t = h.server.token(&form(&[]), Some((id.clone(), secret.clone()))).await.unwrap();
    assert!(t.refresh_token.is_some());

    // Introspection: the confidential client may; public clients may not.
    let p = params(&[("token", &t.access_token)]);
    let v = h.server.introspect(&p, Some((id.clone(), secret.clone()))).await.unwrap();
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], id.as_str());
    assert_eq!(v["aud"], RESOURCE);
    assert_eq!(v["iss"], SITE);
    assert_eq!(v["username"], "ann@example.com");
    let public = h.public_client().await;
    let e = h
        .server
        .introspect(&params(&[("token", &t.access_token), ("client_id", &public)]), None)
        .await
        .unwrap_err();
    assert_eq!((e.error, e.status), ("invalid_client", 401));
    let e = h.server.introspect(&p, None).await.unwrap_err();
    assert_eq!(e.status, 401);
    h.server.revoke(&p, Some((id.clone(), secret.clone()))).await.unwrap();
    let v = h.server.introspect(&p, Some((id, secret))).await.unwrap();
    assert_eq!(v, serde_json::json!({"active": false}));
}

async fn dynamic_registration_rules(b: Backend) {
    let h = harness(b).await;
    let reg = |body: serde_json::Value| {
        let s = &h.server;
        async move { s.register(&body, "198.51.100.1".parse().unwrap()).await }
    };
    let e =
        reg(serde_json::json!({"redirect_uris": ["http://app.example.com/cb"]})).await.unwrap_err();
    assert_eq!(e.error, "invalid_redirect_uri");
    let e = reg(serde_json::json!({"redirect_uris": ["https://app.example.com/cb#frag"]}))
        .await
        .unwrap_err();
    assert_eq!(e.error, "invalid_redirect_uri");
    let e = reg(serde_json::json!({"redirect_uris": ["myapp://cb"]})).await.unwrap_err();
    assert_eq!(e.error, "invalid_redirect_uri");
    let e = reg(serde_json::json!({})).await.unwrap_err();
    assert_eq!(e.error, "invalid_redirect_uri");
    let e = reg(
        serde_json::json!({"redirect_uris": [LOOPBACK_CB], "scope": "qr:generate products:write"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.error, "invalid_client_metadata");
    assert!(e.description.contains("products:write"));
    let e = reg(
        serde_json::json!({"redirect_uris": [LOOPBACK_CB], "grant_types": ["client_credentials"]}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.error, "invalid_client_metadata");
    let e = reg(serde_json::json!({"redirect_uris": [LOOPBACK_CB], "token_endpoint_auth_method": "private_key_jwt"})).await.unwrap_err();
    assert_eq!(e.error, "invalid_client_metadata");
    let ok = reg(
        serde_json::json!({"redirect_uris": [LOOPBACK_CB], "token_endpoint_auth_method": "none"}),
    )
    .await
    .unwrap();
    assert_eq!(ok["scope"], "qr:generate");
    assert!(ok.get("client_secret").is_none());
    // Rate limit: 10 per minute per address (the failed ones above count too).
    let mut limited = None;
    for _ in 0..12 {
        if let Err(e) = reg(serde_json::json!({"redirect_uris": [LOOPBACK_CB]})).await {
            limited = Some(e);
            break;
        }
    }
    let e = limited.expect("registration is rate limited");
    assert_eq!(e.status, 429);
}

async fn sign_in_is_throttled_and_vague(b: Backend) {
    let h = harness(b).await;
    let attacker: std::net::IpAddr = "198.51.100.9".parse().unwrap();
    assert_eq!(
        h.server.login("ann@example.com", "wrong password!", attacker).await.unwrap_err(),
        LoginError::BadCredentials
    );
    assert_eq!(
        h.server.login("nobody@example.com", "wrong password!", attacker).await.unwrap_err(),
        LoginError::BadCredentials
    );
    let mut throttled = false;
    for _ in 0..10 {
        if let Err(LoginError::Throttled(secs)) =
            h.server.login("ann@example.com", "wrong password!", attacker).await
        {
            assert!(secs >= 1);
            throttled = true;
            break;
        }
    }
    assert!(throttled, "repeated failures must be throttled");
    // Sessions: live until logout.
    assert_eq!(h.server.session_user(&h.session).await.unwrap().id, h.user.id);
    h.server.logout(&h.session).await;
    assert!(h.server.session_user(&h.session).await.is_none());
}

async fn sessions_expire(b: Backend) {
    let h = harness(b).await;
    h.clock.advance(12 * 3600 + 1);
    assert!(h.server.session_user(&h.session).await.is_none());
}

async fn weak_or_duplicate_accounts_are_refused(b: Backend) {
    let h = harness(b).await;
    assert!(h.server.create_user("bob@example.com", "short").await.unwrap_err().contains("10"));
    assert!(h.server.create_user("ANN@example.com", PASSWORD).await.is_err());
    assert!(h.server.create_user("not-an-email", PASSWORD).await.is_err());
}

async fn qr_quota_counts_successful_generations(b: Backend) {
    let h = harness_with(b, |c| c.qr_per_day = 2).await;
    assert!(h.server.check_qr_quota(h.user.id).await.is_ok());
    for _ in 0..2 {
        h.server
            .audit(AuditRecord {
                occurred_at: String::new(),
                request_id: None,
                action: "generate_qr_url".into(),
                outcome: "ok".into(),
                user_id: Some(h.user.id),
                client_id: None,
                target: Some("09506000134352".into()),
                arguments: serde_json::json!({}),
            })
            .await;
    }
    let wait = h.server.check_qr_quota(h.user.id).await.unwrap_err();
    assert!((1..=86400).contains(&wait), "{wait}");
    h.clock.advance(86400);
    assert!(h.server.check_qr_quota(h.user.id).await.is_ok());
}

async fn minted_tokens_work_for_the_mcp_resource(b: Backend) {
    let h = harness(b).await;
    let t = h.server.mint_token("ann@example.com", "qr:generate").await.unwrap();
    let info = h.server.validate_bearer(&t.access_token).await.unwrap();
    assert_eq!(info.client_id, "prodlink-cli");
    assert!(h.server.mint_token("ann@example.com", "root").await.is_err());
    assert!(h.server.mint_token("zed@example.com", "qr:generate").await.is_err());
}
