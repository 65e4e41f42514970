"""Which way a file's positions count: a declared ``coordinate_system`` (a GWAS-SSF ``-meta.yaml``, a loci file's
``##coordinate_system=`` line or column) read as 0-based (positions read + 1), 1-based (as they stand) or not
declared (1-based, the GWAS-SSF default); the one rule summary statistics and every loci reader share."""

from __future__ import annotations

import logging
import re

import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.sumstats.write import meta_path
from edfgen.formats.tables import PathLike

log = logging.getLogger(__name__)

#: values that declare nothing: the GWAS Catalog's ``NR`` (not reported; ``CoordinateSystemEnum`` of
#: gwas-sumstats-tools, whose harmoniser copies it into ``-meta.yaml``), YAML's null spellings and an empty value
NOT_DECLARED = frozenset({"", "nr", "null", "~"})

#: the places already warned about declaring nothing (said once each)
_SAID_NOT_DECLARED: set[str] = set()


def meta_field(path: PathLike, key: str) -> str | None:
    """The value of ``key`` (``genome_assembly``, ``coordinate_system``) in the GWAS-SSF metadata beside
    ``path`` (``<file>-meta.yaml``, a flat ``key: value`` line): ``None`` without the file or the key, ``""``
    for a key without a value (never the next line's text).

    Parameters
    ----------
    path : str or Path
        The data file (its ``-meta.yaml`` is read).
    key : str
        The metadata key.

    Returns
    -------
    str or None
    """
    meta = meta_path(path)
    if not meta.is_file():
        return None
    try:
        text = meta.read_text(errors="replace")
    except OSError as exc:                      # review s33a F4: one line, not a traceback or a "cannot write"
        raise InputError(f"{meta}: cannot be read ({exc.strerror or exc})") from exc
    m = re.search(rf"^{re.escape(key)}:[ \t]*['\"]?([^'\"\s]*)", text, re.MULTILINE)   # ([ \t]: not the next line)
    return m.group(1) if m else None


def _declared(base: str) -> str:
    """The pattern of a ``coordinate_system`` value naming ``base`` (``0|zero``): ``0-based`` and its spellings
    (``zero_based``, ``0based``, BED's ``0-based half-open``), the bare ``0`` and ``base-0`` (not ``01``)."""
    return rf"(?:(?:{base})(?:[-_ ]?based\b|$)|base[-_ ]?(?:{base})$)"


def coordinate_declaration(value: str | None, where: str) -> bool | None:
    """What a declared ``coordinate_system`` value says: True for 0-based (``0-based``, ``zero-based``, BED's
    ``0-based half-open``, a bare ``0``, ``base-0``), False for 1-based (``1-based``, ``one-based``, ``1``,
    ``base-1``), None for no declaration (``None``,
    a missing cell, and :data:`NOT_DECLARED`: ``NR``, ``null``, ``~``, empty; the last four warned about once per
    ``where``: read as 1-based, the GWAS-SSF default).

    Parameters
    ----------
    value : str or None
        The declared value.
    where : str
        What declared it, for the warning and the error (names the file).

    Returns
    -------
    bool or None

    Raises
    ------
    InputError
        For any other value (which way to read the positions cannot be told).
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip().strip("'\"").lower()
    if text in NOT_DECLARED:
        if where not in _SAID_NOT_DECLARED:
            _SAID_NOT_DECLARED.add(where)
            log.warning("%s declares coordinate_system %r (not reported): positions read as 1-based (the GWAS-SSF "
                        "default)", where, str(value))
        return None
    if re.match(_declared("0|zero"), text):
        return True
    if re.match(_declared("1|one"), text):
        return False
    raise InputError(f"{where} declares coordinate_system {value!r}: give 0-based or 1-based")


def zero_based(value: str | None, where: str) -> bool:
    """Whether a declared ``coordinate_system`` value says 0-based (:func:`coordinate_declaration`; not
    declared: 1-based).

    Parameters
    ----------
    value : str or None
        The declared value (a GWAS-SSF ``-meta.yaml`` ``coordinate_system``, a ``##coordinate_system=`` line).
    where : str
        What declared it, for the error (names the file).

    Returns
    -------
    bool

    Raises
    ------
    InputError
        For a value other than 0-based, 1-based or not declared.
    """
    return bool(coordinate_declaration(value, where))


def declares_zero_based(path: PathLike) -> bool:
    """Whether the GWAS-SSF metadata beside ``path`` declares ``coordinate_system: 0-based``: its positions are
    then read + 1 (GWAS-SSF, VCF and the genotype panels are 1-based); another value than 0-based, 1-based or
    not declared is an :class:`InputError` naming the metadata file (:func:`coordinate_declaration`).

    Parameters
    ----------
    path : str or Path
        The data file (its ``-meta.yaml`` is read).

    Returns
    -------
    bool
    """
    return zero_based(meta_field(path, "coordinate_system"), str(meta_path(path)))

