//! prodlink's OAuth 2.1 authorization server and resource-server core (docs/spec.md §4): clients
//! (pre-registered, Dynamic Client Registration, Client ID Metadata Documents), users and
//! sessions, the authorization code flow with PKCE, refresh-token rotation, revocation,
//! introspection, bearer validation, API keys for servers and the organizations users and keys
//! act for, the QR quota and the durable audit log, stored in the
//! catalog's SQLite or PostgreSQL database ([`SqliteAuthStore`], [`PgAuthStore`]). No HTTP
//! types: the `web` crate maps requests to [`AuthServer`] calls.

pub mod cimd;
pub mod clock;
pub mod params;
pub mod password;
pub mod redirect;
pub mod secrets;
pub mod server;
pub mod store;

/// The API key format, one kind of [`secrets`] (the path `auth::apikey` is kept for callers).
pub use secrets::apikey;

pub use store::{AuthStore, AuthStoreError, PgAuthStore, SqliteAuthStore};

pub use server::{
    ApiKeyInfo, AuthConfig, AuthServer, AuthorizeError, AuthorizeRequest, InvalidApiKey,
    InvalidToken, LoginError, ManageError, OAuthError, QR_SCOPE, REST_SCOPES, StartError,
    TokenInfo,
};
