"""The walls of the house (issue 18): edfgen's layers, read from the code itself with ``ast``.

Ranks, low to high (a module may import only modules of its own rank or lower; within a rank, no
cycles): ``exceptions``, ``progress``, ``reprs`` (0) < ``kernels/`` (1) < ``formats/`` (2) < ``plots/`` (3) <
``engines/`` (4) < ``model/``, ``simulate/`` (5) < ``commands/`` (6) < ``pipeline``, ``report`` (7) <
``cli/`` and the package's ``__init__``/``__main__`` (8).

Every import counts, function-level ones included (a function-level import delays a heavy or
optional third-party dependency; it never hides a cycle). The package root ``edfgen/__init__.py``
holds constants only (``__version__``, ``DEFAULT_CHECKPOINT``) and imports nothing of edfgen
(:func:`test_package_root_imports_nothing_of_edfgen`); since Python runs it before any submodule
anyway, importing those constants from it is not an upward import.

Each test takes the repository root as a default argument so that
:func:`test_each_wall_test_fails_on_a_package_that_breaks_it` can run it on a small fake package
and see it fail, naming the offenders.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "edfgen"
MAX_LINES = 600

#: the rooms and their ranks (longest matching prefix wins)
RANKS = {
    "edfgen.exceptions": 0, "edfgen.progress": 0, "edfgen.reprs": 0,
    "edfgen.kernels": 1,
    "edfgen.formats": 2,
    "edfgen.plots": 3,
    "edfgen.engines": 4,
    "edfgen.model": 5, "edfgen.simulate": 5,
    "edfgen.commands": 6,
    "edfgen.pipeline": 7, "edfgen.report": 7, "edfgen.report_mr": 7, "edfgen.report_genetics": 7,
    "edfgen.pipeline_config": 7, "edfgen.pipeline_checks": 7,
    "edfgen.cli": 8, "edfgen.__main__": 8, "edfgen": 8,
}
#: the one module where the genome-wide significance threshold is written
THRESHOLDS_MODULE = "edfgen.kernels.thresholds"
#: calls that read files (builtin ``open`` and these attributes: pandas/numpy readers, Path reads)
FILE_READING_CALLS = {"read_csv", "read_table", "read_parquet", "read_fwf", "read_feather", "read_excel",
                      "read_hdf", "read_json", "fromfile", "memmap", "loadtxt", "genfromtxt",
                      "read_text", "read_bytes"}

# ----------------------------------------------------------------------------- reading the code

def _scratch(call: ast.Call) -> bool:
    """``np.memmap(..., mode="w+")``: a new scratch buffer (written before it is read), not an input."""
    return any(k.arg == "mode" and isinstance(k.value, ast.Constant) and k.value.value == "w+" for k in call.keywords)


def modules(root: Path = REPO) -> dict[str, tuple[Path, bool]]:
    """module name -> (file, is a package ``__init__``) of every ``.py`` under ``root/edfgen``."""
    out = {}
    for p in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(p.relative_to(root).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (p, is_pkg)
    return out


def _imported(name: str, is_pkg: bool, node: ast.Import | ast.ImportFrom, mods: dict) -> set[str]:
    """The edfgen modules an import statement of module ``name`` loads (longest module prefix of
    each imported name; ``from X import y`` loads X and, when it is a module, X.y)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = name.split(".") if is_pkg else name.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        names = [target] + [f"{target}.{a.name}" for a in node.names]
    found = set()
    for n in names:
        if not (n == PACKAGE or n.startswith(PACKAGE + ".")):
            continue
        parts = n.split(".")
        for k in range(len(parts), 0, -1):
            if ".".join(parts[:k]) in mods:
                found.add(".".join(parts[:k]))
                break
    return found


def import_graph(root: Path = REPO) -> dict[str, dict[str, int]]:
    """module -> {imported edfgen module: line of the first such import}, every import included."""
    mods = modules(root)
    graph: dict[str, dict[str, int]] = {}
    for name, (path, is_pkg) in mods.items():
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for dep in _imported(name, is_pkg, node, mods):
                    if dep != name:
                        edges.setdefault(dep, node.lineno)
        graph[name] = edges
    return graph


def rank(module: str) -> int | None:
    """The rank of ``module``'s room (:data:`RANKS`), ``None`` when it is in none."""
    parts = module.split(".")
    for k in range(len(parts), 0, -1):
        r = RANKS.get(".".join(parts[:k]))
        if r is not None and (k > 1 or module == PACKAGE):
            return r
    return None


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def _rel(root: Path, module: str) -> str:
    p, _ = modules(root)[module]
    return str(p.relative_to(root))


# ----------------------------------------------------------------------------- the walls

def test_no_import_cycles(root: Path = REPO):
    """(a) No import cycles, function-level imports included."""
    graph = import_graph(root)
    found = cycles(graph)
    lines = []
    for comp in found:
        edges = [f"{a} -> {b} (line {graph[a][b]})" for a in comp for b in sorted(graph[a]) if b in comp]
        lines.append(f"cycle {' <-> '.join(comp)}: " + "; ".join(edges))
    assert not found, f"{len(found)} import cycle(s):\n" + "\n".join(lines)


def test_nothing_imports_upward(root: Path = REPO):
    """(b) A module imports only modules of its own rank or lower (:data:`RANKS`)."""
    graph = import_graph(root)
    bad = []
    for a, deps in sorted(graph.items()):
        ra = rank(a)
        for b, line in sorted(deps.items()):
            rb = rank(b)
            if b == PACKAGE or ra is None or rb is None:
                continue                   # the constants-only root: see the module docstring
            if rb > ra:
                bad.append(f"{_rel(root, a)}:{line}: {a} (rank {ra}) imports {b} (rank {rb})")
    assert not bad, f"{len(bad)} upward import(s):\n" + "\n".join(bad)


def test_every_module_is_in_a_room(root: Path = REPO):
    """Every module belongs to one of the rooms of :data:`RANKS` (nothing outside the walls)."""
    outside = sorted(m for m in modules(root) if rank(m) is None)
    assert not outside, "module(s) in no room of the layout: " + ", ".join(outside)


def test_package_root_imports_nothing_of_edfgen(root: Path = REPO):
    """``edfgen/__init__.py`` holds constants only, so importing them from below is not upward."""
    deps = import_graph(root).get(PACKAGE, {})
    assert not deps, "edfgen/__init__.py imports " + ", ".join(f"{d} (line {n})" for d, n in sorted(deps.items()))


def test_kernels_import_no_formats_and_read_no_files(root: Path = REPO):
    """(c) Kernels: arrays in, arrays out. No ``edfgen.formats`` import and no file-reading call
    (builtin ``open``, :data:`FILE_READING_CALLS`; a ``memmap(..., mode="w+")`` scratch buffer, as
    ridge-loco's level-0 predictions spill to a temporary file beyond ``memory_limit``, reads nothing)."""
    graph = import_graph(root)
    bad = []
    for name, (path, _) in sorted(modules(root).items()):
        if rank(name) != RANKS["edfgen.kernels"]:
            continue
        rel = path.relative_to(root)
        for dep, line in sorted(graph[name].items()):
            if dep == "edfgen.formats" or dep.startswith("edfgen.formats."):
                bad.append(f"{rel}:{line}: {name} imports {dep}")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                f = node.func
                called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                if called == "memmap" and _scratch(node):
                    continue       # a scratch buffer spilled to a temporary file: memory, not an input
                if called == "open" and isinstance(f, ast.Name) or called in FILE_READING_CALLS:
                    bad.append(f"{rel}:{node.lineno}: {name} reads a file ({called}(...))")
    assert not bad, f"{len(bad)} kernel(s) touching files:\n" + "\n".join(bad)


def test_every_module_at_most_600_lines(root: Path = REPO):
    """(d) Every module under ``edfgen/`` has at most :data:`MAX_LINES` lines."""
    big = []
    for name, (path, _) in sorted(modules(root).items()):
        n = len(path.read_text().splitlines())
        if n > MAX_LINES:
            big.append(f"{path.relative_to(root)}: {n} lines")
    assert not big, f"{len(big)} module(s) over {MAX_LINES} lines:\n" + "\n".join(big)


def test_genome_wide_literal_only_in_thresholds(root: Path = REPO):
    """(e) The literal 5e-8 (a number, or a string holding just it) appears only in
    ``kernels/thresholds.py``; everything else uses ``GENOME_WIDE``."""
    bad = []
    for name, (path, _) in sorted(modules(root).items()):
        if name == THRESHOLDS_MODULE:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Constant):
                continue
            v = node.value
            number = isinstance(v, float) and v == 5e-8
            text = isinstance(v, str) and v.strip().lower() in ("5e-8", "5e-08", "5.0e-8", "5.0e-08", "0.00000005")
            if number or text:
                bad.append(f"{path.relative_to(root)}:{node.lineno}: {v!r}")
    assert not bad, f"5e-8 written outside {THRESHOLDS_MODULE} ({len(bad)}):\n" + "\n".join(bad)


# ----------------------------------------------------------------------------- the tests can fail

def _fake_package(tmp_path: Path) -> Path:
    """A tiny edfgen that breaks every wall once."""
    files = {
        "__init__.py": '__version__ = "0"\n',
        "exceptions.py": "class InputError(Exception):\n    pass\n",
        "kernels/__init__.py": "",
        "kernels/thresholds.py": "GENOME_WIDE = 5e-8\n",
        "kernels/bad.py": ("import numpy as np\n\n\ndef f(path):\n    from edfgen.formats import tables\n"
                           "    return np.fromfile(path)\n"),
        "formats/__init__.py": "",
        "formats/tables.py": "from edfgen.formats import manifest\n",
        "formats/manifest.py": "def g():\n    from edfgen.formats.tables import h\n",
        "formats/big.py": "x = 1\n" * (MAX_LINES + 1),
        "plots/__init__.py": "",
        "plots/thin.py": "from edfgen.commands import gwas\nTHRESHOLD = 5e-8\n",
        "commands/__init__.py": "",
        "commands/gwas.py": "from edfgen import __version__\nfrom edfgen.kernels.thresholds import GENOME_WIDE\n",
        "stray.py": "",
    }
    return _write_package(tmp_path, files)


def _write_package(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (path under ``edfgen/`` -> text) below ``root``; returns ``root``."""
    for rel, text in files.items():
        p = root / PACKAGE / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


@pytest.mark.parametrize("test, offenders", [
    (test_no_import_cycles, ["edfgen.formats.manifest <-> edfgen.formats.tables",
                             "edfgen.formats.manifest -> edfgen.formats.tables (line 2)"]),
    (test_nothing_imports_upward, ["edfgen/plots/thin.py:1: edfgen.plots.thin (rank 3) imports edfgen.commands.gwas",
                                   "edfgen.kernels.bad (rank 1) imports edfgen.formats.tables (rank 2)"]),
    (test_every_module_is_in_a_room, ["edfgen.stray"]),
    (test_kernels_import_no_formats_and_read_no_files, ["edfgen/kernels/bad.py:5: edfgen.kernels.bad imports "
                                                        "edfgen.formats", "bad.py:6: edfgen.kernels.bad reads a file"]),
    (test_every_module_at_most_600_lines, [f"edfgen/formats/big.py: {MAX_LINES + 1} lines"]),
    (test_genome_wide_literal_only_in_thresholds, ["edfgen/plots/thin.py:2: 5e-08"]),
])
def test_each_wall_test_fails_on_a_package_that_breaks_it(tmp_path, test, offenders):
    root = _fake_package(tmp_path)
    with pytest.raises(AssertionError) as err:
        test(root=root)
    for o in offenders:
        assert o in str(err.value), str(err.value)


def test_wall_tests_pass_on_a_package_that_keeps_them(tmp_path):
    """The same tests on a fake package that keeps every wall: nothing to report."""
    files = {
        "__init__.py": '__version__ = "0"\n',
        "exceptions.py": "",
        "kernels/__init__.py": "",
        "kernels/thresholds.py": "GENOME_WIDE = 5e-8\n",
        "kernels/ld.py": "import numpy as np\nfrom edfgen.kernels.thresholds import GENOME_WIDE\n",
        "formats/__init__.py": "",
        "formats/manifest.py": "from edfgen import __version__\nfrom edfgen.exceptions import InputError\n",
        "formats/tables.py": "from edfgen.formats.manifest import __version__\n",
        "commands/__init__.py": "",
        "commands/gwas.py": "def run():\n    from edfgen.formats import tables\n    from edfgen.kernels import ld\n",
    }
    _write_package(tmp_path, files)
    for test in (test_no_import_cycles, test_nothing_imports_upward, test_every_module_is_in_a_room,
                 test_package_root_imports_nothing_of_edfgen, test_kernels_import_no_formats_and_read_no_files,
                 test_every_module_at_most_600_lines, test_genome_wide_literal_only_in_thresholds):
        test(root=tmp_path)
