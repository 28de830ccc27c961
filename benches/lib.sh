# Sourced by the benchmark scripts: strict mode, the repository as working directory, the
# release binary's path, a work directory removed on exit together with every server whose pid
# is in `pids`, and the benchmark PostgreSQL (scripts/pg.sh on port 54349, stopped on exit).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${CARGO_TARGET_DIR:-target}/release/prodlink"
work="$(mktemp -d)"
pids=()
pg_port=54349
pg_started=""
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$pg_started" ]; then scripts/pg.sh stop "$pg_port"; fi
  rm -rf "$work"
}
trap bench_cleanup EXIT

# Installs wrk when it is missing (Debian).
need_wrk() {
  command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y -q wrk >/dev/null; }
}

# Starts the benchmark PostgreSQL (kept between runs: its databases survive a stop).
bench_pg() {
  scripts/pg.sh start "$pg_port" >/dev/null
  pg_started=1
}

# The median of the numbers in a file (one per line).
median_of() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Distinct search queries, shuffled with fixed seeds:
#   $work/queries.txt   — the 2–3 leading words of the 85k subset's product names, lower-cased
#                         (their number in `total`);
#   $work/questions.txt — shoppers' questions of 3–7 words made from the same names ("do you
#                         have organic tomato soup", "gluten free oat cookies for kids please"),
#                         none repeated (their number in `total_questions`);
#   $work/shopper.txt   — the relevance benchmark's 199 queries (benches/relevance/queries.jsonl).
bench_queries() {
gzip -dc data/demo/off-2018-subset.tsv.gz | tail -n +2 | cut -f2 | python3 -c '
import random, re, sys
seen, out = set(), []
names = []
for i, line in enumerate(sys.stdin):
    words = re.findall(r"[^\W\d_]{2,}", line.lower())
    if len(words) < 2:
        continue
    names.append(words)
    q = " ".join(words[: 2 + i % 2])
    if q not in seen:
        seen.add(q)
        out.append(q)
random.Random(6).shuffle(out)
with open(sys.argv[1], "w") as f:
    f.write("\n".join(out) + "\n")
rng = random.Random(20)
templates = ["do you have {}", "{} please", "looking for {}", "any {} without sugar",
             "organic {}", "{} for kids", "gluten free {}", "where can i buy {}",
             "cheap {} near me", "i need some {}", "{} for breakfast", "vegan {} snack"]
qs, seen = [], set()
for words in names:
    q = rng.choice(templates).format(" ".join(words[: rng.choice((1, 2, 3))]))
    if q not in seen and 3 <= len(q.split()) <= 7:
        seen.add(q)
        qs.append(q)
rng.shuffle(qs)
with open(sys.argv[2], "w") as f:
    f.write("\n".join(qs) + "\n")' "$work/queries.txt" "$work/questions.txt"
python3 -c '
import json, sys
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        if line.strip():
            out.write(json.loads(line)["query"] + "\n")' benches/relevance/queries.jsonl "$work/shopper.txt"
total="$(wc -l <"$work/queries.txt")"
total_questions="$(wc -l <"$work/questions.txt")"
}

# Starts `prodlink serve --demo` on database $1 (rate limits off; pid added to `pids`), sets
# `base` to its address, and waits until the lexical and semantic indexes are complete
# (`start`: when the wait began).
serve_indexed_demo() {
  local url="$1"
"$bin" --database "$url" serve --demo --addr 127.0.0.1:0 \
  --rate-limit-anonymous 0 --rate-limit-client 0 >"$work/out" 2>"$work/log" &
pids+=($!)
for _ in $(seq 600); do grep -q "listening on" "$work/out" 2>/dev/null && break; sleep 0.2; done
base="$(sed -n 's/^listening on //p' "$work/out")"
[ -n "$base" ] || { echo "prodlink did not start:"; cat "$work/log"; exit 1; }
start=$(date +%s)
until curl -sf "$base/mcp/health" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)["search"]
sem = s["semantic"]
sys.exit(0 if s["index_coverage"]["complete"] and s["lexical"]["pending"] == 0 and sem and sem["pending"] == 0 else 1)' 2>/dev/null; do
  [ $(($(date +%s) - start)) -lt 900 ] || { echo "the catalog was not indexed within 15 minutes"; tail "$work/log"; exit 1; }
  sleep 1
done
}
