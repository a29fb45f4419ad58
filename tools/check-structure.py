#!/usr/bin/env python3
"""Checks the shape of every crate's `src/`: no hand-written module over 800 code lines, and no
cycle among a crate's top-level modules.

Code lines are the non-blank lines of a file outside its `#[cfg(test)] mod ... { }` block(s);
files that start with `// @generated` are skipped. A top-level module `a` imports `b` when any of
its files names `crate::b` (also inside `crate::{...}` groups). Prints every module's count and
each crate's import edges with `--verbose`; exits 1 on a violation.

Usage: tools/check-structure.py [--verbose] [--max N]
"""

import os
import re
import sys
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MAX_LINES = 800


def crates():
    """Every package directory with a `src/`: the root's and those under adapters/ and examples/."""
    candidates = [d for d in sorted(os.listdir(ROOT)) if os.path.isdir(os.path.join(ROOT, d))]
    for group in ("adapters", "examples"):
        candidates += [os.path.join(group, d) for d in sorted(os.listdir(os.path.join(ROOT, group)))]
    for base in candidates:
        if os.path.isfile(os.path.join(ROOT, base, "Cargo.toml")) and os.path.isdir(os.path.join(ROOT, base, "src")):
            yield base


def code_lines(text):
    lines = text.split("\n")
    count, i, depth, skipping = 0, 0, 0, False
    while i < len(lines):
        line = lines[i]
        if not skipping and line.strip() == "#[cfg(test)]" and i + 1 < len(lines) \
                and re.match(r"\s*(pub(\(\w+\))?\s+)?mod \w+ \{", lines[i + 1]):
            skipping, depth = True, 0
            i += 1
            continue
        if skipping:
            depth += line.count("{") - line.count("}")
            if depth <= 0 and "}" in line:
                skipping = False
        elif line.strip():
            count += 1
        i += 1
    return count


def sccs(nodes, edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
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
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    verbose = "--verbose" in sys.argv
    limit = int(sys.argv[sys.argv.index("--max") + 1]) if "--max" in sys.argv else MAX_LINES
    failures = []
    for crate in crates():
        src = os.path.join(ROOT, crate, "src")
        texts = defaultdict(list)
        for dirpath, _, files in os.walk(src):
            for name in sorted(files):
                if not name.endswith(".rs"):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, src)
                text = open(path, encoding="utf-8").read()
                top = rel.split(os.sep)[0].removesuffix(".rs")
                texts[top].append(text)
                if text.startswith("// @generated"):
                    continue
                n = code_lines(text)
                if verbose:
                    print(f"{n:6} {crate}/src/{rel}")
                if n > limit:
                    failures.append(f"{crate}/src/{rel}: {n} code lines (at most {limit})")
        modules = set(texts) - {"lib", "main"}
        edges = defaultdict(set)
        for module in modules:
            for text in texts[module]:
                named = set(re.findall(r"crate::(\w+)", text))
                for group in re.findall(r"crate::\{([^}]*)\}", text, re.S):
                    named |= set(re.findall(r"(?:^|[,{\s])(\w+)", group))
                edges[module] |= {m for m in named if m != module and m in modules}
        if verbose:
            for module in sorted(modules):
                print(f"  {crate}: {module} -> {', '.join(sorted(edges[module])) or '-'}")
        for cycle in sccs(modules, edges):
            failures.append(f"{crate}: a cycle among top-level modules: {' <-> '.join(cycle)}")
    for failure in failures:
        print(failure)
    print(f"check-structure: {len(failures)} violation(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
