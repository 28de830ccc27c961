//! Test-only tools for the official MCP conformance suite: the fixtures its `tools-call-*`
//! scenarios call by name, returning each kind of content block. Only a server made with
//! [`McpServer::with_conformance_fixtures`](crate::McpServer::with_conformance_fixtures)
//! lists and runs them (the `conformance_server` example of the web crate); `prodlink` never
//! does.

use catalog::ServiceError;
use serde_json::{Value, json};

use crate::tools::{ToolDef, ToolOutput};

/// A 1×1 transparent PNG.
const PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
/// A WAV header with no samples (PCM, mono, 8 kHz, 8 bit).
const WAV: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=";

fn def(name: &'static str, description: &'static str) -> ToolDef {
    ToolDef {
        name,
        title: name,
        description,
        input_schema: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        output_schema: Value::Null,
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
        scope: None,
    }
}

/// The fixture definitions.
pub fn definitions() -> Vec<ToolDef> {
    vec![
        def("test_simple_text", "Conformance fixture: returns a simple text block."),
        def("test_image_content", "Conformance fixture: returns an image block (PNG)."),
        def("test_audio_content", "Conformance fixture: returns an audio block (WAV)."),
        def("test_embedded_resource", "Conformance fixture: returns an embedded text resource."),
        def(
            "test_multiple_content_types",
            "Conformance fixture: returns text, image and resource blocks.",
        ),
        def("test_error_handling", "Conformance fixture: fails with isError: true."),
    ]
}

fn blocks(
    text: &str,
    extra: Vec<Value>,
    is_error: bool,
) -> Option<Result<ToolOutput, ServiceError>> {
    Some(Ok(ToolOutput {
        structured: None,
        text: text.to_owned(),
        extra,
        is_error,
        gtins: Vec::new(),
    }))
}

/// Runs a fixture; `None` for names that are not fixtures.
pub fn call(name: &str) -> Option<Result<ToolOutput, ServiceError>> {
    let image = json!({"type": "image", "data": PNG, "mimeType": "image/png"});
    let resource = |uri: &str| json!({"type": "resource", "resource": {"uri": uri, "mimeType": "text/plain", "text": "This is an embedded resource content."}});
    match name {
        "test_simple_text" => {
            blocks("This is a simple text response for testing.", Vec::new(), false)
        }
        "test_image_content" => blocks("An image:", vec![image], false),
        "test_audio_content" => blocks(
            "A sound:",
            vec![json!({"type": "audio", "data": WAV, "mimeType": "audio/wav"})],
            false,
        ),
        "test_embedded_resource" => {
            blocks("A resource:", vec![resource("test://embedded-resource")], false)
        }
        "test_multiple_content_types" => blocks(
            "Multiple content types test:",
            vec![image, resource("test://mixed-content-resource")],
            false,
        ),
        "test_error_handling" => {
            blocks("This tool intentionally returns an error for testing", Vec::new(), true)
        }
        _ => None,
    }
}
