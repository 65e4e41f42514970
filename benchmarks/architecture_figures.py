"""Issue 18's figures, read from the code: import cycles, upward imports, module sizes, duplicates.

Usage::

    python benchmarks/architecture_figures.py [TREE ...]   # default: this checkout
    python benchmarks/architecture_figures.py /path/to/before /path/to/after --out benchmarks/results/architecture_figures.json

For each tree: the import graph of ``edfgen`` (every ``import``/``from ... import`` of an edfgen module,
inside functions too), its import cycles, the imports that point to a higher room, the largest modules,
the count of function-level imports, and the number of pairs the ``duplicates`` tool reports. The graph,
the rooms and their ranks are the wall tests' own (``tests/test_architecture.py``: ``import_graph``,
``cycles``, ``rank``), loaded from this checkout, so the figures and the tests apply one rule. For a tree
laid out before the renovation (``genetics/``, ``io/``, ``ecg/``, ``mr/``) the upward count is not
defined (the rooms did not exist) and is reported as ``null``.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import re
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("architecture_walls", HERE.parent / "tests" / "test_architecture.py")
walls = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(walls)


def function_level_imports(tree: Path) -> tuple[int, int]:
    """(top-level, function-level) import statements of edfgen modules in ``tree``."""
    top = inner = 0
    for p in (tree / walls.PACKAGE).rglob("*.py"):
        module = ast.parse(p.read_text())
        body = {id(n) for n in module.body}
        for node in ast.walk(module):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(walls.PACKAGE) \
                    or isinstance(node, ast.Import) and any(a.name.startswith(walls.PACKAGE) for a in node.names):
                top += id(node) in body
                inner += id(node) not in body
    return top, inner


def figures(tree: Path) -> dict:
    mods, graph = walls.modules(tree), walls.import_graph(tree)
    layered = (tree / walls.PACKAGE / "kernels").is_dir()
    upward = sorted(f"{a} -> {b}" for a, deps in graph.items() for b in deps
                    if b != walls.PACKAGE and None not in (walls.rank(a), walls.rank(b))
                    and walls.rank(b) > walls.rank(a)) if layered else None
    sizes = sorted(((sum(1 for _ in open(p)), m) for m, (p, _) in mods.items()), reverse=True)
    dup = subprocess.run(["duplicates", "--repo", str(tree / walls.PACKAGE), "--seconds", "120"],
                         capture_output=True, text=True).stdout
    m = re.match(r"(\d+) pairs", dup)
    top, inner = function_level_imports(tree)
    found = walls.cycles(graph)
    return {
        "tree": str(tree), "modules": len(mods), "imports_top_level": top, "imports_in_functions": inner,
        "import_cycles": len(found), "cycles": found,
        "upward_imports": upward, "n_upward_imports": None if upward is None else len(upward),
        "largest_modules": [{"module": m_, "lines": n} for n, m_ in sizes[:8]],
        "modules_over_600_lines": [m_ for n, m_ in sizes if n > walls.MAX_LINES],
        "duplicates_pairs": int(m.group(1)) if m else 0, "duplicates_output": dup.strip().splitlines(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs="*", type=Path, default=[HERE.parent])
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
        for u in r["upward_imports"] or []:
            print("   upward:", u)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
