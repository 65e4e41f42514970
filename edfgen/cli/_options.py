"""Click options generated from the commands' options dataclasses, and the CLI's own ``-v``/``-q``.

:func:`options_from` turns the fields of a command's options class (``edfgen.commands.gwas.GwasOptions``, ...) into click
options (names, help, defaults, ranges, choices, flags, repeatable and hidden names: all read from the
field) and hands the command one ``options`` instance; nothing here writes a default or a range.
``-v``/``-q`` (:func:`verbosity`) is the CLI's own: logging, not an option of any command's run.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import typing
from pathlib import Path

import click

from edfgen.commands.options import (
    CommandOptions,
    GenotypeOptions,
    HailOptions,
    deprecated_value,
    genotype_field_names,
    hail_field_names,
)
from edfgen.progress import PROGRESS_MODES, configure_logging, warning_summary


def verbosity(func):
    """``-v/--verbose`` (repeatable), ``-q/--quiet`` and ``--progress``; configures logging before the
    command runs and ends it with a summary of the warnings logged on the way (stderr) when it finishes (an error
    stays one line: the warnings before it were logged as they came)."""

    @click.option("-v", "--verbose", count=True, help="Per-phenotype and per-file details (-vv: debug).")
    @click.option("-q", "--quiet", is_flag=True, help="Warnings only, no progress (the closing result line is still printed, on stdout).")
    @click.option("--progress", "progress_mode", type=click.Choice(PROGRESS_MODES), default=None,
                  help="Progress display: bar (terminal), log (a line every 30 s: done/total, rate, ETA), none; "
                       "auto (default: $EDFGEN_PROGRESS, else bar on a terminal, log otherwise).")
    @functools.wraps(func)
    def wrapper(*args, verbose: int = 0, quiet: bool = False, progress_mode: str | None = None, **kwargs):
        configure_logging(-1 if quiet else verbose, progress_mode)
        result = func(*args, **kwargs)
        summary = warning_summary()
        if summary:
            name = click.get_current_context().command_path
            click.echo(f"{name}: {len(summary)} warning(s) to check:", err=True)
            for msg, times in summary:
                click.echo(f"  - {msg}" + (f" (x{times})" if times > 1 else ""), err=True)
        return result

    return wrapper


def comma_list(ctx, param, value):
    """click callback: ``a,b,c`` -> ``["a", "b", "c"]`` (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = ",".join(value)
    return [v.strip() for v in value.split(",") if v.strip()]


class HiddenAliasOption(click.Option):
    """An option whose extra names (old spellings kept for scripts) work but are not shown in ``--help``:
    ``click.option("--covariates", "--covar-cols", "covar_cols", cls=HiddenAliasOption)``."""

    def __init__(self, *args, shown: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.shown = shown

    def get_help_record(self, ctx):
        saved = self.opts
        self.opts = saved[:self.shown]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = saved


# ----------------------------------------------------------------------------------------------- generation

class FiniteFloat(click.types.FloatParamType):
    """A number option that refuses ``nan`` and ``inf`` (click's float takes them, and ``nan`` passes every range
    check: ``coloc --p12 nan`` wrote a coloc.tsv of NA), as ``edfgen run`` refuses them in a TOML."""

    def convert(self, value, param, ctx):
        """``value`` as a float, or click's one-line usage error when it is not a finite number."""
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return rv


class FiniteFloatRange(FiniteFloat, click.FloatRange):
    """:class:`click.FloatRange` of finite numbers (see :class:`FiniteFloat`)."""


def _click_type(hint, meta: dict):
    """The click type of a field: its choices, range, path kind or plain type."""
    args = typing.get_args(hint)
    if args and type(None) in args:
        hint = next(a for a in args if a is not type(None))
    if typing.get_origin(hint) in (tuple, list):
        hint = str
    path = meta.get("path")
    # text: any string; checkpoint: a shipped name or a path; prefix: a path kept as typed (a trailing "/" says folder)
    if path and path not in ("text", "checkpoint", "prefix"):
        return click.Path(exists=bool(meta.get("exists")), file_okay=path != "dir", dir_okay=path != "file",
                          path_type=Path)
    if meta.get("choices"):
        return click.Choice(list(meta["choices"]))
    lo, hi = meta.get("range") or (None, None)
    if hint in (int, float) and meta.get("cli_range", True) and (lo is not None or hi is not None):
        lo_open, hi_open = meta.get("open") or (False, False)
        rng = click.IntRange if hint is int else FiniteFloatRange
        return rng(min=lo, max=hi, min_open=lo_open, max_open=hi_open)
    return FiniteFloat() if hint is float else int if hint is int else None


def _click_param(f: dataclasses.Field, hint):
    """The click option (or argument) of one dataclass field."""
    meta = dict(f.metadata)
    ctype = _click_type(hint, meta)
    if meta.get("argument"):
        return click.argument(f.name, nargs=-1, type=ctype)
    names = list(meta.get("cli") or ("--" + f.name.replace("_", "-"),))
    hidden = list(meta.get("hidden") or ())
    kw = {"help": meta.get("help"), "required": bool(meta.get("required"))}
    default = f.default
    if hint is bool:
        if meta.get("secondary"):
            names[0] = f"{names[0]}/{meta['secondary']}"
            kw.update(default=default, show_default=True)
        else:
            kw["is_flag"] = True
    else:
        if meta.get("comma"):
            kw["callback"] = comma_list
            default = ",".join(default) if default else None
        elif meta.get("multiple"):
            kw["multiple"] = True
            default = None
        if ctype is not None:
            kw["type"] = ctype
        if meta.get("metavar"):
            kw["metavar"] = meta["metavar"]
        if default is not None:
            kw.update(default=default, show_default=True)
    if hidden or len(names) > 1:
        kw.update(cls=HiddenAliasOption, shown=len(names))
    return click.option(*names, *hidden, f.name, **kw)


def _deprecated_param(f: dataclasses.Field):
    """The hidden older option that maps onto ``f`` (``--genome-assembly``)."""
    alias = f.metadata["deprecated"]
    return click.option(alias, alias.lstrip("-").replace("-", "_"), hidden=True, default=None,
                        type=click.Choice([*f.metadata["choices"], "NR"]), help=f"Deprecated: use --{f.name.replace('_', '-')}.")


def cli_fields(cls: type[CommandOptions]) -> list[dataclasses.Field]:
    """The fields of ``cls`` that are command-line options, in ``--help`` order: a genotype command's
    block of :class:`GenotypeOptions` (less ``cli_omit``) comes first or after ``genotypes_after``, and
    the block of :class:`HailOptions` last."""
    fields = list(dataclasses.fields(cls))
    if issubclass(cls, HailOptions):
        hail = set(hail_field_names())
        fields = [f for f in fields if f.name not in hail] + [f for f in fields if f.name in hail]
    if not issubclass(cls, GenotypeOptions):
        return fields
    geno = set(genotype_field_names())
    block = [f for f in fields if f.name in geno and f.name not in cls.cli_omit]
    own = [f for f in fields if f.name not in geno]
    if cls.genotypes_after is None:
        return block + own
    at = [f.name for f in own].index(cls.genotypes_after) + 1
    return own[:at] + block + own[at:]


def options_from(cls: type[CommandOptions]):
    """Decorator: the click options of every field of ``cls`` (``--help`` order of :func:`cli_fields`);
    the command function is called with one ``options`` (a ``cls``) in their place.

    A comma list becomes a tuple, and a field's deprecated alias (``--genome-assembly``) warns and is
    merged by :func:`edfgen.commands.options.deprecated_value`."""
    hints = typing.get_type_hints(cls)
    fields = cli_fields(cls)
    params = [_click_param(f, hints[f.name]) for f in fields]
    deprecated = [f for f in fields if f.metadata.get("deprecated")]
    params += [_deprecated_param(f) for f in deprecated]

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            values = {f.name: kwargs.pop(f.name) for f in fields}
            values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
            ctx = click.get_current_context()
            for f in deprecated:
                alias = f.metadata["deprecated"]
                given = kwargs.pop(alias.lstrip("-").replace("-", "_"))
                name = "--" + f.name.replace("_", "-")
                if given is not None:
                    click.echo(f"edfgen {ctx.info_name}: warning: {alias} is deprecated; use {name}", err=True)
                explicit = ctx.get_parameter_source(f.name) == click.core.ParameterSource.COMMANDLINE
                values[f.name] = deprecated_value(name, values[f.name], alias, given, explicit=explicit)
            return func(*args, cls(**values), **kwargs)

        for p in reversed(params):
            wrapper = p(wrapper)
        return wrapper

    return decorator


#: options naming a per-participant table (IID + columns): two of them are joined on IID into one file
TABLE_OPTIONS = frozenset({"pheno", "covar", "biomarkers"})


def check_repeated_options(cmd: click.Command, args: list[str]) -> None:
    """Refuse an option that takes one value given more than once (``--covar a.tsv --covar b.tsv``: click
    keeps the last one silently, and the error that follows names the wrong file).

    Raises
    ------
    click.UsageError
        One line naming the option and how often it was given.
    """
    single = {}
    for p in cmd.params:
        if isinstance(p, click.Option) and not (p.multiple or p.is_flag or p.count):
            single.update({name: p for name in (*p.opts, *p.secondary_opts)})
    seen: dict[str, list[str]] = {}
    for token in args:
        if token == "--":
            break
        p = single.get(token.split("=", 1)[0]) if token.startswith("--") else single.get(token)
        if p is not None:
            seen.setdefault(p.name, []).append(token.split("=", 1)[0])
    for given in seen.values():
        if len(given) > 1:
            join = ("; several tables: join them on IID into one file"      # --pheno, --covar (not --loci,
                    if single[given[0]].name in TABLE_OPTIONS else "")     # --extract, --catalog: review s34a)
            raise click.UsageError(f"{given[0]} is given {len(given)} times and takes one value: give it once{join}")

