"""Latency of search_products through MCP for a list of queries, each sent once, one at a time,
over one keep-alive HTTP connection: p50, p95 and the slowest, in milliseconds.
    python3 benches/shopper_latency.py BASE_URL QUERIES_FILE LABEL
"""
import http.client
import json
import sys
import time
from urllib.parse import urlparse

base, path, label = sys.argv[1], sys.argv[2], sys.argv[3]
url = urlparse(base)
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
           "MCP-Protocol-Version": "2025-11-25"}
times, failures = [], 0
for q in (line.strip() for line in open(path)):
    if not q:
        continue
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "search_products", "arguments": {"query": q, "limit": 10}}})
    start = time.perf_counter()
    conn.request("POST", "/mcp/http", body, headers)
    res = conn.getresponse()
    data = res.read()
    times.append((time.perf_counter() - start) * 1000)
    if res.status != 200 or b'"error"' in data[:200] or b'"isError":true' in data:
        failures += 1
times.sort()
pick = lambda p: times[min(len(times) - 1, round((len(times) - 1) * p))]
print(f"RESULT {label}: {len(times)} queries once each, one at a time: p50_ms={pick(0.5):.1f} "
      f"p95_ms={pick(0.95):.1f} max_ms={times[-1]:.1f} failures={failures}")
