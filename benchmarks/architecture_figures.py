"""Issue 18's figures, read from the code: import cycles, upward imports, module sizes, duplicates.

Usage::

    python benchmarks/architecture_figures.py [TREE ...]   # default: this checkout
    python benchmarks/architecture_figures.py /path/to/before /path/to/after --out benchmarks/results/architecture.json

For each tree: the import graph of ``edfgen`` (every ``import``/``from ... import`` of an edfgen
module, inside functions too), its strongly connected components (import cycles), the imports
that point to a higher layer (``ARCH_RANKS``), the largest modules, the count of function-level
imports, and the number of pairs the ``duplicates`` tool reports. Ranks, low to high::

    edfgen (root: version constants only), exceptions, progress < kernels < formats < plots
    < engines < model, simulate < commands < pipeline, report < cli, edfgen/__main__

For a tree laid out before the renovation (``genetics/``, ``io/``, ``ecg/``, ``mr/``) the upward
count is not defined (the layers did not exist) and is reported as ``null``.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

ARCH_RANKS = [
    (0, ("edfgen.exceptions", "edfgen.progress")),
    (1, ("edfgen.kernels",)),
    (2, ("edfgen.formats",)),
    (3, ("edfgen.plots",)),
    (4, ("edfgen.engines",)),
    (5, ("edfgen.model", "edfgen.simulate")),
    (6, ("edfgen.commands",)),
    (7, ("edfgen.pipeline", "edfgen.report")),
    (8, ("edfgen.cli", "edfgen.__main__")),
]


def rank(module: str) -> int | None:
    if module == "edfgen":      # the root package: version constants only, imports nothing
        return 0
    for r, prefixes in ARCH_RANKS:
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return r
    return None


def modules(tree: Path) -> dict[str, tuple[Path, bool]]:
    out = {}
    for p in sorted((tree / "edfgen").rglob("*.py")):
        parts = list(p.relative_to(tree).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (p, is_pkg)
    return out


def import_graph(tree: Path):
    mods = modules(tree)

    def resolve(cur: str, is_pkg: bool, node) -> set[str]:
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            if node.level:
                base = cur.split(".")
                if not is_pkg:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names = [mod] + [f"{mod}.{a.name}" for a in node.names]
        found = set()
        for n in names:
            if not n.startswith("edfgen"):
                continue
            parts = n.split(".")
            for k in range(len(parts), 0, -1):
                if ".".join(parts[:k]) in mods:
                    found.add(".".join(parts[:k]))
                    break
        return found

    graph, n_top, n_func = {}, 0, 0
    for m, (p, is_pkg) in mods.items():
        tree_ = ast.parse(p.read_text())
        top = {id(n) for n in tree_.body}
        deps = set()
        for node in ast.walk(tree_):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                r = resolve(m, is_pkg, node)
                if r:
                    n_top += id(node) in top
                    n_func += id(node) not in top
                deps |= r
        deps.discard(m)
        graph[m] = deps
    return mods, graph, n_top, n_func


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

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
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def figures(tree: Path) -> dict:
    mods, graph, n_top, n_func = import_graph(tree)
    layered = (tree / "edfgen" / "kernels").is_dir()
    upward = []
    if layered:
        for a, deps in graph.items():
            for b in deps:
                ra, rb = rank(a), rank(b)
                if ra is not None and rb is not None and rb > ra:
                    upward.append(f"{a} -> {b}")
    sizes = sorted(((sum(1 for _ in open(p)), m) for m, (p, _) in mods.items()), reverse=True)
    dup = subprocess.run(["duplicates", "--repo", str(tree / "edfgen"), "--seconds", "120"],
                         capture_output=True, text=True).stdout
    m = re.match(r"(\d+) pairs", dup) or re.match(r"no duplicates", dup)
    n_dup = int(m.group(1)) if m and m.groups() else 0
    return {
        "tree": str(tree),
        "modules": len(mods),
        "imports_top_level": n_top,
        "imports_in_functions": n_func,
        "import_cycles": len(cycles(graph)),
        "cycles": cycles(graph),
        "upward_imports": sorted(upward) if layered else None,
        "n_upward_imports": len(upward) if layered else None,
        "largest_modules": [{"module": m, "lines": n} for n, m in sizes[:8]],
        "modules_over_600_lines": [m for n, m in sizes if n > 600],
        "duplicates_pairs": n_dup,
        "duplicates_output": dup.strip().splitlines(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs="*", type=Path, default=[Path(__file__).resolve().parents[1]])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    res = [figures(t.resolve()) for t in args.trees]
    for r in res:
        print(f"{r['tree']}: {r['modules']} modules, cycles {r['import_cycles']}, upward {r['n_upward_imports']}, "
              f"imports in functions {r['imports_in_functions']} (top {r['imports_top_level']}), largest "
              f"{r['largest_modules'][0]['module']} {r['largest_modules'][0]['lines']} lines, >600: "
              f"{len(r['modules_over_600_lines'])}, duplicates pairs {r['duplicates_pairs']}")
        for c in r["cycles"]:
            print("   cycle:", " <-> ".join(c))
        for u in (r["upward_imports"] or []):
            print("   upward:", u)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
