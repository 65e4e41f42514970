"""Command-line interface: ``edfgen <command>``.

A thin layer: each command's click options are generated from its options dataclass
(``edfgen.commands.<command>.<Command>Options``, by :func:`edfgen.cli._options.options_from`), and the
command calls that module's ``run(options)``, the same call ``edfgen run`` makes for a pipeline
stage, then prints one summary line. Commands are loaded lazily so ``edfgen --help`` and light commands do not import torch or Hail.
Errors: an :class:`~edfgen.exceptions.EdfgenError` is printed as one line
(``edfgen <command>: error: ...``) with exit code 2 for bad input and 1 for failures; click's own usage
errors (an option's file that does not exist, a value out of its range, an unknown option) are one line too,
``Error: --pheno: file 'x.tsv' does not exist (try 'edfgen gwas -h')``, exit code 2 (:func:`usage_error_line`).
"""

from __future__ import annotations

import _io
import atexit
import errno
import gc
import importlib
import os
import re
import sys
import threading

import click

from edfgen import __version__
from edfgen.exceptions import ENVIRONMENT_ERRNOS, EdfgenError, environment_error

#: command name -> "module:attribute" (modules under edfgen.cli)
COMMANDS = {
    "simulate": "edfgen.cli.simulate:simulate",
    "extract": "edfgen.cli.extract:extract",
    "pretrain": "edfgen.cli.model:pretrain",
    "finetune": "edfgen.cli.model:finetune",
    "evaluate": "edfgen.cli.model:evaluate",
    "interpret": "edfgen.cli.extract:interpret",
    "model": "edfgen.cli.model:model",
    "gwas": "edfgen.cli.genetics:gwas",
    "pca": "edfgen.cli.genetics:pca",
    "clump": "edfgen.cli.loci:clump",
    "annotate": "edfgen.cli.loci:annotate",
    "catalog": "edfgen.cli.loci:catalog",
    "mr": "edfgen.cli.mr:mr",
    "ldsc": "edfgen.cli.post:ldsc",
    "finemap": "edfgen.cli.post:finemap",
    "coloc": "edfgen.cli.post:coloc",
    "run": "edfgen.cli.pipeline:run",
    "demo": "edfgen.cli.pipeline:demo",
}


#: numpy scalar reprs (``np.int64(3)``, ``np.str_('a')``) that must never reach a user's error line
_NUMPY_REPR = re.compile(r"\bnp\.(?:u?int\d*|float\d*|complex\d*|str_|bytes_|bool_?|datetime64|timedelta64)\(([^()]*)\)")


def usage_error_line(exc: click.UsageError) -> str:
    """Click's usage error as one line, without its ``Usage:`` and ``Try ...`` lines: the option, then what is
    wrong with its value (``Error: --pheno: file 'x.tsv' does not exist (try 'edfgen gwas -h')``)."""
    text = exc.format_message()
    if isinstance(exc, click.BadParameter) and not isinstance(exc, click.MissingParameter) \
            and (exc.param_hint is not None or exc.param is not None):
        hint = exc.param_hint if exc.param_hint is not None else exc.param.get_error_hint(exc.ctx)
        hint = (hint if isinstance(hint, str) else " / ".join(hint)).replace("'", "")
        msg = exc.message.rstrip(".")
        if msg.startswith(("File ", "Directory ", "Path ")):      # click.Path: "File 'x' does not exist."
            msg = msg[0].lower() + msg[1:]
        gone = re.fullmatch(r"(\w+) '(.*)' does not exist", msg)
        if gone and os.path.islink(gone[2]):      # a symlink loop or a dangling link: "does not exist" misleads
            target = os.readlink(gone[2])
            try:
                os.stat(gone[2])
                loop = False
            except OSError as err:        # ELOOP: the links loop; ENOENT: a link of the chain leads nowhere
                loop = err.errno == errno.ELOOP
            if not loop and os.path.islink(os.path.join(os.path.dirname(gone[2]), target)):   # a chain of links
                target = os.path.realpath(gone[2])
            msg = (f"{gone[1]} '{gone[2]}' is a symbolic link that leads nowhere ("
                   + ("the links loop)" if loop else f"its target {target!r} does not exist)"))
        text = f"{hint}: {msg}"
    if text.startswith("Got unexpected extra argument"):   # most often a glob the shell expanded after an option
        text += ("; an option takes one path each and an unquoted glob (gwas/*.tsv.gz) gives it several: pass the "
                 "folder, or repeat the option for each file")
    where = f" (try '{exc.ctx.command_path} -h')" if exc.ctx is not None else ""
    return f"Error: {' '.join(text.split()).rstrip('.')}{where}"


def _one_line(exc: click.UsageError) -> click.UsageError:
    """``exc``, shown by click (standalone mode: then exit code 2) as :func:`usage_error_line`; click's "no
    arguments: show the help" (``edfgen``, ``edfgen model``: a usage error since click 8.2) keeps its help."""
    if isinstance(exc, getattr(click.exceptions, "NoArgsIsHelpError", ())):
        return exc
    exc.show = lambda file=None: click.echo(usage_error_line(exc), file=file, err=file is None)
    return exc


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use; click's usage errors are one line."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:                        # the group's own options (edfgen --bogus)
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = []
        for name, target in COMMANDS.items():
            module = target.split(":")[0]
            if importlib.util.find_spec(module) is not None:
                names.append(name)
        return sorted(names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        if importlib.util.find_spec(module) is None:
            return None
        return getattr(importlib.import_module(module), attr, None)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None and not ctx.resilient_parsing:     # (shell completion parses partial lines)
            from edfgen.cli._options import check_repeated_options

            check_repeated_options(cmd, rest)
        return name, cmd, rest

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:     # a subcommand's options (parsed here): one line
            raise _one_line(exc) from None
        except EdfgenError as exc:
            sub = ctx.invoked_subcommand or "edfgen"
            msg = _NUMPY_REPR.sub(r"\1", " ".join(str(exc).split("\n")))  # np.int64(3) -> 3
            click.echo(f"edfgen {sub}: error: {msg}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:      # disk full, read-only, permission denied outside an atomic write
            if exc.errno not in ENVIRONMENT_ERRNOS:
                raise
            err = environment_error(exc)      # "cannot be read" (rc 2) or "cannot write" (rc 1): review s33a F4
            click.echo(f"edfgen {ctx.invoked_subcommand or 'edfgen'}: error: {err}", err=True)
            ctx.exit(err.exit_code)
        finally:        # the text of the streams it read (a FIFO filled again is read again, memory given back)
            from edfgen.formats.textio import forget_streams

            forget_streams()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="edfgen")
def cli() -> None:
    """edfgen: 12-lead ECGs to genetic discoveries (ECG encoder -> EDFs -> GWAS -> loci -> MR)."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: runs the command, then ends the process (see :func:`exit_now`)."""
    try:
        cli.main(args=argv, prog_name="edfgen")
    except SystemExit as exc:
        exit_now(exc)
        raise


def exit_now(exc: SystemExit) -> None:
    """End the process at once with ``exc``'s exit code, skipping the interpreter's teardown.

    Tearing down the modules a command imported (numpy, pandas, scipy, matplotlib: ~10^5 objects)
    took 0.20-0.23 CPU-s after every command, more than plink2's whole small GWAS run
    (``benchmarks/results/gwas_fixed_costs_s20.json``). What teardown would do for the command's results is
    done here first: the :mod:`atexit` handlers (logging's flush, temporary-directory clean-up,
    multiprocessing and Hail's shutdown), the buffers of any file still open are flushed (flushed, not
    closed: a compressed stream left open gets no trailer, as teardown would not reliably give it one
    either; edfgen's outputs are written atomically and closed by the commands themselves), then standard
    output and error are flushed. Returns
    (the caller re-raises ``exc``: a normal exit) where the shortcut is not safe: another non-daemon
    thread still running (its work would be cut off), a non-integer exit code, a flush that fails, or a
    caller inside pytest (the process is not the command's to end).
    """
    code = exc.code
    if code is not None and not isinstance(code, int):
        return
    if "pytest" in sys.modules:
        return
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if any(t.is_alive() for t in others):
        return
    atexit._run_exitfuncs()
    # a file left open: its buffers written out, as teardown's close would (text wrappers first, then the
    # binary files under them); the C base classes, not the io ABCs, so the scan is ~10 ms, not ~50. type(), not
    # isinstance: isinstance reads __class__, which raises ReferenceError on a weakref.proxy whose object is gone
    # (sktime/numba leave such proxies; the file a live proxy points to is in get_objects itself), and torch's
    # deprecated torch.distributed.reduce_op printed a FutureWarning when read
    gc.unfreeze()   # objects a caller froze (gc.freeze) are invisible to get_objects
    opened = [o for o in gc.get_objects() if issubclass(type(o), _io._IOBase) and o not in (sys.stdout, sys.stderr)]
    for obj in sorted(opened, key=lambda o: not isinstance(o, _io._TextIOBase)):
        try:
            if not obj.closed:
                obj.flush()
        except Exception:  # noqa: BLE001 - a stream that cannot flush is left as it is
            pass
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
