#!/usr/bin/env python3
"""Lists import cycles between the top-level modules of each crate under crates/.

A module's dependencies are the other top-level modules of the same crate it names in
`crate::MODULE` paths (in `use` lines and in code), its submodules included. Unit tests
(`tests.rs` files, `#[cfg(test)] mod tests` blocks) are left out: they may reach anywhere. Exits
1 when any crate has a cycle, printing each strongly connected set of modules with one edge that
closes it, so the layering ARCHITECTURE.md describes stays one-way.

    scripts/module-cycles.py [--graph]   # --graph also prints every crate's module edges
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates")
CRATE_PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
# `use crate::{a, b::c}` groups.
GROUP = re.compile(r"\bcrate::\{([^}]*)\}", re.S)


def strip_tests(text):
    """The text without a trailing `#[cfg(test)] mod tests { ... }` block and without comments."""
    m = re.search(r"^#\[cfg\(test\)\]\s*\nmod tests \{", text, re.M)
    if m:
        text = text[: m.start()]
    return re.sub(r"//[^\n]*", "", text)


def modules_of(src):
    """Top-level module name -> list of its files (lib.rs/main.rs belong to the root, '')."""
    out = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs") or f == "tests.rs":
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), src)
            parts = rel[:-3].split(os.sep)
            top = parts[0]
            if top in ("lib", "main") and len(parts) == 1:
                top = ""
            if "tests" in parts[1:]:
                continue
            out.setdefault(top, []).append(os.path.join(dirpath, f))
    return out


def edges_of(files, names):
    deps = set()
    for path in files:
        text = strip_tests(open(path, encoding="utf-8").read())
        for m in CRATE_PATH.finditer(text):
            deps.add(m.group(1))
        for g in GROUP.finditer(text):
            for item in g.group(1).split(","):
                item = item.strip().split("::")[0].strip()
                if item:
                    deps.add(item)
    return {d for d in deps if d in names}


def sccs(graph):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def main():
    show = "--graph" in sys.argv
    failed = False
    for crate in sorted(os.listdir(ROOT)):
        src = os.path.join(ROOT, crate, "src")
        if not os.path.isdir(src):
            continue
        mods = modules_of(src)
        names = set(mods) - {""}
        graph = {m: sorted(edges_of(files, names) - {m}) for m, files in mods.items() if m}
        if show:
            for m in sorted(graph):
                print(f"{crate}: {m} -> {', '.join(graph[m]) or '-'}")
        for comp in sccs(graph):
            if len(comp) > 1:
                failed = True
                comp = sorted(comp)
                closing = [f"{a} -> {b}" for a in comp for b in graph[a] if b in comp]
                print(f"{crate}: cycle among {', '.join(comp)} (edges: {'; '.join(closing)})")
    if not failed:
        print("no import cycles between the top-level modules of any crate")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
