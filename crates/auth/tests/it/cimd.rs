//! Client ID Metadata Documents: the authorization server's use of them (validation, caching
//! within bounds) and the HTTP fetcher's SSRF defences against real sockets on 127.0.0.1 with
//! an injected resolver: special-use answers, mixed answers, redirects, oversized and slow
//! documents. The server-side tests run on SQLite and (with `PRODLINK_TEST_PG`) PostgreSQL.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth::AuthorizeError;
use auth::cimd::{FetchPolicy, Fetcher as _, HttpFetcher, Lookup};
use common::*;

on_both_backends!(
    metadata_document_clients_complete_the_flow,
    cache_lifetime_is_bounded,
    bad_documents_are_error_pages,
);
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use url::Url;

const DOC_URL: &str = "https://agent.example.com/oauth/client.json";

fn doc(id: &str) -> String {
    serde_json::json!({
        "client_id": id,
        "client_name": "Example Agent",
        "redirect_uris": [LOOPBACK_CB],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
    })
    .to_string()
}

async fn metadata_document_clients_complete_the_flow(b: Backend) {
    let h = harness(b).await;
    h.fetcher.serve(DOC_URL, &doc(DOC_URL), Duration::from_secs(300));
    let (code, verifier) = h.code(DOC_URL, LOOPBACK_CB).await;
    let t = h.exchange(DOC_URL, &code, &verifier, LOOPBACK_CB).await.unwrap();
    assert!(t.refresh_token.is_some());
    let info = h.server.validate_bearer(&t.access_token).await.unwrap();
    assert_eq!(info.client_id, DOC_URL);
    // Authorize and token used the cached document: one fetch.
    assert_eq!(*h.fetcher.calls.lock().unwrap(), 1);
    let (_, challenge) = pkce();
    let req = h.authorize(DOC_URL, LOOPBACK_CB, &challenge).await;
    assert_eq!(req.client.client_name.as_deref(), Some("Example Agent"));
    assert_eq!(req.client_host().as_deref(), Some("agent.example.com"));
    assert_eq!(*h.fetcher.calls.lock().unwrap(), 1);
    // After max-age the document is fetched again.
    h.clock.advance(301);
    h.authorize(DOC_URL, LOOPBACK_CB, &challenge).await;
    assert_eq!(*h.fetcher.calls.lock().unwrap(), 2);
}

async fn cache_lifetime_is_bounded(b: Backend) {
    let h = harness(b).await;
    // A document asking to be cached for a year is re-fetched within a day.
    h.fetcher.serve(DOC_URL, &doc(DOC_URL), Duration::from_secs(24 * 3600));
    let (_, challenge) = pkce();
    h.authorize(DOC_URL, LOOPBACK_CB, &challenge).await;
    h.clock.advance(24 * 3600 + 1);
    h.authorize(DOC_URL, LOOPBACK_CB, &challenge).await;
    assert_eq!(*h.fetcher.calls.lock().unwrap(), 2);
}

async fn bad_documents_are_error_pages(b: Backend) {
    let h = harness(b).await;
    let (_, challenge) = pkce();
    let ask = |id: &str| code_request(id, LOOPBACK_CB, &challenge, &[]);
    // The document names another client id.
    h.fetcher.serve(DOC_URL, &doc("https://agent.example.com/other.json"), Duration::from_secs(60));
    match h.server.authorize(&ask(DOC_URL)).await {
        Err(AuthorizeError::Page(m)) => {
            assert!(m.contains("not the URL it was fetched from"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // A fetch failure.
    match h.server.authorize(&ask("https://agent.example.com/missing.json")).await {
        Err(AuthorizeError::Page(m)) => assert!(m.contains("404"), "{m}"),
        other => panic!("{other:?}"),
    }
    // URL-shaped ids pointing at special-use addresses are refused before any fetch.
    let before = *h.fetcher.calls.lock().unwrap();
    for id in [
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/c.json",
        "https://[::1]/c.json",
        "http://agent.example.com/c.json",
    ] {
        match h.server.authorize(&ask(id)).await {
            Err(AuthorizeError::Page(_)) => {}
            other => panic!("{id}: {other:?}"),
        }
    }
    let after = *h.fetcher.calls.lock().unwrap();
    // Only the plain-http one reaches resolve_client's URL-shaped branch… and still is not fetched.
    assert_eq!(before, after);
}

/// A resolver with fixed answers.
struct FixedLookup(Vec<IpAddr>);

#[async_trait]
impl Lookup for FixedLookup {
    async fn lookup(&self, _host: &str) -> std::io::Result<Vec<IpAddr>> {
        Ok(self.0.clone())
    }
}

fn lookup(addrs: &[&str]) -> Arc<dyn Lookup> {
    Arc::new(FixedLookup(addrs.iter().map(|a| a.parse().unwrap()).collect()))
}

/// A one-shot raw HTTP server: answers every connection with `respond`.
async fn server(
    respond: impl Fn(&mut Vec<u8>) + Send + Sync + 'static,
    delay_body: Option<Duration>,
) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let respond = respond.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let mut out = Vec::new();
                respond(&mut out);
                match delay_body {
                    None => {
                        let _ = sock.write_all(&out).await;
                    }
                    Some(d) => {
                        // Headers at once, then the body one byte at a time.
                        let split = out
                            .windows(4)
                            .position(|w| w == b"\r\n\r\n")
                            .map_or(out.len(), |p| p + 4);
                        let _ = sock.write_all(&out[..split]).await;
                        for b in &out[split..] {
                            tokio::time::sleep(d).await;
                            if sock.write_all(&[*b]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    port
}

fn response(status: &str, headers: &[(&str, &str)], body: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(
        format!("HTTP/1.1 {status}\r\nconnection: close\r\ncontent-type: application/json\r\n")
            .as_bytes(),
    );
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n{body}", body.len()).as_bytes());
}

fn test_policy() -> FetchPolicy {
    FetchPolicy {
        allow_http: true,
        allow_private: true,
        timeout: Duration::from_millis(800),
        ..FetchPolicy::default()
    }
}

#[tokio::test]
async fn fetcher_connects_only_to_checked_addresses() {
    let port =
        server(|out| response("200 OK", &[("cache-control", "max-age=120")], &doc("x"), out), None)
            .await;
    // Production policy with a resolver answering a private or loopback address: refused,
    // whatever the name (DNS rebinding to internal services).
    let strict = FetchPolicy { allow_http: true, ..FetchPolicy::default() };
    for answers in [
        &["127.0.0.1"][..],
        &["10.0.0.7"],
        &["169.254.169.254"],
        &["::1"],
        &["fd00::1"],
        &["93.184.216.34", "127.0.0.1"],
    ] {
        let f = HttpFetcher::with_lookup(&strict, lookup(answers)).unwrap();
        let url = Url::parse(&format!("http://docs.agent.example:{port}/c.json")).unwrap();
        let e = f.fetch(&url).await.unwrap_err();
        assert!(e.contains("special-use"), "{answers:?}: {e}");
    }
    // The address the resolver vouched for is the one connected to.
    let f = HttpFetcher::with_lookup(&test_policy(), lookup(&["127.0.0.1"])).unwrap();
    let url = Url::parse(&format!("http://docs.agent.example:{port}/c.json")).unwrap();
    let got = f.fetch(&url).await.unwrap();
    assert_eq!(got.max_age, Duration::from_secs(120));
    assert!(String::from_utf8(got.body).unwrap().contains("Example Agent"));
}

#[tokio::test]
async fn fetcher_refuses_redirects() {
    let port = server(
        |out| {
            response(
                "302 Found",
                &[("location", "http://169.254.169.254/latest/meta-data")],
                "",
                out,
            )
        },
        None,
    )
    .await;
    let f = HttpFetcher::with_lookup(&test_policy(), lookup(&["127.0.0.1"])).unwrap();
    let e = f
        .fetch(&Url::parse(&format!("http://127.0.0.1:{port}/c.json")).unwrap())
        .await
        .unwrap_err();
    assert!(e.contains("302") && e.contains("redirects are not followed"), "{e}");
}

#[tokio::test]
async fn fetcher_refuses_oversized_documents() {
    let big = format!("{{\"client_id\":\"x\",\"pad\":\"{}\"}}", "a".repeat(6000));
    let port = server(move |out| response("200 OK", &[], &big, out), None).await;
    let f = HttpFetcher::with_lookup(&test_policy(), lookup(&["127.0.0.1"])).unwrap();
    let e = f
        .fetch(&Url::parse(&format!("http://127.0.0.1:{port}/c.json")).unwrap())
        .await
        .unwrap_err();
    assert!(e.contains("larger than 5120 bytes"), "{e}");
    // Without a content-length (chunked), the limit is counted while reading.
    let big = "b".repeat(6000);
    let port = server(
        move |out| {
            out.extend_from_slice(
                b"HTTP/1.1 200 OK\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n",
            );
            for chunk in big.as_bytes().chunks(1000) {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        },
        None,
    )
    .await;
    let e = f
        .fetch(&Url::parse(&format!("http://127.0.0.1:{port}/c.json")).unwrap())
        .await
        .unwrap_err();
    assert!(e.contains("larger than 5120 bytes"), "{e}");
}

#[tokio::test]
async fn fetcher_gives_up_on_slow_documents() {
    let port =
        server(|out| response("200 OK", &[], &doc("x"), out), Some(Duration::from_millis(20)))
            .await;
    let f = HttpFetcher::with_lookup(&test_policy(), lookup(&["127.0.0.1"])).unwrap();
    let started = std::time::Instant::now();
    let e = f
        .fetch(&Url::parse(&format!("http://127.0.0.1:{port}/c.json")).unwrap())
        .await
        .unwrap_err();
    assert!(e.to_lowercase().contains("time"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn fetcher_reports_non_200() {
    let port = server(|out| response("404 Not Found", &[], "{}", out), None).await;
    let f = HttpFetcher::with_lookup(&test_policy(), lookup(&["127.0.0.1"])).unwrap();
    let e = f
        .fetch(&Url::parse(&format!("http://127.0.0.1:{port}/c.json")).unwrap())
        .await
        .unwrap_err();
    assert!(e.contains("404"), "{e}");
}
