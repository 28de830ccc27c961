// The official MCP TypeScript SDK client doing step-up authorization against a live prodlink:
// anonymous calls work, generate_qr_url answers 403 insufficient_scope, the SDK discovers
// the protected resource and authorization server, identifies itself (Dynamic Client
// Registration, or a Client ID Metadata Document served over https), sends the user through
// prodlink's sign-in and consent (a scripted browser), exchanges the code and retries — and the
// retried call succeeds.
//   node auth-check.mjs MCP_URL EMAIL PASSWORD [CLIENT_METADATA_URL]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import assert from "node:assert/strict";
import { Browser } from "../oauth/browser.mjs";

const [url, email, password, metadataUrl] = process.argv.slice(2);
if (!password) {
  console.error("usage: node auth-check.mjs MCP_URL EMAIL PASSWORD [CLIENT_METADATA_URL]");
  process.exit(2);
}
const mode = metadataUrl ? "CIMD" : "DCR";
const redirectUrl = "http://127.0.0.1:53682/callback";

class Provider {
  constructor(browser) {
    this.browser = browser;
    this.clientMetadataUrl = metadataUrl;
    this.redirects = 0;
  }
  get redirectUrl() { return redirectUrl; }
  get clientMetadata() {
    return {
      client_name: "prodlink SDK step-up check",
      redirect_uris: [redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() { return this.client; }
  saveClientInformation(info) { this.client = info; }
  tokens() { return this.saved; }
  saveTokens(tokens) { this.saved = tokens; }
  saveCodeVerifier(v) { this.verifier = v; }
  codeVerifier() { return this.verifier; }
  async redirectToAuthorization(authorizationUrl) {
    this.redirects++;
    this.authorizationUrl = authorizationUrl;
    const callback = await this.browser.authorize(authorizationUrl);
    assert.equal(callback.searchParams.get("error"), null, `authorization failed: ${callback}`);
    this.code = callback.searchParams.get("code");
  }
}

const provider = new Provider(new Browser({ email, password }));
const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
const client = new Client({ name: "prodlink-sdk-auth-check", version: "1.0.0" });
await client.connect(transport);
const anon = await client.callTool({ name: "validate_gtin", arguments: { gtin: "614141123452" } });
assert.equal(anon.structuredContent.valid, true);
assert.equal(provider.redirects, 0, "anonymous tools need no authorization");

const args = { name: "generate_qr_url", arguments: { gtin: "614141123452", batch: "AB-12" } };
await assert.rejects(client.callTool(args), (e) => e instanceof UnauthorizedError,
  "the first call is refused with a step-up challenge");
assert.equal(provider.redirects, 1);
assert.equal(provider.authorizationUrl.searchParams.get("scope"), "qr:generate", "scope taken from the challenge");
assert.equal(provider.authorizationUrl.searchParams.get("resource"), url, "resource indicator is the MCP URL");
if (mode === "CIMD") {
  assert.equal(provider.client.client_id, metadataUrl, "the metadata document URL is the client_id");
} else {
  assert.ok(provider.client.client_id && !provider.client.client_id.startsWith("http"), "registered dynamically");
}
await transport.finishAuth(provider.code);
assert.ok(provider.saved?.access_token, "tokens saved");
assert.equal(provider.saved.scope, "qr:generate");

const result = await client.callTool(args);
assert.ok(!result.isError, JSON.stringify(result));
const origin = new URL(url).origin;
assert.equal(result.structuredContent.qr_url, `${origin}/01/00614141123452/10/AB-12`);
assert.equal(provider.redirects, 1, "no second authorization");
await client.close();
console.log(`ok: TypeScript SDK step-up via ${mode} at ${new URL(url).pathname}: 403 → consent → token → generate_qr_url succeeded`);
