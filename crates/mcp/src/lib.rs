//! prodlink's MCP server (docs/spec.md §3): the JSON-RPC protocol, the nine tools with their schemas
//! and annotations, the error contract, and the stdio transport. The Streamable HTTP binding is
//! in the `web` crate, over [`McpServer::handle`].
//!
//! ## Why not rmcp
//!
//! The official Rust SDK (`rmcp` 3.11) was measured here in stateless JSON mode, the mode
//! prodlink needs so that several processes behind a load balancer can serve one client: it
//! builds a new server object and spawns a task for every request, and served 18,000–27,000
//! `tools/call`/s with the load generator on the same 2 cores, against 52,000–66,000/s for the
//! same work as a plain axum handler (about 48 µs vs 15 µs of CPU per call). The target
//! is 30,000 `validate_gtin` calls/s. Its tool handlers also cannot set the HTTP status, which
//! the step-up answer (HTTP 403 + `WWW-Authenticate` + JSON-RPC -32002) needs. A tools-only
//! server in stateless mode is a small protocol surface, so prodlink implements it directly:
//! JSON-RPC framing ([`jsonrpc`]), lifecycle and tools ([`server`]), revisions ([`version`]).
//!
//! Protocol: MCP 2025-11-25, negotiating down to 2025-06-18, 2025-03-26 and 2024-11-05.
//! No sessions (no `Mcp-Session-Id`): every message is self-contained.

pub mod args;
pub mod fixtures;
pub mod jsonrpc;
pub mod server;
pub mod stdio;
pub mod tools;
pub mod version;

pub use server::{
    BoxFuture, CallContext, GateEvent, Handled, McpServer, Principal, Rejection, Reply, ToolGate,
    Transport, current_principal, step_up_challenge,
};
pub use version::ProtocolVersion;
