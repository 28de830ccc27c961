// Connects the official MCP TypeScript SDK client (@modelcontextprotocol/sdk, pinned) to a
// live prodlink server over Streamable HTTP, lists the tools and calls each one with
// realistic arguments, and validates every structuredContent against the tool's outputSchema
// (JSON Schema 2020-12, with Ajv). Exits non-zero on the first problem.
//   node check.mjs http://127.0.0.1:PORT/mcp/http
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import Ajv2020 from "ajv/dist/2020.js";
import assert from "node:assert/strict";

const url = process.argv[2];
if (!url) {
  console.error("usage: node check.mjs MCP_URL");
  process.exit(2);
}

const client = new Client({ name: "prodlink-sdk-check", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(url)));
const info = client.getServerVersion();
assert.equal(info.name, "prodlink");
console.log(`connected to ${info.name} ${info.version}, protocol ${client.transport.protocolVersion ?? "?"}`);

const { tools } = await client.listTools();
const names = tools.map((t) => t.name);
assert.deepEqual(names, [
  "ping", "validate_gtin", "resolve_gtin", "lookup_product", "search_products",
  "get_product_detail", "compare_products", "check_availability", "generate_qr_url",
]);
const ajv = new Ajv2020({ strict: false, allErrors: true });
const validators = {};
for (const t of tools) {
  assert.ok(t.title && t.description && t.inputSchema && t.outputSchema, `${t.name}: incomplete definition`);
  assert.ok(!(t.annotations?.readOnlyHint && t.annotations?.destructiveHint), `${t.name} is read-only and destructive`);
  validators[t.name] = ajv.compile(t.outputSchema);
  ajv.compile(t.inputSchema);
}

async function call(name, args) {
  const result = await client.callTool({ name, arguments: args });
  assert.ok(!result.isError, `${name}: isError`);
  assert.equal(result.content[0].type, "text");
  const validate = validators[name];
  if (!validate(result.structuredContent)) {
    throw new Error(`${name}: structuredContent does not match outputSchema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(result.structuredContent)}`);
  }
  if (name !== "ping") {
    assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent, `${name}: text block differs`);
  }
  return result.structuredContent;
}

const pong = await client.callTool({ name: "ping", arguments: {} });
assert.equal(pong.content[0].text, "pong");
await call("ping", {});
assert.equal((await call("validate_gtin", { gtin: "614141123452" })).normalized, "00614141123452");
assert.equal((await call("validate_gtin", { gtin: "614141123453" })).valid, false);

const search = await call("search_products", { query: "dark chocolate", limit: 10, geo_lat: 36.33, geo_lng: -94.12 });
assert.ok(search.items.length > 0, "search found nothing");
const stocked = search.items.find((i) => i.price_min !== null) ?? search.items[0];
const gtin = stocked.gtin;
const filtered = await call("search_products", { query: "chocolate", filters: { country_of_origin: "US" }, limit: 5 });
assert.ok(filtered.items.every((i) => i.country_of_origin === "US"));

const lookup = await call("lookup_product", { gtin });
assert.equal(lookup.found, true);
assert.equal((await call("lookup_product", { gtin: "9506000134352" })).found, false);
const detail = await call("get_product_detail", { gtin });
assert.equal(detail.found, true);
assert.ok(detail.hosted_page_url.endsWith(`/01/${gtin}`));
const resolved = await call("resolve_gtin", { gtin, link_type: "gs1:pip" });
assert.equal(resolved.destination_type, "HOSTED_PAGE");
const cmp = await call("compare_products", { gtins: [gtin, "00614141999999", "9506000134352"] });
assert.deepEqual(cmp.items.map((i) => i.found), [true, false, false]);
const avail = await call("check_availability", { gtin, lat: 36.33, lng: -94.12, radius_km: 500 });
assert.equal(avail.total, avail.locations.length);

// Errors arrive as JSON-RPC errors carrying an RFC 9457 problem document.
try {
  await client.callTool({ name: "compare_products", arguments: { gtins: [gtin] } });
  assert.fail("compare_products with one GTIN succeeded");
} catch (e) {
  assert.equal(e.code, -32101, String(e));
  assert.equal(e.data?.error_code, "validation_error");
  assert.equal(e.data?.errors?.[0]?.field, "gtins");
}

// generate_qr_url needs the qr:generate scope: anonymous calls get the step-up answer.
try {
  await client.callTool({ name: "generate_qr_url", arguments: { gtin } });
  assert.fail("generate_qr_url worked without authorization");
} catch (e) {
  assert.match(String(e), /403|-32002|insufficient_scope|Forbidden/i, String(e));
}

await client.close();
console.log(`ok: ${tools.length} tools listed, every tool called, every structuredContent matched its outputSchema`);
