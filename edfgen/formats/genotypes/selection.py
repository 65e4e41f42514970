"""Which genotype files, samples and variants an analysis uses: ``{chr}`` templates, ``--chr`` lists,
``--keep``/``--remove`` id lists and ``--extract`` variant lists (text files and the rows they select)."""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.chromosomes import chromosomes_selected
from edfgen.formats.genotypes.base import WITHDRAWN_ID, GenotypeReader, log_withdrawn, withdrawn_samples
from edfgen.formats.tables import ID_ALIASES
from edfgen.formats.textio import read_text_bytes

log = logging.getLogger(__name__)

#: chromosomes a ``{chr}`` template is expanded over when ``--chr`` is not given
TEMPLATE_CHROMOSOMES = tuple(str(i) for i in range(1, 23)) + ("X", "XY", "Y", "MT")


def parse_chromosomes(spec: str | Sequence[str] | None) -> list[str] | None:
    """``--chr 1-3,5,X`` -> ``["1", "2", "3", "5", "X"]`` (``chr`` prefixes dropped; None stays None)."""
    if spec is None:
        return None
    items = spec.split(",") if isinstance(spec, str) else [s for v in spec for s in str(v).split(",")]
    out: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        item = re.sub("^chr", "", item)
        m = re.fullmatch(r"(\d+)-(\d+)", item)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if a > b:
                raise InputError(f"--chr {item}: empty range")
            out.extend(str(i) for i in range(a, b + 1))
        elif re.fullmatch(r"\d+", item):
            out.append(str(int(item)))      # 01 is chromosome 1 (UK Biobank's BGEN names)
        elif re.fullmatch(r"X|Y|XY|MT|M|PAR[12]", item, flags=re.I):
            out.append(item.upper())
        else:
            raise InputError(f"--chr {item!r}: not a chromosome (1-22, X, Y, XY, MT, or ranges like 1-22)")
    return list(dict.fromkeys(out))


#: the other spelling of a sex or mitochondrial chromosome in a file name (PLINK's numbers): ``--chr 23`` finds
#: ``chrX`` files and ``--chr X`` ``chr23`` files (review s32d F6)
TEMPLATE_ALIASES = {"X": "23", "23": "X", "Y": "24", "24": "Y", "MT": "26", "26": "MT"}


def template_path(template: str, chromosome: str, suffixes: Sequence[str] = ("",)) -> str | None:
    """The file of ``chromosome`` named by a ``{chr}`` template, spelled ``1`` or, for 1-9, ``01`` (UK Biobank-style
    names such as ``ukb_imp_chr01.bgen``), X, Y and MT also as PLINK's 23, 24 and 26 and the other way round
    (:data:`TEMPLATE_ALIASES`); ``None`` when none exists (with every suffix)."""
    spellings = (chromosome, f"0{chromosome}") if len(chromosome) == 1 and chromosome.isdigit() else (chromosome,)
    spellings += tuple(TEMPLATE_ALIASES[c] for c in spellings if c in TEMPLATE_ALIASES)
    found = [f for f in dict.fromkeys(template.replace("{chr}", c) for c in spellings)
             if all(Path(f + s).exists() for s in suffixes)]
    if len(found) > 1:
        raise InputError(f"{template}: both {found[0] + suffixes[0]} and {found[1] + suffixes[0]} exist for chromosome "
                         f"{chromosome}: which one? give the files by name")
    return found[0] if found else None


def expand_template(paths: Sequence[str], *, option: str, chromosomes: Sequence[str] | None,
                    suffixes: Sequence[str] = ("",)) -> list[tuple[str, str | None]]:
    """Expand ``{chr}`` templates: ``[(path, chromosome or None)]`` in the order given.

    With ``chromosomes`` every listed chromosome's file must exist; without, the template is
    expanded over 1-22, X, XY, Y, MT and the files that exist are used (at least one). Chromosomes 1-9 may be
    spelled ``01``-``09`` in the file names (:func:`template_path`); the chromosome returned is ``1``-``9``.
    ``suffixes`` are the extensions whose existence is checked (``.bed`` for a prefix).
    """
    out: list[tuple[str, str | None]] = []
    for p in paths:
        p = str(p)
        if "{chr}" not in p:
            out.append((p, None))
            continue
        found = []
        for c in (chromosomes or TEMPLATE_CHROMOSOMES):
            f = template_path(p, c, suffixes)
            if f is not None:
                found.append((f, c))
            elif chromosomes:
                raise InputError(f"{option} {p}: {p.replace('{chr}', c) + suffixes[0]} not found (chromosome {c} "
                                 "of --chr)")
        if not found:
            raise InputError(f"{option} {p}: no file matches the template for chromosomes "
                             f"{', '.join(chromosomes or ['1-22', 'X', 'XY', 'Y', 'MT'])}")
        out.extend(found)
    return out


def _text_lines(path: Path, what: str) -> list[str]:
    """Lines of a ``--keep``/``--remove``/``--extract`` file: gzip allowed (a truncated stream is refused),
    a UTF-8 byte-order mark dropped (it would glue itself to the first id), bytes that are not UTF-8 text
    refused naming the line."""
    data = read_text_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data[:start].count(b"\n") + 1
        raise InputError(f"{what} {path}:{line}: not UTF-8 text (byte offset {start})") from None
    return re.split(r"\r\n|\r|\n", text)    # old-Mac lone "\r" line ends too (not Unicode's other separators)


def _id_fields(lines: list[str]) -> list[tuple[int, list[str]]]:
    """``(line number, fields)`` of the non-blank ``lines`` of an id table, split as the first line is
    delimited: tabs, else commas (CSV quoting read, UK Biobank's ``eid,...`` tables), else runs of blanks."""
    numbered = [(i, ln) for i, ln in enumerate(lines, 1) if ln.strip()]
    if not numbered:
        return []
    first = numbered[0][1]
    if "\t" in first:
        return [(i, [_unquoted(f) for f in ln.split("\t")]) for i, ln in numbered]
    if "," in first:
        return [(i, [f.strip() for f in row]) for i, row in zip((i for i, _ in numbered),
                                                                 csv.reader(ln for _, ln in numbered))]
    return [(i, [_unquoted(f) for f in ln.split()]) for i, ln in numbered]


def _unquoted(field: str) -> str:
    """``field`` without blanks around it and without one pair of enclosing double quotes (R's ``write.csv`` and
    ``write.table`` quote character ids: ``"1234"``; review s32h F3)."""
    f = field.strip()
    return f[1:-1] if len(f) >= 2 and f[0] == f[-1] == '"' else f


def read_id_list(path: str | Path, *, what: str = "--keep") -> set[str]:
    """Participant ids of a ``--keep``/``--remove`` file.

    Accepted: one id per line; PLINK's ``FID IID`` (two columns, the second is used); or a table
    with a header naming the participant id as a phenotype table may (``IID``, ``#IID``, ``eid``, ``ID_2``,
    ``participant.eid``, ...: :data:`~edfgen.formats.tables.ID_ALIASES`). Columns are separated by tabs, commas
    (a CSV such as UK Biobank's ``eid,...`` export, quotes read) or blanks, as the first line is (review
    s32d F4: a CSV was one column that matched no sample, so ``--remove`` removed no one, silently).
    Gzip allowed; every line must have as many fields as the first (``file:line`` otherwise).
    """
    path = Path(path)
    numbered = _id_fields(_text_lines(path, what))
    if not numbered:
        raise InputError(f"{what} {path}: empty")
    width = len(numbered[0][1])
    bad = next(((i, r) for i, r in numbered if len(r) != width), None)
    if bad is not None:                           # a short or long row: never silently skipped
        raise InputError(f"{what} {path}:{bad[0]}: {len(bad[1])} fields, the first line has {width}")
    rows = [r for _, r in numbered]
    head = [h.lstrip("#") for h in rows[0]]
    for key in dict.fromkeys(a.lstrip("#") for a in ID_ALIASES):
        if key in head:
            j = head.index(key)
            if len(rows) == 1:      # was an empty set: --keep "left no sample of g", --remove silent
                raise InputError(f"{what} {path}: header {rows[0][j]!r} and no ids")
            return {r[j] for r in rows[1:] if len(r) > j}
    if head[0] in ("FID",) and len(head) > 1:
        return {r[1] for r in rows[1:] if len(r) > 1}
    return {r[1] if len(r) > 1 else r[0] for r in rows}


def check_listed(listed: set[str], sample_ids, path, *, what: str, label: str) -> None:
    """An id list's match with the genotype samples ``sample_ids`` (of ``label``): an error naming the file when
    none of its ids is a sample, a warning when fewer than half are (a wrong column or id format), both with
    example ids of each side. UK Biobank's withdrawn participants (negative ids) are not counted. A ``--remove``
    list (``what``) that matches no sample is a warning only, as in plink2 (a withdrawal or exclusion list made on
    the whole biobank often names nobody of a sub-cohort; review s32h F2), and one that matches few is normal.

    Raises
    ------
    InputError
        No id of a ``--keep`` ``path`` is a genotype sample.
    """
    listed = {i for i in listed if not re.fullmatch(WITHDRAWN_ID, i)}
    if not listed:
        return
    samples = [s for s in map(str, sample_ids) if not re.fullmatch(WITHDRAWN_ID, s)]
    found = listed & set(samples)
    absent = ", ".join(repr(i) for i in sorted(listed - found)[:3])
    theirs = f"; the samples' ids look like {samples[0]!r}" if samples else ""
    if not found and what == "--remove":   # (a withdrawal list made on a whole biobank, run on a sub-cohort)
        log.warning("%s %s: none of its %d ids is a sample of %s: removed 0 samples (its ids: %s%s)", what, path,
                    len(listed), label, absent, theirs)
        return
    if not found:
        raise InputError(f"{what} {path}: none of its {len(listed)} ids is a sample of {label} (its ids: {absent}"
                         f"{theirs})")
    if 2 * len(found) < len(listed) and what != "--remove":
        log.warning("%s %s: only %d of its %d ids are samples of %s (not found: %s%s)", what, path, len(found),
                    len(listed), label, absent, theirs)


def read_variant_list(path: str | Path, *, what: str = "--extract") -> set[str]:
    """Variant ids of an ``--extract`` file: every whitespace-separated field, as plink 1.9 and plink2 read it (one
    line ``rs1 rs2 ... rs20`` is 20 ids: the first field of each line only extracted 1 variant silently; stop 39
    review, checked with plink2 and plink1.9 ``--extract``)."""
    path = Path(path)
    ids = {tok for ln in _text_lines(path, what) for tok in ln.split()}
    if not ids:
        raise InputError(f"{what} {path}: empty")
    return ids


def select_samples(reader: GenotypeReader, *, keep: str | Path | None = None,
                   remove: str | Path | None = None) -> np.ndarray:
    """Rows of ``reader.samples`` kept by ``--keep`` and not listed by ``--remove`` (file order), never a UK Biobank
    withdrawn participant (a negative id, :func:`~edfgen.formats.genotypes.base.withdrawn_samples`: logged)."""
    iids = reader.samples["IID"]
    ok = ~withdrawn_samples(iids)
    log_withdrawn(getattr(reader, "sample", None) or reader.label, int((~ok).sum()))
    if keep is not None:
        ids = read_id_list(keep, what="--keep")
        check_listed(ids, iids, keep, what="--keep", label=reader.label)
        listed = iids.isin(ids).to_numpy()
        if (listed & ~ok).any():      # a user who asked for them by name is told, not only in the INFO line
            log.warning("%s: --keep names %d negative ids (UK Biobank withdrawn participants): left out",
                        keep, int((listed & ~ok).sum()))
        ok &= listed
    if remove is not None:
        ids = read_id_list(remove, what="--remove")
        check_listed(ids, iids, remove, what="--remove", label=reader.label)
        ok &= ~iids.isin(ids).to_numpy()
    if not ok.any():
        raise InputError(f"--keep/--remove leave no sample of {reader.label}")
    return np.flatnonzero(ok)


def select_variants(reader: GenotypeReader, *, extract: str | Path | None = None,
                    chromosomes: Sequence[str] | None = None) -> np.ndarray:
    """Rows of ``reader.variants`` on ``chromosomes`` and (``--extract``) whose id or rsid is listed.

    Chromosomes are compared by :func:`~edfgen.formats.chromosomes.chromosomes_selected`: ``X`` is PLINK's 23
    too and takes the pseudo-autosomal region (``XY``, 25, ``PAR1``, ``PAR2``) with it, ``XY`` the region only,
    ``MT`` is 26 and ``M``, ``Y`` is 24 (a UK Biobank ``.bim`` numbers them)."""
    v: pd.DataFrame = reader.variants
    ok = np.ones(len(v), dtype=bool)
    if chromosomes is not None:
        ok &= chromosomes_selected(v["chromosome"], parse_chromosomes(chromosomes))
    if extract is not None:
        ids = read_variant_list(extract)
        ok &= (v["variant_id"].isin(ids) | v["rsid"].isin(ids)).to_numpy()
    if not ok.any():
        raise InputError(f"--extract/--chr leave no variant of {reader.label}")
    return np.flatnonzero(ok)
