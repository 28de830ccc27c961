//! The `prodlink` binary end to end: settings precedence, `serve` over real HTTP on
//! 127.0.0.1 (health, metrics, request ids, errors, graceful shutdown on SIGTERM), MCP over
//! stdio, the demo catalog, `import off` on the 85k-row Open Food Facts subset, accounts,
//! clients and minted tokens against a running server, organizations and API keys (create, list,
//! revoke), and import-time embedding with the semantic index the server reports.
//!
//! Every test about a database runs twice, as `sqlite::NAME` on a SQLite file and as
//! `postgres::NAME` on a PostgreSQL database of its own on the server named by
//! `PRODLINK_TEST_PG` (skipped, with a note, when it is unset; scripts/test.sh sets it). The
//! tests without a database (`--help`, settings refused before any is opened) run once, and so
//! do the PostgreSQL-only ones: `migrate --from --to` with two processes on one database, and a
//! database restart under load (on a private cluster that scripts/pg.sh starts and stops).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use common::{
    Backend, Server, demo_data, http, mcp_call, model_dir, on_both_backends, prodlink,
    run_with_stdin, sqlite, validate_api_key,
};

on_both_backends!(sync:
    settings_precedence_is_file_then_environment_then_flags,
    serve_answers_health_metrics_and_errors_then_stops_gracefully,
    demo_loads_into_an_empty_database_once,
    import_off_accounts_for_every_row_of_the_85k_subset,
    mcp_over_stdio_speaks_json_rpc_lines_and_keeps_stdout_clean,
    accounts_clients_and_minted_tokens_work_against_a_running_server,
    organizations_users_and_api_keys_round_trip,
    org_assign_hands_imported_brands_and_retailers_to_an_organization,
    import_embeds_changed_products_and_serve_reports_the_semantic_index,
);

#[test]
fn help_documents_settings_and_precedence() {
    let out = prodlink().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("PRODLINK_<FLAG>") && help.contains("file < environment < flags"),
        "{help}"
    );
    for cmd in ["serve", "migrate", "import"] {
        assert!(help.contains(cmd), "{cmd} missing from --help");
    }
    let out = prodlink().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in ["--addr", "--database", "--site-url", "--demo", "--model-dir", "PRODLINK_SITE_URL"]
    {
        assert!(help.contains(flag), "{flag} missing from serve --help");
    }
}

fn settings_precedence_is_file_then_environment_then_flags(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prodlink.toml");
    let [file, env, flag] =
        ["file", "env", "flag"].map(|label| common::database(b, dir.path(), label));
    std::fs::write(&config, format!("database = \"{}\"\n", file.url)).unwrap();
    let run = |env: Option<&common::Database>, flag: Option<&common::Database>| {
        let mut c = prodlink();
        c.arg("--config").arg(&config).arg("migrate");
        if let Some(e) = env {
            c.env("PRODLINK_DATABASE", &e.url);
        }
        if let Some(f) = flag {
            c.arg("--database").arg(&f.url);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let out = run(None, None);
    assert!(out.contains(&file.name), "{out}");
    let out = run(Some(&env), None);
    assert!(out.contains(&env.name), "{out}");
    let out = run(Some(&env), Some(&flag));
    assert!(out.contains(&flag.name), "{out}");
    // Each run migrated its database (a SQLite file is created by it).
    for db in [&file, &env, &flag] {
        assert_eq!(db.int_blocking("SELECT count(*) FROM products"), 0, "{} not migrated", db.name);
    }

    std::fs::write(&config, "databse = \"x\"\n").unwrap();
    let out = prodlink().arg("--config").arg(&config).arg("migrate").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field"));

    // Import settings from the file; booleans from the environment accept 1/0.
    std::fs::write(
        &config,
        format!("report_dir = \"{}\"\nno_progress = true\n", dir.path().display()),
    )
    .unwrap();
    let input = dir.path().join("in").join("bad.tsv");
    std::fs::create_dir_all(input.parent().unwrap()).unwrap();
    std::fs::write(&input, "code\tproduct_name\n123\tx\n").unwrap();
    let out = prodlink()
        .arg("--config")
        .arg(&config)
        .args(["--database", &flag.url, "import", "off"])
        .arg(&input)
        .env("PRODLINK_NO_PROGRESS", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("bad.tsv.rejects.tsv").exists());

    let out = prodlink().args(["--database", "mysql://x", "migrate"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected sqlite://PATH"));
}

fn serve_answers_health_metrics_and_errors_then_stops_gracefully(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prodlink.toml");
    // The file's address cannot be bound; the environment's wins.
    std::fs::write(&config, "addr = \"not an address\"\nsite_url = \"https://example.test\"\n")
        .unwrap();
    let db = common::database(b, dir.path(), "s");
    let server = Server::start(
        prodlink()
            .arg("--config")
            .arg(&config)
            .args(["--database", &db.url, "serve"])
            .env("PRODLINK_ADDR", "127.0.0.1:0"),
    );
    assert!(server.base.starts_with("http://127.0.0.1:"));

    let res = server.get("/mcp/health");
    assert_eq!(res.status(), 200);
    let id = res.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
    assert!(!id.is_empty());
    let health: Value = res.json().unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(health["backend"], b.name());
    assert_eq!(health["catalog"]["products"], 0);
    assert_eq!(health["model"]["loaded"], false);

    // A client's request id is kept.
    let res = http()
        .get(format!("{}/mcp/health", server.base))
        .header("x-request-id", "trace-me-42")
        .send()
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-me-42");

    let res = server.get("/no/such/route");
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let p: Value = res.json().unwrap();
    assert_eq!(p["error_code"], "not_found");
    assert_eq!(p["status"], 404);

    // Errors from routing carry problem documents too; odd methods don't create new series.
    let res = http().post(format!("{}/mcp/health", server.base)).send().unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let odd = reqwest::Method::from_bytes(b"FOOBAR").unwrap();
    http().request(odd, format!("{}/mcp/health", server.base)).send().unwrap();

    let metrics = server.get("/metrics").text().unwrap();
    assert!(!metrics.contains("FOOBAR"), "{metrics}");
    assert!(metrics.contains("method=\"other\""), "{metrics}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("prodlink_http_requests_total") && l.contains("status=\"405\"")),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(|l| l.starts_with("prodlink_http_requests_total")
            && l.contains("route=\"/mcp/health\"")
            && l.contains("status=\"200\"")),
        "{metrics}"
    );
    assert!(metrics.contains("prodlink_http_request_duration_seconds_bucket"), "{metrics}");

    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn bad_settings_fail_fast_with_the_reason() {
    let out = prodlink().args(["serve", "--addr", "localhost"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--addr"));
    let out = prodlink().args(["serve", "--site-url", "example.com"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("http:// or https://"));
    for bad in ["1.5", "-0.1", "NaN"] {
        let out = prodlink().arg("serve").arg(format!("--semantic-ratio={bad}")).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--semantic-ratio must be between 0 and 1"), "{bad}: {err}");
    }
}

/// Whether a search result is a chocolate product by its name or category.
fn is_chocolate(item: &Value) -> bool {
    ["name", "category"].iter().any(|k| {
        let text = item[k].as_str().unwrap_or("").to_lowercase();
        ["chocolat", "schokolade", "cocoa", "cacao"].iter().any(|w| text.contains(w))
    })
}

fn demo_loads_into_an_empty_database_once(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = common::database(b, dir.path(), "demo");
    // --wait-for-index: "listening on" only once the search indexes hold the whole catalog.
    let server = Server::start(prodlink().args([
        "--database",
        &db.url,
        "serve",
        "--demo",
        "--wait-for-index",
        "--addr",
        "127.0.0.1:0",
    ]));
    let health: Value = server.get("/mcp/health").json().unwrap();
    let c = &health["catalog"];
    assert!(c["products"].as_u64().unwrap() > 80_000, "{health}");
    assert_eq!(c["stores"], 3173);
    assert_eq!(c["retailers"], 1);
    assert!(c["offers"].as_u64().unwrap() > 150_000, "{health}");
    assert!(c["brands"].as_u64().unwrap() > 100, "{health}");
    let coverage = &health["search"]["index_coverage"];
    assert_eq!(coverage["complete"], true, "{health}");
    assert_eq!(coverage["lexical"], 1.0, "{health}");
    assert_eq!(health["search"]["lexical"]["ready"], true, "{health}");

    // Near Bentonville, AR (dozens of demo stores), "chocolate" brings chocolate products sold
    // within 50 km first — over MCP and over REST — and the complete index adds no note.
    let (bentonville_lat, bentonville_lng) = (36.3729, -94.2088);
    let (status, res) = mcp_call(
        &server.base,
        None,
        "search_products",
        serde_json::json!({"query": "chocolate", "geo_lat": bentonville_lat,
            "geo_lng": bentonville_lng, "limit": 20}),
    );
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["result"]["content"].as_array().unwrap().len(), 1, "no note: {res}");
    let out = &res["result"]["structuredContent"];
    assert_eq!(out["index_coverage"]["complete"], true, "{out}");
    let items = out["items"].as_array().unwrap();
    let nearby = |i: &&Value| i["distance_km"].as_f64().is_some_and(|d| d <= 50.0);
    assert!(
        items.iter().take(5).all(|i| nearby(&i) && i["price_min"].is_number() && is_chocolate(i)),
        "the first five are chocolate sold nearby: {out}"
    );
    assert!(items.iter().take(10).filter(nearby).count() >= 8, "{out}");
    assert!(items.iter().take(10).all(is_chocolate), "{out}");
    let rest: Value = server
        .get(&format!(
            "/api/v1/search?query=chocolate&geo_lat={bentonville_lat}&geo_lng={bentonville_lng}&limit=20"
        ))
        .json()
        .unwrap();
    assert_eq!(rest["items"], out["items"], "REST answers as MCP does");
    // Without a location, the best chocolate matches come from anywhere.
    let (_, anywhere) = mcp_call(
        &server.base,
        None,
        "search_products",
        serde_json::json!({"query": "chocolate", "limit": 10}),
    );
    let anywhere = anywhere["result"]["structuredContent"]["items"].as_array().unwrap().clone();
    assert!(anywhere.iter().all(|i| i["distance_km"].is_null() && is_chocolate(i)), "{anywhere:?}");
    // The demo rules: every line accepted, and the resolver follows them.
    assert_eq!(db.int_blocking("SELECT count(*) FROM resolver_rules"), 7, "demo rules");
    let no_redirect = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: &str| no_redirect.get(format!("{}{path}", server.base)).send().unwrap();
    let batch = get("/01/00009542009588/10/L2026A");
    assert_eq!(batch.status(), 307);
    assert_eq!(batch.headers()["location"], "https://example.com/prodlink-demo/lindt/batch-L2026A");
    let recall = get("/01/00009542009069?linkType=gs1:recallStatus");
    assert_eq!(
        recall.headers()["location"],
        "https://example.com/prodlink-demo/recalls/lindor-coconut?linkType=gs1:recallStatus"
    );
    let recipes = |lang: &str| {
        no_redirect
            .get(format!("{}/01/00009542009069?linkType=gs1:recipeInfo", server.base))
            .header("accept-language", lang)
            .send()
            .unwrap()
    };
    assert!(
        recipes("fr-CH, en;q=0.5").headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://example.com/prodlink-demo/lindt/recettes?")
    );
    assert!(
        recipes("en-US").headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://example.com/prodlink-demo/lindt/recipes?")
    );
    let kept = get("/01/00009542015190");
    assert_eq!(kept.status(), 200, "a product rule keeps the hosted page");
    assert!(kept.text().unwrap().contains("Lindor assorted chocolate truffles"));
    assert!(server.terminate().success());

    // A second start with --demo keeps the catalog as it is.
    let server = Server::start(prodlink().args([
        "--database",
        &db.url,
        "serve",
        "--demo",
        "--addr",
        "127.0.0.1:0",
    ]));
    let again: Value = server.get("/mcp/health").json().unwrap();
    assert_eq!(again["catalog"], health["catalog"]);
}

fn import_off_accounts_for_every_row_of_the_85k_subset(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("products.tsv.gz");
    std::fs::copy(demo_data("off-2018-subset.tsv.gz"), &input).unwrap();
    let db = common::database(b, dir.path(), "i");
    let out =
        prodlink().args(["--database", &db.url, "import", "off"]).arg(&input).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let count = |label: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("{label} in {text}"));
        line.split(':').nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap()
    };
    let (rows, accepted, updated, rejected) =
        (count("rows read"), count("accepted"), count("updated"), count("rejected"));
    assert_eq!(rows, 84_745, "{text}");
    assert_eq!(accepted + updated + rejected, rows, "{text}");
    assert!(rejected > 1000, "{text}");

    let rejects = std::fs::read_to_string(dir.path().join("products.tsv.gz.rejects.tsv")).unwrap();
    let mut lines = rejects.lines();
    assert!(lines.next().unwrap().starts_with("line\tkey\treason"));
    let mut n = 0;
    for l in lines {
        let cols: Vec<&str> = l.splitn(4, '\t').collect();
        assert_eq!(cols.len(), 4, "{l}");
        assert!(!cols[2].trim().is_empty(), "no reason: {l}");
        n += 1;
    }
    assert_eq!(n, rejected);
    assert!(
        rejects.contains("check digit") && rejects.contains("must have 8, 12, 13 or 14 digits")
    );
}

fn mcp_over_stdio_speaks_json_rpc_lines_and_keeps_stdout_clean(b: Backend) {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let db = common::database(b, dir.path(), "stdio");
    let mut child = prodlink()
        .args(["--database", &db.url, "mcp-stdio"])
        .env("PRODLINK_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let lines = [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"validate_gtin","arguments":{"gtin":"95012346"}}}"#,
        r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"generate_qr_url","arguments":{"gtin":"95012346"}}}"#,
        "not json",
    ];
    for l in lines {
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin); // EOF ends the session
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let replies: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // one reply per request (the notification gets none), nothing else on stdout
    assert_eq!(replies.len(), 5, "{stdout}");
    assert_eq!(replies[0]["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(replies[1]["result"]["tools"].as_array().unwrap().len(), 9);
    assert_eq!(replies[2]["result"]["structuredContent"]["normalized"], "00000095012346");
    assert_eq!(replies[3]["error"]["code"], -32002);
    assert!(replies[3]["error"]["message"].as_str().unwrap().contains("--as-user"));
    assert_eq!(replies[4]["error"]["code"], -32700);
    // logs went to stderr
    assert!(String::from_utf8_lossy(&out.stderr).contains("tool call"));

    let out = prodlink()
        .args(["--database", &db.url, "mcp-stdio", "--as-user", "nobody@example.com"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no enabled prodlink user"));
}

fn accounts_clients_and_minted_tokens_work_against_a_running_server(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = common::database(b, dir.path(), "auth");

    // Users: the password comes from stdin, weak ones and duplicates are refused.
    let (ok, out, err) = run_with_stdin(
        &["user", "add", "--email", "ann@example.com", "--database", &db.url],
        "short\n",
    );
    assert!(!ok && err.contains("at least"), "{out}{err}");
    let (ok, out, err) = run_with_stdin(
        &["user", "add", "--email", "ann@example.com", "--database", &db.url],
        "correct horse battery\n",
    );
    assert!(ok && out.starts_with("created user "), "{out}{err}");
    let (ok, _, err) = run_with_stdin(
        &["user", "add", "--email", "ANN@example.com", "--database", &db.url],
        "correct horse battery\n",
    );
    assert!(!ok && err.contains("exists"), "{err}");

    // Clients: a confidential one gets a secret printed once; bad redirect URIs are refused.
    let (ok, out, err) = run_with_stdin(
        &[
            "client",
            "add",
            "--name",
            "Partner",
            "--redirect-uri",
            "https://partner.example/cb",
            "--confidential",
            "--client-id",
            "partner",
            "--database",
            &db.url,
        ],
        "",
    );
    assert!(ok, "{err}");
    assert!(out.contains("client_id=partner") && out.contains("client_secret="), "{out}");
    let (ok, _, err) = run_with_stdin(
        &[
            "client",
            "add",
            "--name",
            "Bad",
            "--redirect-uri",
            "http://evil.example/cb",
            "--database",
            &db.url,
        ],
        "",
    );
    assert!(!ok && err.contains("http"), "{err}");

    // A minted token for the site URL the server runs at unlocks generate_qr_url.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let site = format!("http://127.0.0.1:{port}");
    let (ok, token, err) = run_with_stdin(
        &[
            "token",
            "mint",
            "--email",
            "ann@example.com",
            "--site-url",
            &site,
            "--database",
            &db.url,
        ],
        "",
    );
    assert!(ok, "{err}");
    let token = token.trim().to_owned();
    assert!(token.len() >= 32 && !token.contains(' '), "{token}");
    let server = Server::start(prodlink().args([
        "serve",
        "--database",
        &db.url,
        "--addr",
        &format!("127.0.0.1:{port}"),
    ]));
    let call = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "generate_qr_url", "arguments": {"gtin": "614141123452"}}});
    let post = |token: Option<&str>| {
        let mut r = http()
            .post(format!("{}/mcp/http", server.base))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("mcp-protocol-version", "2025-11-25")
            .body(call.to_string());
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().unwrap()
    };
    assert_eq!(post(None).status(), 403);
    let res = post(Some(&token));
    assert_eq!(res.status(), 200);
    let v: Value = res.json().unwrap();
    assert_eq!(
        v["result"]["structuredContent"]["qr_url"],
        format!("{site}/01/00614141123452"),
        "the default site URL follows the port listened on: {v}"
    );
    let meta: Value = server.get("/.well-known/oauth-authorization-server").json().unwrap();
    assert_eq!(meta["issuer"], site);
    assert!(server.terminate().success());
}

/// Runs prodlink on `db` with no stdin; returns (success, stdout, stderr).
fn run_on(db: &common::Database, args: &[&str]) -> (bool, String, String) {
    let mut all = args.to_vec();
    all.extend(["--database", &db.url]);
    run_with_stdin(&all, "")
}

fn org_assign_hands_imported_brands_and_retailers_to_an_organization(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = common::database(b, dir.path(), "assign");
    for name in ["Acme Foods", "Globex"] {
        let (ok, out, err) = run_on(&db, &["org", "add", "--name", name]);
        assert!(ok, "{out}{err}");
    }
    let products = dir.path().join("products.jsonl");
    std::fs::write(
        &products,
        "{\"gtin\":\"04012345000009\",\"name\":\"Cola soft drink\",\"brand\":\"Fizz\"}\n",
    )
    .unwrap();
    let stores = dir.path().join("stores.csv");
    std::fs::write(
        &stores,
        "retailer,store_ref,name,address,city,region,postal_code,country,lat,lng\n\
         Corner Shop,1,Corner Shop Main St,1 Main St,Springfield,IL,62701,US,39.8,-89.6\n",
    )
    .unwrap();
    for (kind, file) in [("catalog", &products), ("stores", &stores)] {
        let out = prodlink()
            .args(["--database", &db.url, "import", kind, "--no-progress", "--no-embed"])
            .arg(file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let brand_owner = || {
        db.int_blocking("SELECT coalesce(organization_id, 0) FROM brands WHERE name_key = 'fizz'")
    };
    let retailer_owner = || {
        db.int_blocking(
            "SELECT coalesce(organization_id, 0) FROM retailers WHERE name = 'Corner Shop'",
        )
    };
    assert_eq!((brand_owner(), retailer_owner()), (0, 0), "imports make them nobody's");

    // A brand by its name in any case, a retailer by its exact name.
    let assign = |args: &[&str]| {
        let mut all = vec!["org", "assign"];
        all.extend(args);
        run_on(&db, &all)
    };
    let (ok, out, err) = assign(&["--organization", "Acme Foods", "--brand", "FIZZ"]);
    assert!(ok && out.trim() == r#"assigned brand "Fizz" to Acme Foods"#, "{out}{err}");
    let (ok, out, err) = assign(&["--organization", "Acme Foods", "--retailer", "Corner Shop"]);
    assert!(ok && out.trim() == r#"assigned retailer "Corner Shop" to Acme Foods"#, "{out}{err}");
    assert_eq!((brand_owner(), retailer_owner()), (1, 1));

    // Again: nothing to do. Another organization's: refused unless --reassign.
    let (ok, out, _) = assign(&["--organization", "Acme Foods", "--brand", "fizz"]);
    assert!(ok && out.contains(r#"brand "Fizz" already belongs to Acme Foods"#), "{out}");
    let (ok, _, err) = assign(&["--organization", "Globex", "--brand", "Fizz"]);
    assert!(
        !ok && err.contains("belongs to organization 1") && err.contains("--reassign"),
        "{err}"
    );
    assert_eq!(brand_owner(), 1);
    let (ok, out, err) = assign(&["--organization", "Globex", "--brand", "Fizz", "--reassign"]);
    assert!(ok && out.contains("to Globex (it was organization 1's)"), "{out}{err}");
    assert_eq!(brand_owner(), 2);

    // Unknown names, a retailer in another case, and neither flag change nothing.
    let (ok, _, err) = assign(&["--organization", "Globex", "--retailer", "corner shop"]);
    assert!(!ok && err.contains("no such retailer"), "{err}");
    let (ok, _, err) = assign(&["--organization", "Nobody", "--brand", "Fizz"]);
    assert!(!ok && err.contains("no such organization"), "{err}");
    let (ok, _, err) = assign(&["--organization", "Globex"]);
    assert!(!ok && err.contains("--brand"), "{err}");
    assert_eq!((brand_owner(), retailer_owner()), (2, 1));

    // Each change is in the audit log with the owner before and after; refusals are not.
    let changes =
        "SELECT count(*) FROM audit_events WHERE action IN ('brand.assign', 'retailer.assign')";
    assert_eq!(db.int_blocking(changes), 3);
    let reassigned = "SELECT count(*) FROM audit_events WHERE action = 'brand.assign' \
         AND before_state = '{\"organization_id\":1}' AND after_state = '{\"organization_id\":2}'";
    assert_eq!(db.int_blocking(reassigned), 1);
}

fn organizations_users_and_api_keys_round_trip(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = common::database(b, dir.path(), "keys");

    // Organizations: created once, listed tab-separated.
    let (ok, out, err) = run_on(&db, &["org", "add", "--name", "Acme Foods"]);
    assert!(ok && out.trim() == "created organization 1 (Acme Foods)", "{out}{err}");
    let (ok, out, _) = run_on(&db, &["org", "add", "--name", "Globex"]);
    assert!(ok && out.starts_with("created organization 2 "), "{out}");
    let (ok, _, err) = run_on(&db, &["org", "add", "--name", "Acme Foods"]);
    assert!(!ok && err.contains("exists"), "{err}");
    let (ok, out, _) = run_on(&db, &["org", "list"]);
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "id\tname\tcreated_at");
    assert!(lines[1].starts_with("1\tAcme Foods\t20") && lines[2].starts_with("2\tGlobex\t"));
    assert_eq!(lines.len(), 3, "{out}");

    // Users join an organization when created or later; an unknown one creates no account.
    let org_of = |email: &str| match email {
        "ann@example.com" => db.int_blocking(
            "SELECT coalesce(organization_id, 0) FROM users WHERE email = 'ann@example.com'",
        ),
        _ => db.int_blocking(
            "SELECT coalesce(organization_id, 0) FROM users WHERE email = 'bob@example.com'",
        ),
    };
    let (ok, _, err) = run_with_stdin(
        &[
            "user",
            "add",
            "--email",
            "ann@example.com",
            "--organization",
            "Acme",
            "--database",
            &db.url,
        ],
        "correct horse battery\n",
    );
    assert!(
        !ok && err.contains("no such organization") && err.contains("prodlink org add"),
        "{err}"
    );
    assert_eq!(db.int_blocking("SELECT count(*) FROM users"), 0);
    let (ok, out, err) = run_with_stdin(
        &[
            "user",
            "add",
            "--email",
            "ann@example.com",
            "--organization",
            "Acme Foods",
            "--database",
            &db.url,
        ],
        "correct horse battery\n",
    );
    assert!(ok && out.trim().ends_with("(ann@example.com) in Acme Foods"), "{out}{err}");
    assert_eq!(org_of("ann@example.com"), 1);
    let (ok, _, err) = run_with_stdin(
        &["user", "add", "--email", "bob@example.com", "--database", &db.url],
        "correct horse battery\n",
    );
    assert!(ok, "{err}");
    assert_eq!(org_of("bob@example.com"), 0);
    let set =
        ["user", "set-organization", "--email", "BOB@example.com", "--organization", "Globex"];
    let (ok, out, err) = run_on(&db, &set);
    assert!(ok && out.contains("now acts for Globex"), "{out}{err}");
    assert_eq!(org_of("bob@example.com"), 2);
    let (ok, out, _) =
        run_on(&db, &["user", "set-organization", "--email", "bob@example.com", "--none"]);
    assert!(ok && out.contains("no organization"), "{out}");
    assert_eq!(org_of("bob@example.com"), 0);
    let (ok, _, err) = run_on(
        &db,
        &["user", "set-organization", "--email", "cy@example.com", "--organization", "Globex"],
    );
    assert!(!ok && err.contains("no user"), "{err}");

    // An API key: printed once on stdout, the note on stderr; it validates with its scopes.
    let create = ["apikey", "create", "--organization", "Acme Foods", "--name", "ERP sync"];
    let mut args = create.to_vec();
    args.extend(["--scope", "products:write products:read", "--rate-limit-per-minute", "90"]);
    let (ok, out, err) = run_on(&db, &args);
    assert!(ok, "{err}");
    let key = out.trim().to_owned();
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(key.starts_with("pl_key_") && key.len() == 57, "{key}");
    assert!(err.contains("only time the key is shown") && err.contains("ERP sync"), "{err}");
    assert!(!err.contains(&key), "the note repeats the key: {err}");
    let info = validate_api_key(&db.url, &key).unwrap();
    assert_eq!(info.organization_id, 1);
    assert_eq!(info.scopes, ["products:read", "products:write"]);
    assert_eq!(info.rate_limit_per_minute, Some(90));
    let (ok, second, err) =
        run_on(&db, &["apikey", "create", "--organization", "Globex", "--name", "Feed"]);
    assert!(ok, "{err}");
    assert_eq!(validate_api_key(&db.url, second.trim()).unwrap().scopes, ["products:read"]);

    // What cannot be made, with the reason.
    for (scope, why) in [
        ("qr:generate", "MCP scope"),
        ("products:read,products:write", "is not a scope"),
        ("", "at least one scope"),
    ] {
        let mut args = create.to_vec();
        args.extend(["--scope", scope]);
        let (ok, _, err) = run_on(&db, &args);
        assert!(!ok && err.contains(why), "{scope}: {err}");
        assert!(err.contains("products:read products:write rules:write accounts:read"), "{err}");
    }
    let (ok, _, err) =
        run_on(&db, &["apikey", "create", "--organization", "Nobody", "--name", "x"]);
    assert!(!ok && err.contains("no such organization"), "{err}");
    let (ok, _, err) = run_on(
        &db,
        &[
            "apikey",
            "create",
            "--organization",
            "Globex",
            "--name",
            "x",
            "--rate-limit-per-minute",
            "0",
        ],
    );
    assert!(!ok && err.contains("rate-limit-per-minute"), "{err}");
    assert_eq!(db.int_blocking("SELECT count(*) FROM api_keys"), 2);

    // Listing: no secret, the prefix, the last use; filtered by organization.
    let (ok, out, err) = run_on(&db, &["apikey", "list"]);
    assert!(ok, "{err}");
    assert!(!out.contains(&key) && !out.contains(second.trim()), "a listing shows a key: {out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "id\tprefix\tname\torganization\tscopes\trate_limit_per_minute\tcreated_at\tlast_used_at\trevoked_at"
    );
    let row: Vec<&str> = lines[1].split('\t').collect();
    assert_eq!(
        row[..6],
        ["1", &key[..15], "ERP sync", "Acme Foods", "products:read products:write", "90"]
    );
    assert!(row[6].starts_with("20") && row[7].starts_with("20"), "created and used: {row:?}");
    assert_eq!(row[8], "-");
    let row: Vec<&str> = lines[2].split('\t').collect();
    assert_eq!(row[..6], ["2", &second[..15], "Feed", "Globex", "products:read", "default"]);
    assert_eq!(lines.len(), 3, "{out}");
    let (ok, out, _) = run_on(&db, &["apikey", "list", "--organization", "Globex"]);
    assert!(ok && out.lines().count() == 2 && out.contains("\tFeed\t"), "{out}");

    // Revoking: refused afterwards; revoking again says so; an unknown id is an error.
    let (ok, out, err) = run_on(&db, &["apikey", "revoke", "1"]);
    assert!(ok && out.starts_with("revoked API key 1 ("), "{out}{err}");
    assert_eq!(validate_api_key(&db.url, &key).unwrap_err(), auth::InvalidApiKey::Revoked);
    assert!(validate_api_key(&db.url, second.trim()).is_ok());
    let (ok, out, _) = run_on(&db, &["apikey", "revoke", "1"]);
    assert!(ok && out.contains("already revoked at 20"), "{out}");
    let (ok, _, err) = run_on(&db, &["apikey", "revoke", "99"]);
    assert!(!ok && err.contains("no API key has the id 99"), "{err}");
    let (_, out, _) = run_on(&db, &["apikey", "list", "--organization", "Acme Foods"]);
    let revoked_at = out.lines().nth(1).unwrap().split('\t').nth(8).unwrap();
    assert!(revoked_at.starts_with("20"), "{out}");
}

fn search_names(base: &str, query: &str) -> Vec<String> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "search_products", "arguments": {"query": query, "limit": 3}}});
    let res: Value = http()
        .post(format!("{base}/mcp/http"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&body)
        .send()
        .unwrap()
        .json()
        .unwrap();
    res["result"]["structuredContent"]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{res}"))
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect()
}

fn import_embeds_changed_products_and_serve_reports_the_semantic_index(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = common::database(b, dir.path(), "sem");
    let model = model_dir("potion-base-8M", "model.json");
    let file = dir.path().join("catalog.jsonl");
    let write = |spaghetti_description: &str| {
        std::fs::write(
            &file,
            format!(
                "{}\n{}\n{}\n",
                r#"{"gtin":"04012345000009","name":"Cola soft drink","brand":"Fizz"}"#,
                r#"{"gtin":"04012345000016","name":"Hand soap","brand":"Clean","description":"Liquid soap for hands"}"#,
                serde_json::json!({"gtin": "04012345000023", "name": "Gluten-free spaghetti",
                    "brand": "Pastaio", "description": spaghetti_description}),
            ),
        )
        .unwrap();
    };
    let import = |file: &Path, extra: &[&str]| {
        let out = prodlink()
            .args(["--database", &db.url, "import", "catalog", "--no-progress"])
            .args(extra)
            .arg("--model-dir")
            .arg(&model)
            .arg(file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    write("Corn and rice pasta");
    let out = import(&file, &[]);
    assert!(
        out.contains("embedding:  3 products embedded, 0 unchanged skipped, 3 in the index"),
        "{out}"
    );
    // Same text: nothing is embedded again. One description changed: only that product is.
    let out = import(&file, &[]);
    assert!(out.contains("embedding:  0 products embedded"), "{out}");
    write("Corn and rice pasta, bronze-cut");
    let out = import(&file, &[]);
    assert!(
        out.contains("embedding:  1 products embedded, 0 unchanged skipped, 3 in the index"),
        "{out}"
    );
    // --no-embed leaves the queue to the server.
    write("Corn pasta");
    assert!(!import(&file, &["--no-embed"]).contains("embedding:"));

    let server = Server::start(
        prodlink()
            .args([
                "--database",
                &db.url,
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--semantic-ratio",
                "0.7",
            ])
            .arg("--model-dir")
            .arg(&model),
    );
    let mut health: Value = Value::Null;
    for _ in 0..600 {
        health = server.get("/mcp/health").json().unwrap();
        let sem = &health["search"]["semantic"];
        if sem["ready"] == true
            && sem["pending"] == 0
            && health["search"]["lexical"]["pending"] == 0
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let sem = &health["search"]["semantic"];
    assert_eq!(sem["ready"], true, "{health}");
    assert_eq!(sem["indexed"], 3, "{health}");
    assert_eq!(sem["pending"], 0, "{health}");
    assert_eq!(sem["embedded_since_start"], 1, "{health}"); // the product changed with --no-embed
    assert!(sem["model"].as_str().unwrap().starts_with("static-potion-base-8M:"), "{health}");
    assert_eq!(health["search"]["semantic_ratio"], 0.7, "{health}");
    assert_eq!(health["model"]["loaded"], true, "{health}");
    // No word in common with the product: only the semantic leg can find it.
    assert_eq!(
        search_names(&server.base, "noodles").first().map(String::as_str),
        Some("Gluten-free spaghetti")
    );
    // A product imported (and embedded) by another process while the server runs reaches
    // the server's index without a restart.
    let more = dir.path().join("more.jsonl");
    std::fs::write(
        &more,
        r#"{"gtin":"04012345000030","name":"Sparkling lemonade","brand":"Fizz","description":"Lemon soda"}"#,
    )
    .unwrap();
    assert!(import(&more, &[]).contains("1 products embedded"));
    let mut sem = Value::Null;
    for _ in 0..100 {
        let h: Value = server.get("/mcp/health").json().unwrap();
        sem = h["search"]["semantic"].clone();
        if sem["indexed"] == 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(sem["indexed"], 4, "{sem}");
    assert_eq!(sem["embedded_since_start"], 1, "{sem}"); // the import embedded it, not the server
    assert!(server.terminate().success());

    // Without a model the server says so and searches lexically.
    let server = Server::start(
        prodlink()
            .args(["--database", &db.url, "serve", "--addr", "127.0.0.1:0", "--model-dir"])
            .arg(dir.path().join("no-model")),
    );
    let health: Value = server.get("/mcp/health").json().unwrap();
    assert_eq!(health["model"]["loaded"], false, "{health}");
    assert!(health["model"]["reason"].as_str().unwrap().contains("lexical"), "{health}");
    assert_eq!(health["search"]["semantic"], Value::Null, "{health}");
    assert_eq!(search_names(&server.base, "spaghetti"), ["Gluten-free spaghetti"]);
    assert!(search_names(&server.base, "noodles").is_empty());
    assert!(server.terminate().success());
}

/// `migrate --from --to` copies a SQLite catalog with its accounts into PostgreSQL; then two
/// `prodlink serve` processes on that database behave as one service: a token minted once
/// works on both, MCP calls alternate between them, and a token revoked through one is refused
/// by the other.
#[test]
fn two_processes_on_one_postgres_database_behave_as_one_service() {
    let Some(b) = Backend::postgres("cli::two_processes") else { return };
    let dir = tempfile::tempdir().unwrap();
    let pg_db = common::database(b, dir.path(), "pg");
    let pg = pg_db.url.clone();
    let lite = sqlite(dir.path(), "source.db");
    import_demo_products(&lite, dir.path());
    let (ok, _, err) = run_with_stdin(
        &["user", "add", "--email", "ann@example.com", "--database", &lite],
        "correct horse battery\n",
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run_with_stdin(&["org", "add", "--name", "Acme", "--database", &lite], "");
    assert!(ok, "{err}");
    let (ok, key, err) = run_with_stdin(
        &["apikey", "create", "--organization", "Acme", "--name", "sync", "--database", &lite],
        "",
    );
    assert!(ok, "{err}");

    // Copy everything; the counts are verified and printed per table.
    let out = prodlink().args(["migrate", "--from", &lite, "--to", &pg]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("every table's row count matches"), "{text}");
    let products = text.lines().find(|l| l.starts_with("products ")).unwrap();
    let n: u64 = products.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(n > 900, "{text}");
    assert!(text.lines().any(|l| l.starts_with("users ") && l.contains(" 1 rows")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("api_keys ") && l.contains(" 1 rows")), "{text}");
    // The copied API key works on PostgreSQL.
    assert_eq!(validate_api_key(&pg, key.trim()).unwrap().name, "sync");
    // A second copy into the same database is refused and changes nothing.
    let out = prodlink().args(["migrate", "--from", &lite, "--to", &pg]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));

    // One public site URL for both processes (as behind a load balancer).
    let site = "https://prodlink.example";
    let (ok, token, err) = run_with_stdin(
        &["token", "mint", "--email", "ann@example.com", "--site-url", site, "--database", &pg],
        "",
    );
    assert!(ok, "{err}");
    let token = token.trim().to_owned();
    let start = || {
        Server::start(prodlink().args([
            "serve",
            "--database",
            &pg,
            "--addr",
            "127.0.0.1:0",
            "--site-url",
            site,
            "--allowed-hosts",
            "127.0.0.1",
        ]))
    };
    let (a, b) = (start(), start());
    let gtin: String = {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let pool = sqlx::SqlitePool::connect(&lite).await.unwrap();
            sqlx::query_scalar("SELECT gtin FROM products ORDER BY id DESC LIMIT 1")
                .fetch_one(&pool)
                .await
                .unwrap()
        })
    };
    for (i, server) in [&a, &b, &a, &b].into_iter().enumerate() {
        let (status, v) =
            mcp_call(&server.base, None, "lookup_product", serde_json::json!({"gtin": &gtin}));
        assert_eq!(status, 200, "call {i}: {v}");
        assert_eq!(v["result"]["structuredContent"]["found"], true, "call {i}: {v}");
    }
    let qr = serde_json::json!({"gtin": "614141123452"});
    for server in [&a, &b] {
        let (status, v) = mcp_call(&server.base, Some(&token), "generate_qr_url", qr.clone());
        assert_eq!(status, 200, "{v}");
        assert!(v["result"]["structuredContent"]["qr_url"].is_string(), "{v}");
    }
    // Revoke through A; B, which has the token in its validation cache, hears of it (NOTIFY)
    // and refuses it within moments.
    let res = http()
        .post(format!("{}/o/revoke/", a.base))
        .form(&[("token", token.as_str()), ("client_id", "prodlink-cli")])
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, v) = mcp_call(&a.base, Some(&token), "generate_qr_url", qr.clone());
    assert_ne!(status, 200, "a revoked token was accepted by the process that revoked it: {v}");
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while mcp_call(&b.base, Some(&token), "generate_qr_url", qr.clone()).0 == 200 {
        assert!(std::time::Instant::now() < deadline, "B accepted the token 2 s after revocation");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(a.terminate().success());
    assert!(b.terminate().success());
}

/// A PostgreSQL cluster of this test's own (scripts/pg.sh on another port), stopped on drop.
struct OwnCluster {
    port: &'static str,
}

impl OwnCluster {
    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg.sh")
    }

    fn run(action: &str, port: &str) -> String {
        let out = Command::new(Self::script()).args([action, port]).output().unwrap();
        assert!(out.status.success(), "pg.sh {action}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn start(port: &'static str) -> (Self, String) {
        let url = Self::run("start", port);
        (Self { port }, url)
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = Command::new(Self::script()).args(["stop", self.port]).output();
    }
}

/// A valid GTIN-13 no catalog holds, different for every `n`.
fn unknown_gtin(n: u64) -> String {
    let body = format!("299{n:09}");
    format!("{body}{}", gs1::check_digit(&body).unwrap())
}

/// The database restarts (fast shutdown: connections cut mid-statement) while clients keep
/// calling `lookup_product`; every call still succeeds: reads caught by the cut run again, and
/// calls made while the database is down wait for it (up to `--db-acquire-timeout-secs`).
#[test]
fn a_database_restart_under_load_fails_no_request() {
    if std::env::var("PRODLINK_TEST_PG").is_err() {
        eprintln!("skipped: PRODLINK_TEST_PG is not set (scripts/test.sh sets it)");
        return;
    }
    let (cluster, url) = OwnCluster::start("54339");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = rt.block_on(catalog::postgres::PgStore::create_database(&url, "restart")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    import_demo_products(&url, dir.path());
    let server = Server::start(prodlink().args([
        "serve",
        "--database",
        &url,
        "--db-acquire-timeout-secs",
        "20",
        // The clients call as fast as they can: the anonymous limit is not what is tested.
        "--rate-limit-anonymous",
        "0",
        "--addr",
        "127.0.0.1:0",
        "--allowed-hosts",
        "127.0.0.1",
    ]));

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..3u64)
        .map(|c| {
            let (base, stop) = (server.base.clone(), std::sync::Arc::clone(&stop));
            std::thread::spawn(move || {
                // (call number, status, JSON-RPC error if any, milliseconds)
                let mut calls = Vec::new();
                let mut n = c * 1_000_000;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let started = std::time::Instant::now();
                    // A GTIN never asked before: no cache can answer it.
                    let args = serde_json::json!({"gtin": unknown_gtin(n)});
                    let (status, v) = mcp_call(&base, None, "lookup_product", args);
                    let error = v.get("error").cloned().or_else(|| {
                        (v["result"]["structuredContent"]["found"] != false).then(|| v.clone())
                    });
                    calls.push((n, status, error, started.elapsed().as_millis()));
                    n += 1;
                }
                calls
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    OwnCluster::run("stop", "54339");
    std::thread::sleep(Duration::from_secs(2));
    OwnCluster::run("start", "54339");
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let calls: Vec<_> = clients.into_iter().flat_map(|c| c.join().unwrap()).collect();

    let failed: Vec<_> = calls.iter().filter(|c| c.1 != 200 || c.2.is_some()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} calls failed: {:?}",
        failed.len(),
        calls.len(),
        &failed[..failed.len().min(5)]
    );
    let waited = calls.iter().filter(|c| c.3 >= 1_000).count();
    assert!(waited > 0, "no call waited for the database: the restart was not under load");
    assert!(calls.len() > 100, "only {} calls", calls.len());
    let health: Value = server.get("/mcp/health").json().unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert!(server.terminate().success());
    drop(cluster);
}

/// `prodlink import off` of the demo's 1,000 products into `database` (no embeddings, reports in
/// `report_dir`), which must succeed.
fn import_demo_products(database: &str, report_dir: &Path) {
    let out = prodlink()
        .args(["--database", database, "import", "off", "--no-embed=true", "--no-progress=true"])
        .arg(demo_data("off-sample-1000.tsv.gz"))
        .arg("--report-dir")
        .arg(report_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
