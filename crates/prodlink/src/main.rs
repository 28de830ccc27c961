//! The `prodlink` binary: parses the command line and settings (file < environment < flags),
//! sets up logging, and runs one command. All behaviour lives in the library crates; this is
//! the glue (and the only place that uses `anyhow`).

mod cli;
mod commands;
mod demo_data;
mod progress;
mod settings;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};

/// mimalloc: measurably faster than the system allocator for the many small allocations of
/// imports and request handling (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use crate::settings::FileSettings;

/// Sets up logging to stderr through a background writer thread (so a burst of audit lines
/// never blocks request handling on the terminal or a pipe; nothing is dropped). The returned
/// guard flushes on drop: keep it for the life of the command.
fn init_logging(
    filter: Option<&str>,
    format: Option<&str>,
) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    let filter = match filter {
        Some(f) => {
            EnvFilter::try_new(f).map_err(|e| anyhow::anyhow!("invalid --log filter {f:?}: {e}"))?
        }
        None => EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn")),
    };
    let json = match format.unwrap_or("auto") {
        "json" => true,
        "text" => false,
        _ => !std::io::stderr().is_terminal(),
    };
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("prodlink-log")
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    let result = if json {
        builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).try_init()
    };
    result.map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))?;
    Ok(guard)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = match &cli.config {
        Some(path) => FileSettings::load(path)?,
        None => FileSettings::default(),
    };
    let _log_guard = init_logging(
        cli.log.as_deref().or(file.log.as_deref()),
        cli.log_format.as_deref().or(file.log_format.as_deref()),
    )?;
    let database = cli
        .database
        .clone()
        .or(file.database.clone())
        .unwrap_or_else(|| settings::DEFAULT_DATABASE.to_owned());
    let defaults = catalog::postgres::PgOptions::default();
    commands::set_pool_options(catalog::postgres::PgOptions {
        max_connections: cli.db_pool_size.or(file.db_pool_size).unwrap_or(defaults.max_connections),
        acquire_timeout: cli
            .db_acquire_timeout_secs
            .or(file.db_acquire_timeout_secs)
            .map_or(defaults.acquire_timeout, std::time::Duration::from_secs),
        statement_timeout: cli
            .db_statement_timeout_secs
            .or(file.db_statement_timeout_secs)
            .map_or(defaults.statement_timeout, std::time::Duration::from_secs),
        vector_index: cli.db_vector_index.or(file.db_vector_index).unwrap_or(false),
        ..defaults
    });
    match cli.command {
        Command::Serve(args) => commands::serve::run(&database, args, &file).await,
        Command::McpStdio(args) => commands::mcp_stdio::run(&database, args, &file).await,
        Command::Migrate(args) => commands::migrate::run(&database, args).await,
        Command::Import(what) => commands::import::run(&database, what, &file).await,
        Command::User(c) => commands::accounts::user(&database, c, &file).await,
        Command::Client(c) => commands::accounts::client(&database, c, &file).await,
        Command::Token(c) => commands::accounts::token(&database, c, &file).await,
        Command::Org(c) => commands::organizations::org(&database, c, &file).await,
        Command::Apikey(c) => commands::organizations::apikey(&database, c, &file).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
