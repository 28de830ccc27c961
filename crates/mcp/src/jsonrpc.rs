//! JSON-RPC 2.0 framing (one message per POST or stdio line; batches were removed from MCP in
//! 2025-06-18): parse an incoming message into a request, notification or response with the
//! right error for each failure (-32700 parse error, -32600 invalid request), and build
//! responses.

use serde::Serialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Standard JSON-RPC error codes.
pub mod code {
    /// Invalid JSON.
    pub const PARSE_ERROR: i32 = -32700;
    /// Not a valid JSON-RPC request object.
    pub const INVALID_REQUEST: i32 = -32600;
    /// The method does not exist.
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i32 = -32602;
    /// Internal JSON-RPC error.
    pub const INTERNAL_ERROR: i32 = -32603;
}

/// A request id: a string or an integer (MCP forbids null ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Id {
    /// Numeric id.
    Number(i64),
    /// String id.
    String(String),
}

/// An incoming message.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A request, which gets a response.
    Request {
        /// Echoed in the response.
        id: Id,
        /// Method name.
        method: String,
        /// Parameters (an object when present).
        params: Option<Map<String, Value>>,
    },
    /// A notification (no id), which gets no response.
    Notification {
        /// Method name.
        method: String,
    },
    /// A response from the client to a server request (we send none; accepted and ignored).
    Response,
}

/// Why a message could not be parsed; carries the id when one could be read.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseFailure {
    /// -32700 or -32600.
    pub code: i32,
    /// What was wrong.
    pub message: String,
    /// The request id, if it could be recovered.
    pub id: Option<Id>,
}

#[derive(serde::Deserialize)]
struct Envelope<'a> {
    jsonrpc: Option<&'a RawValue>,
    // `null` must stay distinguishable from an absent id.
    #[serde(default, borrow, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Option<&'a RawValue>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
    result: Option<IgnoredAny>,
    error: Option<IgnoredAny>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue as serde::Deserialize>::deserialize(d).map(Some)
}

fn parse_id(raw: &RawValue) -> Result<Id, String> {
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(Value::Number(n)) => {
            n.as_i64().map(Id::Number).ok_or_else(|| "id must be an integer or a string".to_owned())
        }
        Ok(Value::String(s)) => Ok(Id::String(s)),
        Ok(Value::Null) => Err("id must not be null".to_owned()),
        _ => Err("id must be an integer or a string".to_owned()),
    }
}

/// Parses one JSON-RPC message.
pub fn parse(body: &[u8]) -> Result<Incoming, ParseFailure> {
    let fail = |code, message: String, id| ParseFailure { code, message, id };
    let value: &RawValue = serde_json::from_slice(body)
        .map_err(|e| fail(code::PARSE_ERROR, format!("invalid JSON: {e}"), None))?;
    let text = value.get().trim_start();
    if text.starts_with('[') {
        return Err(fail(
            code::INVALID_REQUEST,
            "JSON-RPC batches are not supported (removed in MCP 2025-06-18); send one message"
                .into(),
            None,
        ));
    }
    if !text.starts_with('{') {
        return Err(fail(
            code::INVALID_REQUEST,
            "a JSON-RPC message must be an object".into(),
            None,
        ));
    }
    let env: Envelope<'_> = serde_json::from_str(value.get()).map_err(|e| {
        fail(code::INVALID_REQUEST, format!("malformed JSON-RPC message: {e}"), None)
    })?;
    let id = match env.id {
        None => None,
        Some(raw) => Some(parse_id(raw).map_err(|m| fail(code::INVALID_REQUEST, m, None))?),
    };
    if env.jsonrpc.map(RawValue::get) != Some("\"2.0\"") {
        return Err(fail(code::INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"".into(), id));
    }
    let Some(method) = env.method else {
        if env.result.is_some() || env.error.is_some() {
            return Ok(Incoming::Response);
        }
        return Err(fail(code::INVALID_REQUEST, "missing \"method\"".into(), id));
    };
    let method: String = serde_json::from_str(method.get()).map_err(|_| {
        fail(code::INVALID_REQUEST, "\"method\" must be a string".into(), id.clone())
    })?;
    let Some(id) = id else {
        return Ok(Incoming::Notification { method });
    };
    let params = match env.params {
        None => None,
        Some(raw) => match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Object(m)) => Some(m),
            Ok(Value::Null) => None,
            _ => {
                return Err(fail(
                    code::INVALID_PARAMS,
                    "\"params\" must be an object".into(),
                    Some(id),
                ));
            }
        },
    };
    Ok(Incoming::Request { id, method, params })
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorObject {
    /// Error code.
    pub code: i32,
    /// Short description.
    pub message: String,
    /// Structured details (an RFC 9457 problem document for prodlink's own codes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// Serializes a success response.
pub fn result(id: &Id, result: &impl Serialize) -> Vec<u8> {
    #[derive(Serialize)]
    struct R<'a, T> {
        jsonrpc: &'static str,
        id: &'a Id,
        result: &'a T,
    }
    serde_json::to_vec(&R { jsonrpc: "2.0", id, result }).unwrap_or_default()
}

/// Serializes an error response (`id` null when the request id is unknown).
pub fn error(id: Option<&Id>, error: &ErrorObject) -> Vec<u8> {
    #[derive(Serialize)]
    struct E<'a> {
        jsonrpc: &'static str,
        id: Option<&'a Id>,
        error: &'a ErrorObject,
    }
    serde_json::to_vec(&E { jsonrpc: "2.0", id, error }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_messages() {
        let r = parse(br#"{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{}}"#).unwrap();
        assert!(
            matches!(r, Incoming::Request { id: Id::Number(7), ref method, .. } if method == "tools/list")
        );
        let n = parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
        assert_eq!(n, Incoming::Notification { method: "notifications/initialized".into() });
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#).unwrap(),
            Incoming::Response
        );
    }

    #[test]
    fn each_failure_has_its_code() {
        assert_eq!(parse(b"{nope").unwrap_err().code, code::PARSE_ERROR);
        assert_eq!(parse(b"").unwrap_err().code, code::PARSE_ERROR);
        assert_eq!(parse(b"[]").unwrap_err().code, code::INVALID_REQUEST);
        assert_eq!(parse(b"42").unwrap_err().code, code::INVALID_REQUEST);
        let e = parse(br#"{"jsonrpc":"1.0","id":3,"method":"ping"}"#).unwrap_err();
        assert_eq!((e.code, e.id), (code::INVALID_REQUEST, Some(Id::Number(3))));
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#).unwrap_err().code,
            code::INVALID_REQUEST
        );
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":1,"method":5}"#).unwrap_err().code,
            code::INVALID_REQUEST
        );
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#).unwrap_err().code,
            code::INVALID_PARAMS
        );
        assert_eq!(parse(br#"{"jsonrpc":"2.0","id":1}"#).unwrap_err().code, code::INVALID_REQUEST);
    }

    #[test]
    fn responses_serialize_as_jsonrpc() {
        let ok = result(&Id::String("x".into()), &serde_json::json!({}));
        assert_eq!(ok, br#"{"jsonrpc":"2.0","id":"x","result":{}}"#);
        let e = error(None, &ErrorObject { code: -32700, message: "bad".into(), data: None });
        assert_eq!(e, br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}"#);
    }
}
