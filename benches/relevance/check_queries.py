#!/usr/bin/env python3
"""Check the relevance query set for `search_products` against Open Food Facts' own labels.

Reads benches/relevance/queries.jsonl and the demo's 1,000-product OFF sample
(data/demo/off-sample-1000.tsv.gz), both relative to the repository root, applies every
query's rule and prints, per query, how many judged products are relevant and a few of
their names, then a summary per class. Standard library only.

A product is JUDGED when its categories_tags holds at least one real tag (not empty, not
en:null). relevant(p) = judged(p)
    AND (categories_any empty OR p.categories_tags ∩ categories_any ≠ ∅)
    AND (labels_all empty OR labels_all ⊆ p.labels_tags)
    AND (labels_any empty OR p.labels_tags ∩ labels_any ≠ ∅)
    AND (brands_any empty OR p.brands_tags ∩ brands_any ≠ ∅)

Exit status: 0 when every line is well-formed and every query has at least one relevant
product; 1 otherwise (every problem is listed on stderr).

    python3 benches/relevance/check_queries.py            # per-query report + summary
    python3 benches/relevance/check_queries.py -q         # summary and problems only
    python3 benches/relevance/check_queries.py -n 0 -v    # every relevant product, with tags
"""
import argparse
import csv
import gzip
import json
import os
import re
import statistics
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_QUERIES = os.path.join(ROOT, "benches", "relevance", "queries.jsonl")
DEFAULT_DATA = os.path.join(ROOT, "data", "demo", "off-sample-1000.tsv.gz")

CLASSES = ["category", "attribute", "brand", "need", "multilingual", "misspelling"]
RULE_KEYS = ["categories_any", "labels_all", "labels_any", "brands_any"]
ALLOWED_KEYS = {"id", "class", "query", "note"} | set(RULE_KEYS)
ID_RE = re.compile(r"^q\d{3,}$")
TAXONOMY_TAG_RE = re.compile(r"^[a-z]{2}:[^\s,]+$")  # en:snacks, fr:pates-a-tartiner
BRAND_TAG_RE = re.compile(r"^(?:[a-z]{2}:)?[^\s,:]+$")  # lindt, xx:lindt
MAX_RELEVANT_WARN = 120


def tag_set(value):
    if not value or value == "Null":
        return frozenset()
    return frozenset(t.strip() for t in value.split(",") if t.strip() and t.strip() != "en:null")


def load_products(path):
    csv.field_size_limit(sys.maxsize)
    products = []
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            cats = tag_set(row.get("categories_tags"))
            if not cats:
                continue  # not judged
            name = row.get("product_name")
            products.append({
                "code": row.get("code"),
                "name": "" if name in (None, "Null") else name,
                "categories": cats,
                "labels": tag_set(row.get("labels_tags")),
                "brands": tag_set(row.get("brands_tags")),
            })
    return products


def is_relevant(q, p):
    cats, lab_all, lab_any, brands = (q.get(k) or [] for k in RULE_KEYS)
    if cats and not (p["categories"] & set(cats)):
        return False
    if lab_all and not set(lab_all) <= p["labels"]:
        return False
    if lab_any and not (p["labels"] & set(lab_any)):
        return False
    if brands and not (p["brands"] & set(brands)):
        return False
    return True


def validate(lineno, q, seen_ids, known, problems):
    where = f"line {lineno}"
    if not isinstance(q, dict):
        problems.append(f"{where}: not a JSON object")
        return False
    ok = True
    extra = set(q) - ALLOWED_KEYS
    if extra:
        problems.append(f"{where}: unknown keys {sorted(extra)}")
        ok = False
    qid = q.get("id")
    if not isinstance(qid, str) or not ID_RE.match(qid):
        problems.append(f"{where}: bad id {qid!r}")
        ok = False
    elif qid in seen_ids:
        problems.append(f"{where}: duplicate id {qid}")
        ok = False
    else:
        expected = f"q{len(seen_ids) + 1:03d}"
        if qid != expected:
            problems.append(f"{where}: id {qid} out of order (expected {expected})")
            ok = False
        seen_ids.add(qid)
    if q.get("class") not in CLASSES:
        problems.append(f"{where}: bad class {q.get('class')!r}")
        ok = False
    if not isinstance(q.get("query"), str) or not q["query"].strip():
        problems.append(f"{where}: missing query text")
        ok = False
    if "note" in q and not isinstance(q["note"], str):
        problems.append(f"{where}: note must be a string")
        ok = False
    any_rule = False
    for key in RULE_KEYS:
        v = q.get(key, [])
        if not isinstance(v, list) or not all(isinstance(t, str) for t in v):
            problems.append(f"{where}: {key} must be a list of strings")
            ok = False
            continue
        if len(set(v)) != len(v):
            problems.append(f"{where}: {key} has duplicates")
            ok = False
        any_rule = any_rule or bool(v)
        pattern = BRAND_TAG_RE if key == "brands_any" else TAXONOMY_TAG_RE
        field = {"categories_any": "categories", "brands_any": "brands"}.get(key, "labels")
        for t in v:
            if not pattern.match(t):
                problems.append(f"{where}: {key} tag {t!r} is not an OFF tag")
                ok = False
            elif t not in known[field]:
                problems.append(f"{where}: {key} tag {t!r} occurs on no judged product (typo?)")
                ok = False
    if not any_rule:
        problems.append(f"{where}: no rule (every judged product would be relevant)")
        ok = False
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", default=DEFAULT_QUERIES)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("-n", "--names", type=int, default=5, help="relevant names shown per query (0 = all)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show tags next to names")
    ap.add_argument("-q", "--quiet", action="store_true", help="summary and problems only")
    args = ap.parse_args()

    products = load_products(args.data)
    known = {
        "categories": set().union(*(p["categories"] for p in products)),
        "labels": set().union(*(p["labels"] for p in products)),
        "brands": set().union(*(p["brands"] for p in products)),
    }
    problems, warnings, per_class, seen_ids = [], [], {}, set()
    queries = []
    with open(args.queries, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                problems.append(f"line {lineno}: empty line")
                continue
            try:
                q = json.loads(line)
            except json.JSONDecodeError as e:
                problems.append(f"line {lineno}: invalid JSON ({e})")
                continue
            if validate(lineno, q, seen_ids, known, problems):
                queries.append(q)

    texts = {}
    for q in queries:
        rel = [p for p in products if is_relevant(q, p)]
        n = len(rel)
        per_class.setdefault(q["class"], []).append(n)
        key = q["query"].strip().lower()
        if key in texts:
            warnings.append(f"{q['id']}: same query text as {texts[key]}")
        texts[key] = q["id"]
        if n == 0:
            problems.append(f"{q['id']}: no relevant product ({q['query']!r})")
        elif n > MAX_RELEVANT_WARN:
            warnings.append(f"{q['id']}: {n} relevant products (> {MAX_RELEVANT_WARN}, weakly discriminative)")
        if args.quiet:
            continue
        print(f"{q['id']} [{q['class']}] {n:3d}  {q['query']}")
        rule = "  ".join(f"{k}={q[k]}" for k in RULE_KEYS if q.get(k))
        print(f"      {rule}")
        shown = rel if args.names == 0 else rel[: args.names]
        for p in shown:
            extra = ""
            if args.verbose:
                extra = f"  | {','.join(sorted(p['brands']))} | {','.join(sorted(p['labels']))}"
            print(f"        - {p['name'][:70]}{extra}")
        if len(shown) < n:
            print(f"        … {n - len(shown)} more")

    print()
    print(f"{'class':<13} {'queries':>7} {'min':>5} {'median':>7} {'max':>5}")
    total = []
    for c in CLASSES:
        counts = per_class.get(c, [])
        total += counts
        if counts:
            print(f"{c:<13} {len(counts):>7} {min(counts):>5} {statistics.median(counts):>7g} {max(counts):>5}")
        else:
            print(f"{c:<13} {0:>7} {'-':>5} {'-':>7} {'-':>5}")
    if total:
        print(f"{'all':<13} {len(total):>7} {min(total):>5} {statistics.median(total):>7g} {max(total):>5}")
    print(f"judged products: {len(products)}")
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
