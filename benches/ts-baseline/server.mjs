// Baseline for benches/mcp.sh: the smallest stateless Streamable HTTP MCP server the official
// TypeScript SDK supports (a new server and transport per request, as the SDK's stateless
// example does), with one validate_gtin tool doing the same GS1 check-digit validation and
// returning structured content like prodlink's.
//   node server.mjs PORT
import http from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

function validate(input) {
  const digits = input.trim().replace(/[ -]/g, "");
  const length = digits.length;
  if (!/^\d+$/.test(digits)) return { valid: false, error: "non-digit", normalized: null, length, warning: null };
  if (![8, 12, 13, 14].includes(length)) return { valid: false, error: "bad length", normalized: null, length, warning: null };
  const padded = digits.padStart(14, "0");
  let sum = 0;
  for (let i = 0; i < 13; i++) sum += Number(padded[12 - i]) * (i % 2 === 0 ? 3 : 1);
  const expected = (10 - (sum % 10)) % 10;
  if (expected !== Number(padded[13])) return { valid: false, error: `expected ${expected}`, normalized: null, length, warning: null };
  return { valid: true, error: null, normalized: padded, length, warning: null };
}

function makeServer() {
  const server = new McpServer({ name: "ts-baseline", version: "1.0.0" });
  server.registerTool(
    "validate_gtin",
    {
      title: "Validate a GTIN barcode",
      description: "Checks a GTIN's length and check digit.",
      inputSchema: { gtin: z.string() },
      outputSchema: {
        valid: z.boolean(), error: z.string().nullable(), normalized: z.string().nullable(),
        length: z.number(), warning: z.string().nullable(),
      },
    },
    async ({ gtin }) => {
      const out = validate(gtin);
      return { content: [{ type: "text", text: JSON.stringify(out) }], structuredContent: out };
    },
  );
  return server;
}

const port = Number(process.argv[2] ?? 18300);
http
  .createServer(async (req, res) => {
    if (req.method !== "POST") {
      res.writeHead(405).end();
      return;
    }
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    const server = makeServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => {
      transport.close();
      server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  })
  .listen(port, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${port}`));
