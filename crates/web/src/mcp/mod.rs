//! The MCP surface: the Streamable HTTP transport at `/mcp/http` and `/mcp` ([`http`]), in
//! front of the transport-independent server of the `mcp` crate.

pub mod http;
