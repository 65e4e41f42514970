"""Logging set-up, progress reporting and the end-of-command warning summary shared by the library and the CLI.

Progress modes (``--progress`` on every command, or the ``EDFGEN_PROGRESS`` environment variable; the
option wins): ``bar`` a tqdm bar on stderr; ``log`` one log line per long step every
:data:`LOG_INTERVAL` seconds (``done/total``, rate, ETA), for batch jobs whose stderr goes to a file;
``none`` nothing; ``auto`` (default) a bar when stderr is a terminal, else log lines. ``-q`` turns
progress off. ``EDFGEN_PROGRESS=1``/``0`` are kept as ``bar``/``none``.

Warnings (log records at WARNING or above) are also kept, so that a command ends with a summary of
what went wrong (:func:`warning_summary`) instead of leaving it buried in the log.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Iterable, TypeVar


T = TypeVar("T")

logger = logging.getLogger("edfgen")

#: the values of ``--progress`` / ``EDFGEN_PROGRESS``
PROGRESS_MODES = ("auto", "bar", "log", "none")
#: seconds between two progress log lines (``log`` mode)
LOG_INTERVAL = 30.0

_QUIET = False
_MODE: str | None = None


class _Collector(logging.Handler):
    """Keeps the text of every warning (and error) record, for :func:`warning_summary`."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:  # noqa: BLE001 - a malformed record must not break the command
            self.messages.append(str(record.msg))


_COLLECTOR = _Collector()


def configure_logging(verbosity: int = 0, progress_mode: str | None = None) -> None:
    """Configure the ``edfgen`` logger.

    Parameters
    ----------
    verbosity
        ``-1`` quiet (warnings only, no progress), ``0`` info (one line per step), ``>= 1`` debug
        (per-phenotype and per-file details).
    progress_mode
        One of :data:`PROGRESS_MODES`; ``None`` reads ``EDFGEN_PROGRESS`` (default ``auto``).
    """
    global _QUIET, _MODE
    _QUIET = verbosity < 0
    _MODE = progress_mode
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    _COLLECTOR.messages.clear()
    logger.handlers[:] = [handler, _COLLECTOR]
    logger.setLevel(level)
    logger.propagate = False


def progress_mode() -> str:
    """The progress mode in force: ``bar``, ``log`` or ``none`` (``auto`` resolved against stderr)."""
    if _QUIET:
        return "none"
    mode = _MODE or os.environ.get("EDFGEN_PROGRESS", "auto").strip().lower() or "auto"
    mode = {"1": "bar", "0": "none", "true": "bar", "false": "none"}.get(mode, mode)
    if mode not in PROGRESS_MODES:
        mode = "auto"
    if mode == "auto":
        return "bar" if sys.stderr.isatty() else "log"
    return mode


def warning_summary() -> list[tuple[str, int]]:
    """The warnings logged since :func:`configure_logging`, each once, with how often it was logged."""
    counts: dict[str, int] = {}
    for m in _COLLECTOR.messages:
        counts[m] = counts.get(m, 0) + 1
    return list(counts.items())


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


class LogProgress:
    """A progress counter that logs ``desc: done/total unit (rate/s, ETA ...)`` at most every
    ``interval`` seconds (nothing for a step shorter than that), with tqdm's ``update``/``close``/iteration."""

    def __init__(self, iterable=None, *, total: int | None = None, desc: str = "", unit: str = "it",
                 interval: float = LOG_INTERVAL, clock=time.monotonic):
        self.iterable, self.desc, self.unit, self.interval, self.clock = iterable, desc or "progress", unit, interval, clock
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total, self.n = total, 0
        self.start = self.last = clock()

    def line(self) -> str:
        """The progress line for the current count."""
        dt = max(self.clock() - self.start, 1e-9)
        rate = self.n / dt
        done = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        eta = (f", ETA {_duration((self.total - self.n) / rate)}" if self.total and rate > 0 and self.n < self.total
               else "")
        return f"{self.desc}: {done} {self.unit} ({rate:.3g} {self.unit}/s, {_duration(dt)} elapsed{eta})"

    def update(self, n: int = 1) -> None:
        self.n += n
        now = self.clock()
        if now - self.last >= self.interval:
            self.last = now
            logger.info(self.line())

    def close(self) -> None:
        pass

    def set_postfix_str(self, *args, **kwargs) -> None:
        pass

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "",
             unit: str = "it"):
    """Progress of a long step on stderr in the mode of :func:`progress_mode` (a tqdm bar, periodic
    log lines or nothing)."""
    mode = progress_mode()
    if mode == "log":
        return LogProgress(iterable, total=total, desc=desc, unit=unit)
    from tqdm.std import tqdm  # not tqdm.auto: it imports asyncio (and ssl) in every command

    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=mode == "none", file=sys.stderr,
                dynamic_ncols=True, leave=False)
