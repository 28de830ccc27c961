//! Discovery: authorization server metadata (RFC 8414) and protected resource metadata
//! (RFC 9728).

use serde_json::{Value, json};

use super::{AuthServer, QR_SCOPE, SCOPES};

impl AuthServer {
    /// Authorization server metadata (also served as `openid-configuration`).
    pub fn metadata(&self) -> Value {
        let i = &self.config.issuer;
        json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}/o/authorize/"),
            "token_endpoint": format!("{i}/o/token/"),
            "registration_endpoint": format!("{i}/o/register/"),
            "revocation_endpoint": format!("{i}/o/revoke/"),
            "introspection_endpoint": format!("{i}/o/introspect/"),
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "client_id_metadata_document_supported": true,
            "authorization_response_iss_parameter_supported": true,
            "subject_types_supported": ["public"],
            "service_documentation": format!("{i}/"),
        })
    }

    /// Protected resource metadata for the MCP endpoint.
    pub fn resource_metadata(&self) -> Value {
        self.resource_metadata_for(&self.config.resource)
    }

    /// Protected resource metadata naming one of the resource's URLs (the path-suffixed
    /// well-known document of `/mcp` names `{issuer}/mcp`, RFC 9728 §3.3).
    pub fn resource_metadata_for(&self, resource: &str) -> Value {
        json!({
            "resource": resource,
            "authorization_servers": [self.config.issuer],
            "scopes_supported": [QR_SCOPE],
            "bearer_methods_supported": ["header"],
            "resource_name": "prodlink MCP server",
            "resource_documentation": format!("{}/", self.config.issuer),
        })
    }

    /// The URL of the protected resource metadata (for `resource_metadata=` challenges).
    pub fn resource_metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource", self.config.issuer)
    }
}
