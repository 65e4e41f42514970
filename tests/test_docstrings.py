"""The public functions a statistical geneticist calls from a notebook (the ``run_*`` entry points of annotate,
coloc, finemap and ldsc, and the statistical kernels) document every parameter and what they return in numpydoc
form (review s33: most had a summary line only). The parsing is that of the brief's ``docgap.py``: a
``Parameters`` section whose unindented lines name the parameters (``a, b : type`` names both), and a ``Returns``
(or ``Yields``) section wherever the function returns a value."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap

import pytest

MODULES = [
    "edfgen.commands.annotate", "edfgen.commands.coloc", "edfgen.commands.finemap", "edfgen.commands.ldsc",
    "edfgen.commands.ldsc_inputs",
    "edfgen.kernels.mr.methods", "edfgen.kernels.mr.sensitivity", "edfgen.kernels.mr.multivariable",
    "edfgen.kernels.mr.harmonise", "edfgen.kernels.mr.points",
    "edfgen.kernels.susie", "edfgen.kernels.coloc", "edfgen.kernels.ldsc", "edfgen.kernels.ldsc_batch",
    "edfgen.kernels.ldscore", "edfgen.kernels.lmm", "edfgen.kernels.clump", "edfgen.kernels.pvalues",
    "edfgen.kernels.association",
    "edfgen.kernels.covariates",
]
_SECTION = r"\n(Returns|Yields|Raises|Notes|Examples|References|See Also|Attributes|Warnings)\n-+"


def public_functions(module):
    """``(name, function)`` of the public functions defined in ``module`` (not imported into it)."""
    return [(name, obj) for name, obj in vars(module).items()
            if not name.startswith("_") and inspect.isfunction(obj) and obj.__module__ == module.__name__]


def documented_parameters(doc: str) -> set[str] | None:
    """Names on the unindented lines of the ``Parameters`` section (None when there is none)."""
    if "Parameters\n----------" not in doc:
        return None
    sec = re.split(_SECTION, doc.split("Parameters\n----------", 1)[1])[0]
    names = set()
    for line in sec.splitlines():
        if line and not line.startswith(" "):
            for part in line.split(":")[0].split(","):
                names.add(part.strip().lstrip("*"))
    return names


def returns_value(func) -> bool:
    """Whether the function's own body (not a nested function's) has ``return <value>`` or ``yield``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    stack = list(tree.body[0].body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            return True
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def gaps(module) -> list[str]:
    """One line per undocumented parameter or return value of ``module``'s public functions."""
    out = []
    for name, func in public_functions(module):
        doc = inspect.getdoc(func) or ""
        params = [p for p in inspect.signature(func).parameters if p not in ("self", "cls") and not p.startswith("_")]
        where = f"{module.__name__}.{name}"
        if params:
            names = documented_parameters(doc)
            if names is None:
                out.append(f"{where}: no Parameters section (parameters {', '.join(params)})")
            else:
                out += [f"{where}: parameter {p!r} not in its Parameters section" for p in params if p not in names]
        if returns_value(func) and not re.search(r"\n(Returns|Yields)\n-+", doc):
            out.append(f"{where}: returns a value but has no Returns section")
    return out


@pytest.mark.parametrize("name", MODULES)
def test_public_functions_document_parameters_and_returns(name):
    missing = gaps(importlib.import_module(name))
    assert not missing, f"{len(missing)} docstring gap(s):\n" + "\n".join(missing)


def test_the_check_finds_a_missing_parameter_and_return():
    """The parsing itself: an entry ``a, b : float`` documents both; an absent one and a missing Returns are named."""
    import types

    mod = types.ModuleType("fake_mod")
    src = textwrap.dedent('''
        def good(a, b, *, c=1, _private=None):
            """Summary.

            Parameters
            ----------
            a, b : float
                Two numbers.
            c : int
                Another.

            Returns
            -------
            float
            """
            return a + b + c

        def bad(a, b):
            """Summary.

            Parameters
            ----------
            a : float
                One number.
            """
            return a + b

        def bare(x):
            """Summary only."""
    ''')
    exec(compile(src, "fake_mod.py", "exec"), mod.__dict__)
    for f in ("good", "bad", "bare"):
        mod.__dict__[f].__module__ = "fake_mod"
    import linecache
    linecache.cache["fake_mod.py"] = (len(src), None, src.splitlines(True), "fake_mod.py")
    assert gaps(mod) == ["fake_mod.bad: parameter 'b' not in its Parameters section",
                         "fake_mod.bad: returns a value but has no Returns section",
                         "fake_mod.bare: no Parameters section (parameters x)"]
