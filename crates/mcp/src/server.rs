//! The MCP server core, independent of transport: takes one JSON-RPC message and the caller's
//! context, returns what to send back (body, HTTP status hint, `WWW-Authenticate`). HTTP (in
//! the `web` crate) and stdio ([`crate::stdio`]) are thin adapters over [`McpServer::handle`].
//!
//! Stateless by design: nothing is remembered between messages. The protocol revision of a
//! call comes from the transport (the `MCP-Protocol-Version` header over HTTP, the initialize
//! handshake over stdio), so any number of prodlink processes can serve one client.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use catalog::{Catalog, ErrorCode, ServiceError};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::jsonrpc::{self, ErrorObject, Id, Incoming, code};
use crate::tools::{self, ToolDef};
use crate::version::ProtocolVersion;

/// Who is calling (from a bearer token over HTTP, or `--as-user` over stdio).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principal {
    /// The OAuth client (agent), if authenticated.
    pub client_id: Option<String>,
    /// The end user, if the token came from a user's authorization.
    pub user_id: Option<i64>,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

impl Principal {
    /// No credentials.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// Whether a scope was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// The transport a message came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Streamable HTTP.
    Http,
    /// stdin/stdout.
    Stdio,
}

/// Why the transport refuses a message before it reaches a method (docs/spec.md §4, §3 error
/// contract): the reply still echoes the request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// A bearer token was sent but is not valid here: HTTP 401, `-32001`.
    InvalidToken {
        /// Why (shown to the caller).
        description: String,
        /// The `WWW-Authenticate` header value.
        challenge: String,
    },
    /// Over a rate limit: `-32003` with `retry_after`.
    RateLimited {
        /// What limit.
        detail: String,
        /// Seconds until a retry can succeed.
        retry_after: u64,
    },
}

/// Everything about one incoming message besides its body.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// Revision in force for this message.
    pub version: ProtocolVersion,
    /// Who is calling.
    pub principal: Principal,
    /// The HTTP request id, for logs.
    pub request_id: Option<String>,
    /// Transport.
    pub transport: Transport,
    /// Refuse the message (bad token, rate limit) instead of handling it.
    pub rejection: Option<Rejection>,
    /// The protected resource metadata URL step-up challenges name (the endpoint's own);
    /// `None` means `{site}/.well-known/oauth-protected-resource`.
    pub resource_metadata: Option<String>,
}

impl CallContext {
    /// A context with no rejection.
    pub fn new(
        version: ProtocolVersion,
        principal: Principal,
        request_id: Option<String>,
        transport: Transport,
    ) -> Self {
        Self { version, principal, request_id, transport, rejection: None, resource_metadata: None }
    }
}

/// What a protected tool's gate is told after the call.
#[derive(Debug)]
pub struct GateEvent<'a> {
    /// The tool.
    pub tool: &'static str,
    /// Who called.
    pub principal: &'a Principal,
    /// The HTTP request id.
    pub request_id: Option<&'a str>,
    /// The arguments as sent.
    pub arguments: &'a Map<String, Value>,
    /// `ok` or the error code.
    pub outcome: &'a str,
    /// Normalized GTINs involved.
    pub gtins: &'a [String],
}

/// Policy around protected tools (those with a scope), supplied by the host: the per-user
/// quota before the call and the durable audit row after it (docs/spec.md §4 "Identity, audit,
/// quota"). Without a gate, a caller holding the scope simply runs the tool.
pub trait ToolGate: Send + Sync + 'static {
    /// Whether the call may run; the error (a rate limit for an exhausted quota) is returned
    /// to the caller as is.
    fn admit<'a>(
        &'a self,
        tool: &'static str,
        principal: &'a Principal,
    ) -> BoxFuture<'a, Result<(), ServiceError>>;
    /// Records the outcome durably.
    fn record<'a>(&'a self, event: GateEvent<'a>) -> BoxFuture<'a, ()>;
}

/// A boxed future (the gate is object-safe without an async-trait dependency).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

tokio::task_local! {
    static CURRENT: Principal;
}

/// The caller of the tool call running on this task: agent (`client_id`) and end user
/// (`user_id`). Tools ask this instead of threading the principal through every function;
/// `None` outside a tool call.
pub fn current_principal() -> Option<Principal> {
    CURRENT.try_with(Clone::clone).ok()
}

/// What to send back.
#[derive(Debug, Clone, PartialEq)]
pub enum Handled {
    /// A JSON-RPC response.
    Reply(Reply),
    /// A notification or client response: nothing to answer (HTTP 202).
    Accepted,
}

/// A serialized JSON-RPC response and how to deliver it over HTTP.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The JSON-RPC response object.
    pub body: Vec<u8>,
    /// HTTP status to use (200, or 400/401/403 for the cases the spec fixes).
    pub status: u16,
    /// `WWW-Authenticate` challenge, for 401/403.
    pub www_authenticate: Option<String>,
    /// The negotiated revision, when this answers `initialize`.
    pub negotiated: Option<ProtocolVersion>,
}

impl Reply {
    fn ok(body: Vec<u8>) -> Self {
        Self { body, status: 200, www_authenticate: None, negotiated: None }
    }
}

/// Server identity in `initialize`.
const SERVER_NAME: &str = "prodlink";
const INSTRUCTIONS: &str = "prodlink answers questions about consumer products identified by GTIN barcodes (UPC/EAN). Start with search_products for natural-language questions, or lookup_product / get_product_detail when you have a barcode; validate_gtin cleans up a barcode first. check_availability finds nearby stores, compare_products puts 2-5 products side by side, resolve_gtin tells where a product's QR code leads, and generate_qr_url (needs the user's consent) builds a GS1 Digital Link URL for a QR code. Errors carry an RFC 9457 problem document in error.data naming the wrong field.";

/// The MCP server.
#[derive(Clone)]
pub struct McpServer {
    inner: Arc<Inner>,
}

struct Inner {
    catalog: Catalog,
    version: &'static str,
    tools: Vec<ToolDef>,
    /// `tools/list` results, serialized once per protocol revision.
    tool_lists: HashMap<ProtocolVersion, Box<RawValue>>,
    challenge: String,
    gate: Option<Arc<dyn ToolGate>>,
    /// The conformance suite's fixture tools are listed and run (tests only).
    fixtures: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolJson<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    description: &'a str,
    input_schema: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_schema: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<Value>,
}

fn tool_list(tools: &[ToolDef], v: ProtocolVersion) -> Box<RawValue> {
    let list: Vec<ToolJson<'_>> = tools
        .iter()
        .map(|t| ToolJson {
            name: t.name,
            title: v.has_structured_output().then_some(t.title),
            description: t.description,
            input_schema: &t.input_schema,
            output_schema: (v.has_structured_output() && !t.output_schema.is_null())
                .then_some(&t.output_schema),
            annotations: v.has_annotations().then(|| {
                json!({
                    "title": t.title,
                    "readOnlyHint": t.read_only,
                    "destructiveHint": t.destructive,
                    "idempotentHint": t.idempotent,
                    "openWorldHint": t.open_world,
                })
            }),
        })
        .collect();
    serde_json::value::to_raw_value(&json!({ "tools": list }))
        .unwrap_or_else(|_| RawValue::from_string("{\"tools\":[]}".into()).unwrap_or_default())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallResult<'a> {
    content: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    structured_content: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_error: bool,
}

/// The `WWW-Authenticate` value asking for the `qr:generate` scope (docs/spec.md §4 step-up), naming
/// the protected resource metadata at `metadata_url`.
pub fn step_up_challenge(metadata_url: &str) -> String {
    format!(
        "Bearer error=\"insufficient_scope\", scope=\"{}\", resource_metadata=\"{metadata_url}\"",
        tools::QR_SCOPE
    )
}

impl McpServer {
    /// A server over the catalog services; `version` is prodlink's version for `serverInfo`.
    pub fn new(catalog: Catalog, version: &'static str) -> Self {
        Self::build(catalog, version, false)
    }

    /// A server that also lists and runs the official MCP conformance suite's fixture tools
    /// ([`crate::fixtures`]): for the suite's test server only, never for prodlink itself.
    pub fn with_conformance_fixtures(catalog: Catalog, version: &'static str) -> Self {
        Self::build(catalog, version, true)
    }

    fn build(catalog: Catalog, version: &'static str, fixtures: bool) -> Self {
        let mut tools = tools::definitions();
        if fixtures {
            tools.extend(crate::fixtures::definitions());
        }
        let tool_lists =
            ProtocolVersion::ALL.into_iter().map(|v| (v, tool_list(&tools, v))).collect();
        let challenge = step_up_challenge(&format!(
            "{}/.well-known/oauth-protected-resource",
            catalog.site_url()
        ));
        Self {
            inner: Arc::new(Inner {
                catalog,
                version,
                tools,
                tool_lists,
                challenge,
                gate: None,
                fixtures,
            }),
        }
    }

    /// The same server with a gate around protected tools. Call before cloning.
    pub fn with_gate(self, gate: Arc<dyn ToolGate>) -> Self {
        let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            catalog: shared.catalog.clone(),
            version: shared.version,
            tools: shared.tools.clone(),
            tool_lists: shared.tool_lists.iter().map(|(k, v)| (*k, v.clone())).collect(),
            challenge: shared.challenge.clone(),
            gate: shared.gate.clone(),
            fixtures: shared.fixtures,
        });
        Self { inner: Arc::new(Inner { gate: Some(gate), ..inner }) }
    }

    /// The tool definitions.
    pub fn tools(&self) -> &[ToolDef] {
        &self.inner.tools
    }

    /// The catalog services.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// The `WWW-Authenticate` challenge for the step-up to `qr:generate` (docs/spec.md §4).
    pub fn step_up_challenge(&self) -> &str {
        &self.inner.challenge
    }

    fn error_reply(&self, id: Option<&Id>, code: i32, message: String, status: u16) -> Reply {
        let e = ErrorObject { code, message, data: None };
        Reply { body: jsonrpc::error(id, &e), status, www_authenticate: None, negotiated: None }
    }

    /// A JSON-RPC error carrying the problem document of a service error.
    fn service_error_reply(&self, id: &Id, e: &ServiceError) -> Reply {
        if let ServiceError::Internal(source) = e {
            tracing::error!(error = %source, "tool failed");
        }
        let code = e.code();
        let data = e.problem(self.inner.catalog.site_url());
        let body = jsonrpc::error(
            Some(id),
            &ErrorObject {
                code: code.jsonrpc_code(),
                message: e.public_detail(),
                data: Some(data),
            },
        );
        Reply { body, status: 200, www_authenticate: None, negotiated: None }
    }

    fn rejection_reply(&self, id: Option<&Id>, rejection: &Rejection) -> Reply {
        let (e, status, challenge) = match rejection {
            Rejection::InvalidToken { description, challenge } => {
                (ServiceError::Unauthorized(description.clone()), 401, Some(challenge.clone()))
            }
            Rejection::RateLimited { detail, retry_after } => (
                ServiceError::RateLimited { detail: detail.clone(), retry_after: *retry_after },
                200,
                None,
            ),
        };
        let code = e.code();
        let body = jsonrpc::error(
            id,
            &ErrorObject {
                code: code.jsonrpc_code(),
                message: e.public_detail(),
                data: Some(e.problem(self.inner.catalog.site_url())),
            },
        );
        Reply { body, status, www_authenticate: challenge, negotiated: None }
    }

    /// Handles one incoming message (the raw bytes of a POST body or a stdio line).
    pub async fn handle(&self, body: &[u8], ctx: &CallContext) -> Handled {
        match jsonrpc::parse(body) {
            Err(f) => {
                // Malformed messages are a 400 over HTTP (Streamable HTTP, "POST").
                Handled::Reply(self.error_reply(f.id.as_ref(), f.code, f.message, 400))
            }
            Ok(incoming) => {
                if let Some(rejection) = &ctx.rejection {
                    let id = match &incoming {
                        Incoming::Request { id, .. } => Some(id),
                        _ => None,
                    };
                    return Handled::Reply(self.rejection_reply(id, rejection));
                }
                match incoming {
                    Incoming::Notification { .. } | Incoming::Response => Handled::Accepted,
                    Incoming::Request { id, method, params } => {
                        Handled::Reply(self.request(&id, &method, params.as_ref(), ctx).await)
                    }
                }
            }
        }
    }

    async fn request(
        &self,
        id: &Id,
        method: &str,
        params: Option<&Map<String, Value>>,
        ctx: &CallContext,
    ) -> Reply {
        let empty = Map::new();
        let params = params.unwrap_or(&empty);
        match method {
            "initialize" => {
                let requested = match params.get("protocolVersion") {
                    Some(Value::String(s)) => Some(s.as_str()),
                    None => None,
                    Some(_) => {
                        return self.error_reply(
                            Some(id),
                            code::INVALID_PARAMS,
                            "initialize: protocolVersion must be a string".into(),
                            200,
                        );
                    }
                };
                let v = ProtocolVersion::negotiate(requested);
                let result = json!({
                    "protocolVersion": v.as_str(),
                    "capabilities": {"tools": {"listChanged": false}, "logging": {}},
                    "serverInfo": {"name": SERVER_NAME, "title": "prodlink", "version": self.inner.version},
                    "instructions": INSTRUCTIONS,
                });
                let mut r = Reply::ok(jsonrpc::result(id, &result));
                r.negotiated = Some(v);
                r
            }
            "ping" => Reply::ok(jsonrpc::result(id, &json!({}))),
            "logging/setLevel" => {
                const LEVELS: [&str; 8] = [
                    "debug",
                    "info",
                    "notice",
                    "warning",
                    "error",
                    "critical",
                    "alert",
                    "emergency",
                ];
                match params.get("level").and_then(Value::as_str) {
                    Some(l) if LEVELS.contains(&l) => Reply::ok(jsonrpc::result(id, &json!({}))),
                    _ => self.error_reply(
                        Some(id),
                        code::INVALID_PARAMS,
                        format!("logging/setLevel: level must be one of {}", LEVELS.join(", ")),
                        200,
                    ),
                }
            }
            "tools/list" => {
                if params.get("cursor").is_some_and(|c| !c.is_null()) {
                    return self.error_reply(
                        Some(id),
                        code::INVALID_PARAMS,
                        "tools/list: invalid cursor (the whole list fits in one page)".into(),
                        200,
                    );
                }
                let list = self
                    .inner
                    .tool_lists
                    .get(&ctx.version)
                    .or_else(|| self.inner.tool_lists.get(&ProtocolVersion::LATEST));
                match list {
                    Some(l) => Reply::ok(jsonrpc::result(id, l)),
                    None => self.error_reply(
                        Some(id),
                        code::INTERNAL_ERROR,
                        "tool list unavailable".into(),
                        200,
                    ),
                }
            }
            "tools/call" => self.call_tool(id, params, ctx).await,
            other => self.error_reply(
                Some(id),
                code::METHOD_NOT_FOUND,
                format!("Method not found: {other}"),
                200,
            ),
        }
    }

    async fn call_tool(&self, id: &Id, params: &Map<String, Value>, ctx: &CallContext) -> Reply {
        let Some(name) = params.get("name").and_then(Value::as_str) else {
            return self.error_reply(
                Some(id),
                code::INVALID_PARAMS,
                "tools/call: params.name must be the name of a tool".into(),
                200,
            );
        };
        let empty = Map::new();
        let arguments = match params.get("arguments") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(m)) => m,
            Some(_) => {
                return self.error_reply(
                    Some(id),
                    code::INVALID_PARAMS,
                    "tools/call: params.arguments must be an object".into(),
                    200,
                );
            }
        };
        let Some(def) = self.inner.tools.iter().find(|t| t.name == name) else {
            let known: Vec<&str> = self.inner.tools.iter().map(|t| t.name).collect();
            return self.error_reply(
                Some(id),
                code::INVALID_PARAMS,
                format!("Unknown tool: {name}; available tools: {}", known.join(", ")),
                200,
            );
        };
        let started = Instant::now();

        // Authorization before anything runs (docs/spec.md §4 step-up).
        if let Some(scope) = def.scope
            && !ctx.principal.has_scope(scope)
        {
            let detail = match ctx.transport {
                Transport::Http => format!(
                    "{name} needs the OAuth scope {scope}: authorize with prodlink (see resource_metadata in the WWW-Authenticate header) and call again with the token"
                ),
                Transport::Stdio => format!(
                    "{name} is not enabled over stdio: start the server as `prodlink mcp-stdio --as-user EMAIL` to act for that user"
                ),
            };
            let e = ServiceError::Forbidden(detail);
            audit(ctx, def.name, Err(ErrorCode::Forbidden), started, &[]);
            let mut r = self.service_error_reply(id, &e);
            if ctx.transport == Transport::Http {
                r.status = 403;
                r.www_authenticate = Some(match &ctx.resource_metadata {
                    Some(url) => step_up_challenge(url),
                    None => self.inner.challenge.clone(),
                });
            }
            return r;
        }

        let gate = def.scope.and(self.inner.gate.as_ref());
        if let Some(gate) = gate
            && let Err(e) = gate.admit(def.name, &ctx.principal).await
        {
            let outcome = e.code();
            audit(ctx, def.name, Err(outcome), started, &[]);
            gate.record(GateEvent {
                tool: def.name,
                principal: &ctx.principal,
                request_id: ctx.request_id.as_deref(),
                arguments,
                outcome: outcome.as_str(),
                gtins: &[],
            })
            .await;
            return self.service_error_reply(id, &e);
        }

        let mut outcome = CURRENT
            .scope(ctx.principal.clone(), tools::call(&self.inner.catalog, name, arguments))
            .await;
        if outcome.is_none() && self.inner.fixtures {
            outcome = crate::fixtures::call(name);
        }
        if let Some(gate) = gate {
            let (code, gtins): (&str, &[String]) = match &outcome {
                Some(Ok(out)) => ("ok", &out.gtins),
                Some(Err(e)) => (e.code().as_str(), &[]),
                None => ("not_found", &[]),
            };
            gate.record(GateEvent {
                tool: def.name,
                principal: &ctx.principal,
                request_id: ctx.request_id.as_deref(),
                arguments,
                outcome: code,
                gtins,
            })
            .await;
        }
        match outcome {
            None => self.error_reply(
                Some(id),
                code::METHOD_NOT_FOUND,
                format!("Unknown tool: {name}"),
                200,
            ),
            Some(Ok(out)) => {
                audit(ctx, def.name, Ok(()), started, &out.gtins);
                let structured =
                    out.structured.as_deref().filter(|_| ctx.version.has_structured_output());
                let mut content = vec![json!({"type": "text", "text": out.text})];
                content.extend(out.extra);
                let result =
                    CallResult { content, structured_content: structured, is_error: out.is_error };
                Reply::ok(jsonrpc::result(id, &result))
            }
            Some(Err(e)) => {
                audit(ctx, def.name, Err(e.code()), started, &[]);
                self.service_error_reply(id, &e)
            }
        }
    }
}

/// One structured log line per tool call (docs/spec.md §4 "Identity, audit, quota") and the per-tool
/// metrics.
fn audit(
    ctx: &CallContext,
    tool: &'static str,
    outcome: Result<(), ErrorCode>,
    started: Instant,
    gtins: &[String],
) {
    let elapsed = started.elapsed();
    let outcome = match outcome {
        Ok(()) => "ok",
        Err(code) => code.as_str(),
    };
    tracing::info!(
        target: "prodlink::mcp::audit",
        request_id = ctx.request_id.as_deref(),
        tool,
        outcome,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        client_id = ctx.principal.client_id.as_deref(),
        user_id = ctx.principal.user_id,
        gtins = %gtins.join(","),
        "tool call"
    );
    metrics::counter!("prodlink_mcp_tool_calls_total", "tool" => tool, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("prodlink_mcp_tool_duration_seconds", "tool" => tool)
        .record(elapsed.as_secs_f64());
}
