//! The command line (docs/spec.md §9), defined with clap. Every flag has an environment variable
//! `PRODLINK_<FLAG>` and a key in the optional TOML file; `--database`, `--config` and the log
//! flags apply to every command.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Settings: every flag can also be given as an environment variable PRODLINK_<FLAG> (for example
PRODLINK_DATABASE, PRODLINK_SITE_URL) or as a key in a TOML file named by --config (the flag's
long name with '_' for '-', for example site_url = \"https://example.com\").
Precedence: file < environment < flags.

Quick start: prodlink serve --demo   (then open http://127.0.0.1:8080/mcp/health)";

/// prodlink — product information for AI agents (MCP), GS1 Digital Link scans and brand owners.
#[derive(Debug, Parser)]
#[command(name = "prodlink", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// TOML configuration file (keys: the long flag names with '_' for '-', e.g. database,
    /// addr, site_url, demo, allowed_hosts = ["…"], report_dir).
    #[arg(long, global = true, env = "PRODLINK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Database: sqlite://PATH (embedded; default sqlite://prodlink.db) or postgres://…
    #[arg(long, global = true, env = "PRODLINK_DATABASE", value_name = "URL")]
    pub database: Option<String>,

    /// PostgreSQL: connections per process (default 16).
    #[arg(long, global = true, env = "PRODLINK_DB_POOL_SIZE", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_pool_size: Option<u32>,

    /// PostgreSQL: seconds a request waits for a free connection, or for the database to come
    /// back after a restart, before failing (default 10).
    #[arg(long, global = true, env = "PRODLINK_DB_ACQUIRE_TIMEOUT_SECS", value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub db_acquire_timeout_secs: Option<u64>,

    /// PostgreSQL: longest a single statement may run, in seconds (default 30).
    #[arg(long, global = true, env = "PRODLINK_DB_STATEMENT_TIMEOUT_SECS", value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub db_statement_timeout_secs: Option<u64>,

    /// PostgreSQL with pgvector: rank semantic search in the database's HNSW index instead of
    /// in each process's memory (default false: the in-memory scan is faster on catalogs up to
    /// a few hundred thousand products; see docs/deploy.md).
    #[arg(long, global = true, env = "PRODLINK_DB_VECTOR_INDEX", num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL",
          value_parser = BoolishValueParser::new())]
    pub db_vector_index: Option<bool>,

    /// Log filter in tracing's EnvFilter syntax (default: info).
    #[arg(long, global = true, env = "PRODLINK_LOG", value_name = "FILTER")]
    pub log: Option<String>,

    /// Log format: auto (text on a terminal, JSON otherwise), text or json.
    #[arg(long, global = true, env = "PRODLINK_LOG_FORMAT", value_name = "FORMAT",
          value_parser = ["auto", "text", "json"])]
    pub log_format: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (MCP, resolver, health, metrics).
    Serve(ServeArgs),
    /// Serve MCP over stdin/stdout for a local client (logs go to stderr).
    McpStdio(McpStdioArgs),
    /// Create or upgrade the database schema, then exit; with --from and --to, copy a whole
    /// SQLite database (catalog, accounts, clients, tokens, audit log, embeddings) into a new
    /// PostgreSQL database and verify the row counts.
    Migrate(MigrateArgs),
    /// Import data into the catalog; prints accepted / updated / rejected counts and writes
    /// rejected rows with their reasons to FILE.rejects.tsv.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Manage user accounts (people who sign in at /o/login/) and the organization each acts
    /// for.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage organizations: the brand owners whose users and API keys act on their brands and
    /// products.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage API keys for servers calling the REST API; each acts for one organization with
    /// REST scopes.
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// Manage pre-registered OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Issue access tokens for local development and scripts.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `migrate` flags.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Copy from this SQLite database (sqlite://PATH); needs --to.
    #[arg(long, value_name = "URL", requires = "to")]
    pub from: Option<String>,
    /// Copy into this new, empty PostgreSQL database (postgres://…); needs --from.
    #[arg(long, value_name = "URL", requires = "from")]
    pub to: Option<String>,
}

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from the first line of standard input
    /// (at least 10 characters).
    Add {
        /// The account's email address (its sign-in name).
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// The organization the user acts for (an existing one, see `prodlink org list`).
        #[arg(long, value_name = "NAME")]
        organization: Option<String>,
    },
    /// Put a user in an organization, whose brands and products they may then manage (a user
    /// acts for one organization at most), or take them out of theirs with --none.
    SetOrganization {
        /// The user's email address.
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// The organization's name (see `prodlink org list`).
        #[arg(long, value_name = "NAME", required_unless_present = "none")]
        organization: Option<String>,
        /// Take the user out of their organization.
        #[arg(long, conflicts_with = "organization")]
        none: bool,
    },
}

/// `org` subcommands.
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization; prints its id.
    Add {
        /// Its name (unique, 1-200 characters; matched exactly by the other commands and by
        /// ORGANIZATION resolver rules).
        #[arg(long, value_name = "NAME")]
        name: String,
    },
    /// List organizations, tab-separated with a header line: id, name, created_at.
    List,
    /// Hand a brand or a retailer to an organization, whose members and API keys may then
    /// manage its products (brand) or its stores and offers (retailer). Brands and retailers
    /// made by an import belong to no organization until then. Recorded in the audit log.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["brand", "retailer"])))]
    Assign {
        /// The organization's name (see `prodlink org list`).
        #[arg(long, value_name = "NAME")]
        organization: String,
        /// The brand's name (any case).
        #[arg(long, value_name = "NAME")]
        brand: Option<String>,
        /// The retailer's name (exactly as imported).
        #[arg(long, value_name = "NAME")]
        retailer: Option<String>,
        /// Take it from the organization that owns it now (without this, such a brand or
        /// retailer is refused).
        #[arg(long)]
        reassign: bool,
    },
}

/// `apikey` subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key and print it on standard output. It is shown only this once (only its
    /// hash is stored): keep it in the calling server's secret store.
    Create {
        /// The organization the key acts for.
        #[arg(long, value_name = "NAME")]
        organization: String,
        /// What the key is for, shown in listings (e.g. "ERP nightly sync").
        #[arg(long, value_name = "NAME")]
        name: String,
        /// REST scopes, space-separated: products:read, products:write, rules:write,
        /// accounts:read.
        #[arg(long, default_value = "products:read", value_name = "SCOPES")]
        scope: String,
        /// Requests per minute allowed with this key [default: the server's limit].
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        rate_limit_per_minute: Option<u32>,
    },
    /// List API keys, revoked ones too, tab-separated with a header line: id, prefix, name,
    /// organization, scopes, rate_limit_per_minute, created_at, last_used_at, revoked_at ("-"
    /// for none). Keys themselves cannot be shown; the prefix tells them apart.
    List {
        /// Only this organization's keys.
        #[arg(long, value_name = "NAME")]
        organization: Option<String>,
    },
    /// Revoke an API key by its id (from `prodlink apikey list`). Running servers refuse it
    /// at once on PostgreSQL, and within seconds on SQLite.
    Revoke {
        /// The key's id.
        #[arg(value_name = "ID")]
        id: i64,
    },
}

/// `client` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its client_id (and, with --confidential, its secret, once).
    Add {
        /// Name shown on the consent page.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Allowed redirect URI (repeat for several): https, or http on loopback.
        #[arg(long = "redirect-uri", value_name = "URI", required = true)]
        redirect_uris: Vec<String>,
        /// A confidential client (authenticates with a secret; may introspect tokens).
        #[arg(long)]
        confidential: bool,
        /// Scopes it may ask for, space-separated.
        #[arg(long, default_value = "qr:generate", value_name = "SCOPES")]
        scope: String,
        /// A fixed client_id (default: generated).
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// Public base URL (the issuer; default http://127.0.0.1:8080).
        #[arg(long, env = "PRODLINK_SITE_URL", value_name = "URL")]
        site_url: Option<String>,
    },
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new access token for a user (to the built-in prodlink-cli client, for the MCP
    /// resource of --site-url). Treat it like a password.
    Mint {
        /// The user's email address.
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// Scopes, space-separated.
        #[arg(long, default_value = "qr:generate", value_name = "SCOPES")]
        scope: String,
        /// Public base URL (the issuer and audience; default http://127.0.0.1:8080).
        #[arg(long, env = "PRODLINK_SITE_URL", value_name = "URL")]
        site_url: Option<String>,
    },
}

/// `serve` flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "PRODLINK_ADDR", value_name = "ADDR")]
    pub addr: Option<String>,

    /// Public base URL; every absolute URL prodlink emits is built from it, and it is the
    /// OAuth issuer (default: http://ADDR, the address listened on; http://localhost:PORT for
    /// 0.0.0.0).
    #[arg(long, env = "PRODLINK_SITE_URL", value_name = "URL")]
    pub site_url: Option<String>,

    /// Let people create their own accounts at /o/signup/ (default false: accounts come from
    /// `prodlink user add`).
    #[arg(long, env = "PRODLINK_ALLOW_SIGNUP", num_args = 0..=1, default_missing_value = "true",
          value_name = "BOOL", value_parser = BoolishValueParser::new())]
    pub allow_signup: Option<bool>,

    /// generate_qr_url calls per user per UTC day (default 100).
    #[arg(long, env = "PRODLINK_QR_PER_DAY", value_name = "N")]
    pub qr_per_day: Option<u32>,

    /// generate_qr_url calls per user per UTC month (default 1000).
    #[arg(long, env = "PRODLINK_QR_PER_MONTH", value_name = "N")]
    pub qr_per_month: Option<u32>,

    /// Anonymous MCP requests per minute per client IP address (default 600; 0 = no limit).
    #[arg(long, env = "PRODLINK_RATE_LIMIT_ANONYMOUS", value_name = "N")]
    pub rate_limit_anonymous: Option<u32>,

    /// Authenticated MCP requests per minute per OAuth client (default 1200; 0 = no limit).
    #[arg(long, env = "PRODLINK_RATE_LIMIT_CLIENT", value_name = "N")]
    pub rate_limit_client: Option<u32>,

    /// Take client addresses from X-Forwarded-For (the last entry); only behind a reverse
    /// proxy that sets it.
    #[arg(long, env = "PRODLINK_TRUST_FORWARDED_FOR", num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL",
          value_parser = BoolishValueParser::new())]
    pub trust_forwarded_for: Option<bool>,

    /// A request header carrying the client's country as an ISO 3166-1 alpha-2 code (e.g.
    /// CF-IPCountry behind Cloudflare), for resolver rules with countries; without it the
    /// region of Accept-Language stands in.
    #[arg(long, env = "PRODLINK_COUNTRY_HEADER", value_name = "HEADER")]
    pub country_header: Option<String>,

    /// Seconds between health checks of each resolver rule's custom URL (default 300; 0 turns
    /// the check off).
    #[arg(long, env = "PRODLINK_URL_CHECK_INTERVAL_SECS", value_name = "SECONDS")]
    pub url_check_interval_secs: Option<u64>,

    /// Consecutive failed checks that mark a custom URL dead (default 3).
    #[arg(long, env = "PRODLINK_URL_CHECK_FAILURES", value_name = "N")]
    pub url_check_failures: Option<u32>,

    /// Testing only: fetch client metadata documents over plain http.
    #[arg(long, env = "PRODLINK_CIMD_ALLOW_HTTP", hide = true, num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub cimd_allow_http: Option<bool>,

    /// Testing only: fetch client metadata documents and check custom URLs on loopback and
    /// private addresses.
    #[arg(long, env = "PRODLINK_CIMD_ALLOW_PRIVATE", hide = true, num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub cimd_allow_private: Option<bool>,

    /// Testing only: an extra CA certificate (PEM) trusted for client metadata documents.
    #[arg(long, env = "PRODLINK_CIMD_CA_FILE", hide = true, value_name = "FILE")]
    pub cimd_ca_file: Option<PathBuf>,

    /// Load the bundled demo catalog (Open Food Facts products, Walmart stores, generated
    /// offers) when the catalog is empty.
    #[arg(long, env = "PRODLINK_DEMO", num_args = 0..=1, default_missing_value = "true",
          value_name = "BOOL", value_parser = BoolishValueParser::new())]
    pub demo: Option<bool>,

    /// Answer requests only once the search indexes hold the whole catalog (the port is
    /// bound at once; "listening on" is printed when the indexes are complete). Without it,
    /// searches run at once, and say how much of the catalog they covered.
    #[arg(long, env = "PRODLINK_WAIT_FOR_INDEX", num_args = 0..=1, default_missing_value = "true",
          value_name = "BOOL", value_parser = BoolishValueParser::new())]
    pub wait_for_index: Option<bool>,

    /// Directory holding the sentence-embedding model for semantic search [default:
    /// models/potion-base-8M when it exists, as `scripts/fetch-model.sh` leaves it]: a static
    /// embedding (model.json, tokenizer.json, embeddings.safetensors), or a
    /// sentence-transformer (config.json, tokenizer.json, model.safetensors) whose static
    /// embedding is distilled once and cached there (distilled-v2.safetensors).
    #[arg(long, env = "PRODLINK_MODEL_DIR", value_name = "DIR")]
    pub model_dir: Option<PathBuf>,

    /// Weight of the semantic leg in search ranking: how much it can lift a lexical match
    /// (0.1: by up to 10 %), 0 for lexical only, 1 for semantic only [default: 0.1].
    #[arg(long, env = "PRODLINK_SEMANTIC_RATIO", value_name = "RATIO")]
    pub semantic_ratio: Option<f64>,

    /// Extra host names accepted in the Host header of MCP requests, comma-separated
    /// (loopback and the site URL's host are always accepted; `*` accepts any, e.g. behind a
    /// proxy that checks Host itself).
    #[arg(long, env = "PRODLINK_ALLOWED_HOSTS", value_name = "HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Option<Vec<String>>,

    /// Extra origins (scheme://host[:port]) accepted in the Origin header of MCP requests,
    /// comma-separated (loopback origins and the site URL's origin are always accepted).
    #[arg(long, env = "PRODLINK_ALLOWED_ORIGINS", value_name = "ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Option<Vec<String>>,

    /// Largest request body accepted, in bytes (default 1048576).
    #[arg(long, env = "PRODLINK_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,

    /// Seconds a request may take before it is answered with 408 (default 30).
    #[arg(long, env = "PRODLINK_REQUEST_TIMEOUT_SECS", value_name = "SECONDS")]
    pub request_timeout_secs: Option<u64>,
}

/// `mcp-stdio` flags.
#[derive(Debug, Args)]
pub struct McpStdioArgs {
    /// Act for this user (an existing prodlink account): enables generate_qr_url, whose audit
    /// rows and quota then count against the user. Without it, generate_qr_url is refused.
    #[arg(long, env = "PRODLINK_AS_USER", value_name = "EMAIL")]
    pub as_user: Option<String>,

    /// Public base URL used in the URLs the tools return (default http://127.0.0.1:8080).
    #[arg(long, env = "PRODLINK_SITE_URL", value_name = "URL")]
    pub site_url: Option<String>,
}

/// `import` subcommands.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Open Food Facts export: TSV/CSV (OFF column names) or JSONL; .gz accepted.
    Off(ImportArgs),
    /// Stores: the Walmart store list, or prodlink store CSV/JSONL
    /// (retailer, store_ref, name, address, city, region, postal_code, country, lat, lng).
    Stores(ImportArgs),
    /// Offers: CSV/JSONL (gtin, retailer, store_ref, price, currency, inventory_status, active).
    Offers(ImportArgs),
    /// prodlink catalog JSONL: one product, store or offer object per line.
    Catalog(ImportArgs),
    /// Resolver rules JSONL: scope (SERIAL, BATCH, PRODUCT, BRAND, ORGANIZATION, GLOBAL) with
    /// gtin/batch/serial/brand/organization, order_index, link_type, destination_type,
    /// custom_url, on_custom_url_dead and criteria (starts_at, ends_at, annual_start,
    /// annual_end, days_of_week, time_start, time_end, time_zone, countries, languages).
    Rules(ImportArgs),
}

/// Flags shared by the importers.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import.
    pub file: PathBuf,

    /// Where to write FILE.rejects.tsv and FILE.warnings.tsv (default: beside FILE, or the
    /// current directory when FILE's directory is read-only).
    #[arg(long, env = "PRODLINK_REPORT_DIR", value_name = "DIR")]
    pub report_dir: Option<PathBuf>,

    /// Don't draw a progress bar.
    #[arg(long, env = "PRODLINK_NO_PROGRESS", num_args = 0..=1, require_equals = true,
          default_missing_value = "true",
          value_name = "BOOL", value_parser = BoolishValueParser::new())]
    pub no_progress: Option<bool>,

    /// The sentence-embedding model: after the import, products whose text is new or changed
    /// are embedded for semantic search [default: models/potion-base-8M when it exists].
    #[arg(long, env = "PRODLINK_MODEL_DIR", value_name = "DIR")]
    pub model_dir: Option<PathBuf>,

    /// Leave embedding to the server's background indexer (the import ends sooner; semantic
    /// search covers the new products once the server has embedded them).
    #[arg(long, env = "PRODLINK_NO_EMBED", num_args = 0..=1, require_equals = true,
          default_missing_value = "true",
          value_name = "BOOL", value_parser = BoolishValueParser::new())]
    pub no_embed: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "prodlink",
            "import",
            "off",
            "x.tsv",
            "--database",
            "sqlite://a.db",
        ])
        .unwrap();
        assert_eq!(cli.database.as_deref(), Some("sqlite://a.db"));
        let cli = Cli::try_parse_from(["prodlink", "serve", "--demo"]).unwrap();
        let Command::Serve(s) = cli.command else { panic!() };
        assert_eq!(s.demo, Some(true));
        let cli = Cli::try_parse_from(["prodlink", "serve", "--demo", "false"]).unwrap();
        let Command::Serve(s) = cli.command else { panic!() };
        assert_eq!(s.demo, Some(false));
    }

    #[test]
    fn import_switches_leave_the_file_argument_alone() {
        // `--no-embed FILE` must not read FILE as the switch's value (it takes one only
        // after '=').
        let cli = Cli::try_parse_from([
            "prodlink",
            "import",
            "catalog",
            "--no-embed",
            "--no-progress",
            "a.jsonl",
        ])
        .unwrap();
        let Command::Import(ImportCommand::Catalog(a)) = cli.command else { panic!() };
        assert_eq!((a.no_embed, a.no_progress), (Some(true), Some(true)));
        assert_eq!(a.file, PathBuf::from("a.jsonl"));
        let cli = Cli::try_parse_from(["prodlink", "import", "off", "--no-embed=false", "b.tsv"])
            .unwrap();
        let Command::Import(ImportCommand::Off(a)) = cli.command else { panic!() };
        assert_eq!((a.no_embed, a.file), (Some(false), PathBuf::from("b.tsv")));
    }

    #[test]
    fn org_assign_needs_a_brand_or_a_retailer() {
        let ok = Cli::try_parse_from([
            "prodlink",
            "org",
            "assign",
            "--organization",
            "Acme",
            "--retailer",
            "Corner Shop",
        ]);
        assert!(ok.is_ok());
        for bad in [
            &["prodlink", "org", "assign", "--organization", "Acme"][..],
            &[
                "prodlink",
                "org",
                "assign",
                "--organization",
                "Acme",
                "--brand",
                "B",
                "--retailer",
                "R",
            ],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn account_commands_parse() {
        let cli = Cli::try_parse_from([
            "prodlink",
            "apikey",
            "create",
            "--organization",
            "Acme",
            "--name",
            "sync",
            "--scope",
            "products:read products:write",
        ])
        .unwrap();
        let Command::Apikey(ApiKeyCommand::Create { scope, rate_limit_per_minute, .. }) =
            cli.command
        else {
            panic!()
        };
        assert_eq!((scope.as_str(), rate_limit_per_minute), ("products:read products:write", None));
        for bad in [
            &[
                "prodlink",
                "apikey",
                "create",
                "--organization",
                "A",
                "--name",
                "n",
                "--rate-limit-per-minute",
                "0",
            ][..],
            &["prodlink", "user", "set-organization", "--email", "a@b.example"],
            &[
                "prodlink",
                "user",
                "set-organization",
                "--email",
                "a@b.example",
                "--organization",
                "A",
                "--none",
            ],
            &["prodlink", "apikey", "revoke", "x"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
        let cli = Cli::try_parse_from([
            "prodlink",
            "user",
            "set-organization",
            "--email",
            "a@b.example",
            "--none",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::User(UserCommand::SetOrganization { none: true, organization: None, .. })
        ));
    }
}
