"""Options and helpers shared by every CLI command (bio2zarr-style decorators)."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from edfgen.progress import configure_logging


def verbosity(func):
    """``-v/--verbose`` (repeatable) and ``-q/--quiet``; configures logging before the command runs."""

    @click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
    @click.option("-q", "--quiet", is_flag=True, help="Warnings only, no progress bars.")
    @functools.wraps(func)
    def wrapper(*args, verbose: int = 0, quiet: bool = False, **kwargs):
        configure_logging(-1 if quiet else verbose)
        return func(*args, **kwargs)

    return wrapper


force = click.option("--force", is_flag=True, help="Overwrite an existing non-empty output directory.")
threads = click.option("--threads", type=click.IntRange(min=1), default=None,
                       help="Worker threads (default: all cores).")
#: seeds feed numpy, torch and msprime: non-negative and < 2**32 (RandomState's range)
SEED_TYPE = click.IntRange(min=0, max=2**32 - 1)
seed = click.option("--seed", type=SEED_TYPE, default=0, show_default=True, help="Random seed (results are deterministic by seed).")


def out_dir(required: bool = True, help: str = "Output directory."):
    return click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=required, help=help)


def out_file(required: bool = True, help: str = "Output file."):
    return click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=required, help=help)


def existing_path(**kw):
    return click.Path(exists=True, path_type=Path, **kw)


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

    def get_help_record(self, ctx):
        saved = self.opts
        self.opts = saved[:1]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = saved
