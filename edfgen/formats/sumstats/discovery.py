"""Which files are summary statistics, which phenotype each one is, and one phenotype from several files.

* discovery (:func:`expand_sumstats`): the files given, glob patterns, and in a directory every
  file named like summary statistics (:data:`SUMSTATS_SUFFIXES`, any case, not hidden: no temporary
  files) whose header maps to the GWAS-SSF columns the command needs, or, in a directory with none,
  those of its sub-folders (per-chromosome runs: ``gwas/chr1/``, ``gwas/chr2/``); the one rule of
  ``edfgen clump``, ``annotate``, ``mr`` (``--exposure`` and ``--outcome``), ``ldsc``, ``finemap`` and
  ``coloc``.
* naming (:func:`phenotype_name`, :func:`group_by_phenotype`): ``<phenotype>.tsv.gz``, one
  phenotype's per-chromosome files share its name.
* one per-chromosome combine (:func:`combine_phenotype`): a variant (same ``variant_id``, or same
  chromosome, position and alleles) in two files of one phenotype is an input error.
"""

from __future__ import annotations

import contextlib
import glob
import logging
from collections import Counter
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.sumstats.filenames import TOOL_SUFFIXES, file_phenotype, tool_suffix
from edfgen.formats.sumstats.gwasvcf import GWAS_VCF_SUFFIXES
from edfgen.formats.sumstats.layout import alias_clashes, ssf_chromosome_codes, sumstats_columns
from edfgen.formats.sumstats.coordinates import NOT_DECLARED, meta_field
from edfgen.formats.sumstats.read import read_header, read_sumstats, read_sumstats_columns
from edfgen.kernels.alleles import combined_codes, text_codes, variant_site_codes, variant_site_keys
from edfgen.kernels.thresholds import build_name
from edfgen.formats.sumstats.twosamplemr import MR_REQUIRED, twosamplemr_map
from edfgen.formats.tables import PathLike, some_names
from edfgen.formats.textio import _stream_key, comma_separated, read_text_bytes, text_reader

log = logging.getLogger(__name__)

#: names of the files a directory is searched for (each one is named by :func:`phenotype_name`), compressed
#: (``.gz``, ``.bgz``, ``.zst``: plink2's ``--glm zs``) or not
SUMSTATS_SUFFIXES = ((".tsv.gz", ".tsv", ".txt.gz", ".txt", ".csv", ".csv.gz", ".parquet", ".pq", ".gz", ".bgz",
                      ".zst")
                     + GWAS_VCF_SUFFIXES + TOOL_SUFFIXES)
#: the GWAS-SSF columns clumping (and regional plots) need
CLUMP_REQUIRED = ("variant_id", "p_value")


#: a command's test of one file named like summary statistics: ``(path, header) -> bool``, whether it reads the file
#: (e.g. :func:`column_test`)
FileTest = Callable[[Path, list], bool]


def looks_like_sumstats(path: Path, required: Sequence[str] = MR_REQUIRED,
                        columns: dict[str, str] | None = None) -> bool:
    """Whether a file's header maps to the GWAS-SSF columns ``required`` (read without the body).

    A file whose header cannot be read (a corrupt or cut gzip stream, not text) is an
    :class:`InputError`, not a ``False``: a directory's corrupt file is never skipped in silence."""
    header = _header(path)
    return header is not None and header_maps(header, required, columns, source=str(path))


def header_maps(header: list, required: Sequence[str], columns: dict[str, str] | None = None, *,
                source: str = "") -> bool:
    """Whether a header maps to the GWAS-SSF columns ``required`` (``columns``: ``--columns``, file column ->
    field; TwoSampleMR's names count too).

    Raises
    ------
    InputError
        Two columns naming one field of ``required`` in a file that is summary statistics under one of the
        readings (``source`` names the file)."""
    user = {k: v for k, v in (columns or {}).items() if k in header}
    extra = set(twosamplemr_map(header).values())
    # two columns naming one field (a lookup table's SNP and ID): refused only when the file is summary
    # statistics under one of the readings, else skipped like any file without their columns
    lenient = sumstats_columns(header, user, need=()) | extra | alias_clashes(header, user)
    if not set(required) <= lenient:
        return False
    return set(required) <= sumstats_columns(header, user, source=source, need=required) | extra


def column_test(required: Sequence[str] = CLUMP_REQUIRED, columns: dict[str, str] | None = None) -> FileTest:
    """The :data:`FileTest` of a command that reads files whose header maps to ``required`` (:func:`header_maps`)."""
    return lambda path, header: header_maps(header, required, columns, source=str(path))


def _header(path: Path) -> list | None:
    """A file's header, None for an empty file.

    Raises
    ------
    InputError
        The header cannot be read (a corrupt or cut gzip stream, not text): one line naming the file."""
    try:
        return read_header(path)
    except pd.errors.EmptyDataError:     # an empty file holds no summary statistics
        return None
    except Exception as exc:  # noqa: BLE001 - a corrupt file named like sumstats is never skipped silently
        why = ("truncated gzip file: the compressed stream ends early" if isinstance(exc, EOFError)
               else str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
        raise InputError(f"{path}: cannot be read ({why})") from None


def _passing(files: Sequence[Path], test: FileTest, headers: dict[Path, list | None]) -> list[Path]:
    """The ``files`` whose header (read once, kept in ``headers``) passes ``test``."""
    for f in files:
        if f not in headers:
            headers[f] = _header(f)
    return [f for f in files if headers[f] is not None and test(f, headers[f])]


def _candidates(folder: Path) -> tuple[list[Path], list[Path]]:
    """A folder's visible files (sorted; not hidden: no temporary files) and those named like summary statistics
    (:data:`SUMSTATS_SUFFIXES`)."""
    visible = sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
    return visible, [f for f in visible if f.name.lower().endswith(SUMSTATS_SUFFIXES)]


def _named_like_sumstats(folders: Sequence[Path]) -> list[str]:
    """The names of the ``folders`` holding files named like summary statistics (by name only: no header read; an
    unreadable folder is left out)."""
    out = []
    for d in folders:
        try:
            if _candidates(d)[1]:
                out.append(d.name)
        except OSError:
            continue
    return out


def reads_sub_folders(folder: Path, test: FileTest) -> bool:
    """Whether :func:`sumstats_in_directory` with ``test`` reads ``folder``'s sub-folders: none of the folder's own
    files passes it (a README.txt, a gwas_summary.tsv, an ``edfgen mr`` folder's file without beta or standard error
    beside per-chromosome folders). For :func:`edfgen.formats.manifest.check_upstream`, which checks the
    sub-folders then (review rev34 #2)."""
    return not _passing(_candidates(folder)[1], test, {})


def sumstats_in_directory(path: Path, option: str, *, required: Sequence[str] = CLUMP_REQUIRED,
                          columns: dict[str, str] | None = None, hint: str = "",
                          test: FileTest | None = None) -> list[Path]:
    """The summary-statistics files of a directory: named like them (:data:`SUMSTATS_SUFFIXES`, not hidden)
    and with a header that maps to ``required`` (or passes ``test``), sorted. A directory with none of its own is
    searched one level down, its sub-folders in name order (per-chromosome ``edfgen gwas --chr N`` runs:
    ``gwas/chr1/qt.tsv.gz``, ``gwas/chr2/qt.tsv.gz``; ``edfgen gwas`` itself writes ``<out>/<phenotype>.tsv.gz``).
    Each file's header is read once.

    Parameters
    ----------
    path : Path
        The directory.
    option : str
        The option it was given with, for messages.
    required : sequence of str
        GWAS-SSF columns a file must map to (and the columns an error names).
    columns : dict, optional
        ``--columns``.
    hint : str
        The end of the message when files are found but their columns are not.
    test : FileTest, optional
        Which files the command reads (default: :func:`column_test` of ``required`` and ``columns``), e.g.
        :func:`edfgen.formats.sumstats.zscores.zstats_test` (z-score files too).

    Returns
    -------
    list of Path

    Raises
    ------
    InputError
        No such file in the directory or its sub-folders (one line naming the directory: the columns looked
        for, an example header, ``hint``).
    """
    test = test or column_test(required, columns)
    headers: dict[Path, list | None] = {}
    visible, cands = _candidates(path)
    files = _passing(cands, test, headers)
    subdirs = sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith("."))
    where, holder = "", "directory holds"
    if not files and subdirs:     # per-chromosome runs' folders (gwas/chr1/, gwas/chr2/ ...): one level down
        folders = some_names([d.name for d in subdirs], 3)
        where, holder = f" in it or its sub-folders ({folders})", f"directory and its sub-folders ({folders}) hold"
        for d in subdirs:
            v, c = _candidates(d)
            visible, cands = visible + v, cands + c
            files += _passing(c, test, headers)
        if files:
            log.info("%s %s: no summary statistics in the folder itself; read %d file(s) of its sub-folders",
                     option, path, len(files))
    elif subdirs and (unread := _named_like_sumstats(subdirs)):
        log.info("%s %s: read its own %d file(s), not its sub-folders (%s), whose files named like summary statistics "
                 "are left out (a folder with files of its own is read without its sub-folders): give them by name "
                 "to read them too", option, path, len(files), some_names(unread, 3))
    skipped = sorted(set(cands) - set(files))
    if skipped:  # e.g. gwas_summary.tsv, qc_report.tsv, samples.tsv beside the GWAS output
        log.debug("%s: skipping %d file(s) without summary-statistics columns: %s", path, len(skipped),
                  ", ".join(f.name for f in skipped))
    if files:
        return files
    if not cands and visible:
        names = some_names([f.relative_to(path) for f in visible], 5)
        raise InputError(f"{option} {path}: no file{where} is named like summary statistics (skipped by name: "
                         f"{names}; names end in {', '.join(SUMSTATS_SUFFIXES)}): give the files by name{hint}")
    example = ""
    if cands and headers.get(cands[0]):
        example = f"; e.g. {cands[0].relative_to(path)} has: {' '.join(map(str, headers[cands[0]][:30]))}"
    raise InputError(f"{option} {path}: {holder} no summary-statistics files (no columns for "
                     f"{', '.join(required)}{example}){hint if cands else ''}")


def expand_sumstats(paths: Sequence[PathLike], option: str = "--sumstats", *,
                    required: Sequence[str] = CLUMP_REQUIRED, columns: dict[str, str] | None = None,
                    hint: str = "", test: FileTest | None = None) -> list[Path]:
    """Summary-statistics inputs: files, directories (:func:`sumstats_in_directory`, with ``required``,
    ``columns``, ``hint`` and ``test``) or glob patterns, in the order given (directory and glob matches sorted),
    each file once."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out += sumstats_in_directory(path, option, required=required, columns=columns, hint=hint, test=test)
        elif path.exists():
            out.append(path)
        elif path.is_symlink():      # (glob "finds" a symlink loop: a RuntimeError traceback later, stop 39 matrix)
            raise InputError(f"{option} {p}: a symbolic link that leads nowhere (a loop, or its target is gone)")
        else:
            found = sorted(Path(f) for f in glob.glob(str(p)))
            if not found:
                raise InputError(f"{option} {p}: file not found")
            out += found
    return list(dict.fromkeys(out))


#: columns whose one value names the trait of a stream (:func:`stream_trait`), in order: a ``phenotype`` or ``trait``
#: column, TwoSampleMR's ``exposure`` / ``outcome`` labels, then their ``id.exposure`` / ``id.outcome``
TRAIT_COLUMNS = ("phenotype", "trait", "exposure", "outcome", "id.exposure", "id.outcome")
_STREAM_TRAITS: dict[tuple, tuple[str, str] | None] = {}
_SAID: set[tuple[str, str]] = set()      # (stream, phenotype) a WARNING named already (group_by_phenotype)


def _unnamed_stream(path: str | Path) -> bool:
    """Whether ``path`` is a stream whose name says nothing of its trait: ``/dev/fd/63`` (``<(zcat x.gz)``),
    ``/proc/self/fd/0``, ``/dev/stdin`` (a named FIFO, ``mkfifo bmi.tsv``, is named by its name)."""
    name = Path(path).name
    return (name.isdigit() or name == "stdin") and _stream_key(path) is not None


def stream_trait(path: str | Path) -> str | None:
    """The trait a stream without a name (:func:`_unnamed_stream`: ``<(zcat bmi.tsv.gz)`` is ``/dev/fd/63``) names
    in its rows: the one value of its first :data:`TRAIT_COLUMNS` column (TwoSampleMR's ``Body mass index ||
    id:ieu-a-2`` without its `` || id:`` tail), else ``None`` (with a WARNING: the phenotype is then named by the
    path, ``63``). ``None`` for anything else (a file is named by its file name).

    Parameters
    ----------
    path : str or Path
        A summary-statistics input.

    Returns
    -------
    str or None
        The trait's name.
    """
    label = _stream_label(path)
    return None if label is None else label[0]


def _stream_label(path: str | Path) -> tuple[str, str] | None:
    """:func:`stream_trait` and the TwoSampleMR id its value ends with (``ieu-a-2``; ``""`` without one)."""
    if not _unnamed_stream(path):
        return None
    try:
        data = read_text_bytes(path)              # (read once per command: the readers get the same bytes)
    except InputError:
        return None                               # (the reader says what is wrong with it)
    key = (_stream_key(path), id(data), len(data), data[:64], data[-64:])   # (the text read in this command)
    if key not in _STREAM_TRAITS:
        _STREAM_TRAITS[key] = _trait_in(data, path)
    return _STREAM_TRAITS[key]


def _trait_in(data: bytes, path: str | Path) -> tuple[str, str] | None:
    """The one value of the first :data:`TRAIT_COLUMNS` column of the table ``data`` (see :func:`stream_trait`),
    and its TwoSampleMR id (``|| id:ieu-a-2``, else ``""``)."""
    sep = "," if comma_separated(data) else "\t"
    with contextlib.suppress(ValueError, pd.errors.ParserError):
        header = list(pd.read_csv(text_reader(data), sep=sep, nrows=0).columns)
        if len(header) == 1 and " " in str(header[0]):
            sep, header = r"\s+", str(header[0]).split()
        col = next((c for c in TRAIT_COLUMNS if c in header), None)
        if col is not None:
            values = pd.read_csv(text_reader(data), sep=sep, usecols=[col], dtype=str)[col].dropna().unique()
            name, _, tag = str(values[0]).partition(" || ") if len(values) == 1 else ("", "", "")
            name, tag = name.strip(), tag.strip().removeprefix("id:").strip()
            if name and "/" not in name and name not in (".", "..") and name.isprintable() and len(name) <= 200:
                log.info("%s: phenotype %r (its %s column)", path, name, col)
                return name, (tag if "/" not in tag and tag.isprintable() and len(tag) <= 100 else "")
            if name:     # one value, not a file name (second read s40 #7: it was said to have none)
                log.warning("%s: a stream without a name whose %s column's one value %r cannot be a phenotype name ('.', "
                            "'..', a '/', not printable, or over 200 characters): its phenotype is named %r (give a FIFO the "
                            "phenotype's name, mkfifo bmi.tsv)", path, col, name if len(name) <= 80 else
                            name[:80] + "...", Path(path).name)
                return None
    log.warning("%s: a stream without a name and without one value in a %s column: its phenotype is named %r "
                "(give a FIFO the phenotype's name, mkfifo bmi.tsv, or add a phenotype column)", path,
                "/".join(TRAIT_COLUMNS[:2]), Path(path).name)
    return None


def phenotype_name(path: str | Path) -> str:
    """``<phenotype>.tsv.gz`` -> ``<phenotype>``: :func:`~edfgen.formats.sumstats.filenames.file_phenotype`; the one
    naming rule of clump, mr and regional plots, so that the ``phenotype`` column of ``clumps.tsv`` matches ``edfgen
    mr``'s exposure names. A stream is named by its path as well: ``<(zcat bmi.tsv.gz)`` is ``/dev/fd/63``,
    phenotype ``63`` (no option renames a phenotype: a named FIFO, ``mkfifo bmi.tsv``, carries the name) unless its
    rows name the trait (:func:`stream_trait`: a ``phenotype`` or ``trait`` column, TwoSampleMR's ``exposure`` /
    ``outcome``)."""
    trait = stream_trait(path)
    if trait is not None:
        return trait
    return file_phenotype(Path(path).name)


def _tool_suffix(path: Path) -> str:
    """The longest of :data:`TOOL_SUFFIXES` a file's name ends with (compressed or not), or ``""``."""
    return tool_suffix(path.name)


#: one tool's two tests of one ``--out`` and phenotype (plink 1.9 ``--assoc --linear``: ``res.qassoc``,
#: ``res.assoc.linear``; GCTA ``--mlma``, ``--mlma-loco``: ``res.mlma``, ``res.loco.mlma``): the model's file is read
_TOOL_PREFERRED = {".qassoc": (".assoc.linear", ".assoc.logistic"), ".assoc": (".assoc.linear", ".assoc.logistic"),
                   ".mlma": (".loco.mlma",)}


def _outshone(files: Sequence[Path]) -> list[Path]:
    """Of one phenotype's ``files``, those beside (same folder) a file of the same tool's preferred output
    (:data:`_TOOL_PREFERRED`): not chromosome pieces but another test of the same data."""
    suffixes = {(f.parent, _tool_suffix(f)) for f in files}
    return [f for f in files if any((f.parent, t) in suffixes for t in _TOOL_PREFERRED.get(_tool_suffix(f), ()))]


def group_by_phenotype(paths: Sequence[str | Path]) -> dict[str, list[Path]]:
    """Summary-statistics files by :func:`phenotype_name`, in first-seen order: several files of one
    phenotype (its chromosomes, e.g. ``gwas_chr1/edf_001.tsv.gz`` and ``gwas_chr2/edf_001.tsv.gz``)
    form one group.

    A tool's raw output (``height.regenie``, :data:`TOOL_SUFFIXES`) in the folder of a file of its name that
    is named like GWAS-SSF (``height.tsv``, its conversion beside it) is left out, with a warning naming it, and so
    is a tool's output beside the same tool's regression-model output of its name (``res.qassoc`` beside
    ``res.assoc.linear``, ``res.mlma`` beside ``res.loco.mlma``: :data:`_TOOL_PREFERRED`), which is no chromosome piece.
    Files of one name in different folders stay in one group (:func:`combine_phenotype` refuses them if
    they overlap); a stream named by its rows' trait that another input shares is named apart
    (:func:`_distinct_stream_names`: ``Body mass index_ieu-a-2``)."""
    groups: dict[str, list[Path]] = {}
    for p, name in _distinct_stream_names(paths):
        groups.setdefault(name, []).append(Path(p))
    for name, files in groups.items():
        converted = {f.parent for f in files if not _tool_suffix(f)}
        raw = [f for f in files if _tool_suffix(f) and f.parent in converted]
        if raw:
            groups[name] = [f for f in files if f not in raw]
            log.warning("phenotype %r: reading %s; left out %s (a tool's raw output beside its GWAS-SSF "
                        "conversion; give the files by name to choose)", name,
                        ", ".join(map(str, groups[name])), ", ".join(map(str, raw)))
        other = _outshone(groups[name])
        if other:
            groups[name] = [f for f in groups[name] if f not in other]
            log.warning("phenotype %r: reading %s; left out %s (the same tool's other test of the same --out: "
                        ".assoc.linear/.assoc.logistic are read over .qassoc/.assoc, .loco.mlma over .mlma; give "
                        "the files by name to choose)", name, ", ".join(map(str, groups[name])),
                        ", ".join(map(str, other)))
    return groups


def _distinct_stream_names(paths: Sequence[str | Path]) -> list[tuple[str | Path, str]]:
    """Each path with its :func:`phenotype_name`, but a stream named by its rows' trait (:func:`stream_trait`) that
    another input shares is ``<trait>_<id>`` (its TwoSampleMR id when the others sharing it have another) or
    ``<trait>_<N>`` (its path ``/dev/fd/N``), with one WARNING: two studies of one trait piped in
    (``--exposure <(cat a.csv) --exposure <(cat b.csv)``) were read as one phenotype and refused (review of s40)."""
    named = [(p, phenotype_name(p)) for p in paths]
    count = Counter(n for _, n in named)
    labels = {i: _stream_label(p) for i, (p, n) in enumerate(named) if count[n] > 1}
    tags = Counter((named[i][1], lab[1]) for i, lab in labels.items() if lab is not None)
    for i, lab in labels.items():
        if lab is None:
            continue
        p, trait = named[i]
        name = f"{trait}_{lab[1] if lab[1] and tags[trait, lab[1]] == 1 else Path(p).name}"
        named[i] = (p, name)
        if (str(p), name) not in _SAID:
            _SAID.add((str(p), name))
            log.warning("%s: its rows name the trait %r, as another input's do: phenotype %r (a FIFO names it as you "
                        "choose: mkfifo bmi_ukb.tsv)", p, trait, name)
    return named


def combine_phenotype(tables: Sequence[pd.DataFrame], paths: Sequence[str | Path], *,
                      option: str = "", across_files_only: bool = False) -> pd.DataFrame:
    """One phenotype's summary statistics from its files' tables (e.g. one per chromosome), in the order given.

    Parameters
    ----------
    tables : sequence of DataFrame
        The phenotype's tables, one per file.
    paths : sequence of str or Path
        Their files, for messages.
    option : str
        The command-line option that named them, for messages.
    across_files_only : bool
        A variant repeated inside one file is left to the caller (``edfgen mr``'s readers keep it, harmless unless
        an instrument); only a variant in two of the files is refused. False: one inside a file is refused too.

    Returns
    -------
    DataFrame
        The tables concatenated, in the order given.

    Raises
    ------
    InputError
        A variant (same ``variant_id``, or same chromosome, position and alleles) in two of the files, or two
        files whose variants interleave along a chromosome (:func:`_refuse_interleaved`: one phenotype's
        per-chromosome or per-region files hold separate stretches, X's and XY's files included): one line
        naming both (files of one name from two studies collide; it says how to rename one).
    """
    if len(tables) == 1:
        return tables[0]

    def rename(files: Sequence[str]) -> str:      # the file given later of ``files``, renamed by its folder
        other = next((Path(p) for p in reversed(paths) if str(p) in files and not _unnamed_stream(p)), None)
        if other is None:       # (/dev/fd/62 cannot be renamed: review of s40)
            return "if they are different studies, feed each through a FIFO named as its phenotype (mkfifo bmi.tsv)"
        renamed = f"{other.parent.name or 'other'}_{other.name}"
        return f"if they are different studies, rename one (e.g. {other.name} to {renamed})"

    df = pd.concat(tables, ignore_index=True)
    file_of = np.repeat(np.arange(len(tables)), [len(t) for t in tables])     # each row's file, by its index
    alleles = {"effect_allele", "other_allele"} <= set(df.columns)
    positions = {"chromosome", "base_pair_location"} <= set(df.columns)
    keys = [["variant_id"]]
    check, check_files = df, file_of
    if positions and alleles:
        keys.append(["chromosome", "base_pair_location", "effect_allele", "other_allele"])
        # both keys hold the chromosome and position: only rows sharing them with another row (in any file) can be
        # repeats; the others (all but multi-allelic sites in per-chromosome files) are not keyed
        site = pd.Series(combined_codes(text_codes(df["chromosome"]), text_codes(df["base_pair_location"])))
        shared = site.duplicated(keep=False).to_numpy()
        check, check_files = df[shared], file_of[shared]
    for key in keys:        # integer codes, not text keys: ~10^7 strings per phenotype cost minutes
        if key == ["variant_id"] and alleles:   # a multi-allelic site's rows (one per ALT), an rsID at two
            codes = variant_site_codes(check)   # positions, are not repeats
        else:
            codes = pd.Series(combined_codes(*(text_codes(check[col]) for col in key)))
        dup = codes.duplicated(keep=False).to_numpy()
        if dup.any() and across_files_only:     # only the codes on rows of two files or more
            pairs = pd.DataFrame({"code": codes.to_numpy()[dup], "file": check_files[dup]}).drop_duplicates()
            spans = pairs.loc[pairs["code"].duplicated(keep=False), "code"].unique()
            dup &= np.isin(codes.to_numpy(), spans)
        if dup.any():
            first = int(np.flatnonzero(dup)[0])
            row = check.iloc[[first]]
            text = (variant_site_keys(row) if key == ["variant_id"] and alleles else
                    row[key[0]].astype(str).str.cat([row[col].astype(str) for col in key[1:]], sep=":")).iloc[0]
            same = codes.to_numpy() == codes.iloc[first]
            files = sorted({str(paths[i]) for i in np.unique(check_files[same])})
            raise InputError(f"{option + ': ' if option else ''}variant {text!r} of phenotype "
                             f"{phenotype_name(paths[0])!r} appears twice ({' and '.join(files)}): files of one name "
                             "are read as one phenotype's per-chromosome files, which must not overlap; "
                             f"{rename(files)}")
    if positions:
        _refuse_interleaved(df, file_of, paths, option, rename)
    return df


def _files_per_group(group: np.ndarray, file_of: np.ndarray) -> np.ndarray:
    """How many files hold rows of each ``group`` (non-negative integer codes, e.g. chromosomes; ``file_of``: each
    row's file index), indexed by the code."""
    if not len(group):
        return np.zeros(0, dtype=np.int64)
    width = int(file_of.max()) + 1
    pairs = pd.unique(group.astype(np.int64) * width + file_of)           # each (group, file) once
    return np.bincount(pairs // width, minlength=int(group.max()) + 1)


#: same-named files whose positions alternate more often than this many times per file on a chromosome are two
#: studies, not one phenotype's per-chromosome or per-region files (those are stretches: PAR1 / X / PAR2 of
#: chromosome X's and XY's files alternate twice)
MAX_STRETCHES_PER_FILE = 4


def _refuse_interleaved(df: pd.DataFrame, file_of: np.ndarray, paths: Sequence[str | Path], option: str,
                        rename) -> None:
    """Refuse same-named files whose variants interleave along a chromosome (two studies on the same genome).

    One phenotype's files (one per chromosome, per region chunk, X beside XY) each hold stretches of a
    chromosome; two studies' files of one name hold variants that alternate along it. A chromosome whose
    variants, sorted by position, change file more than :data:`MAX_STRETCHES_PER_FILE` times per file is refused
    in one line naming two of its files (``file_of``: each row's index in ``paths``). Integer codes, and a sort of
    only the chromosomes found in two files (X beside XY; none of 22 per-chromosome files):
    ``benchmarks/sumstats_combine.py``.
    """
    pos = pd.to_numeric(df["base_pair_location"], errors="coerce").to_numpy(dtype=float)
    known = df["chromosome"].notna().to_numpy() & ~np.isnan(pos)
    raw, labels = pd.factorize(df["chromosome"][known], use_na_sentinel=False)
    names, chrom = np.unique(ssf_chromosome_codes(pd.Index(labels).astype(str)).astype(str), return_inverse=True)
    c, f, pos = chrom[raw], file_of[known], pos[known]
    files = np.zeros(len(names), dtype=np.int64)
    files[:int(c.max(initial=-1)) + 1] = _files_per_group(c, f)
    shared = files[c] > 1                       # only a chromosome in two files can interleave
    c, f, pos = c[shared], f[shared], pos[shared]
    order = np.lexsort((pos, c))                # by chromosome (its GWAS-SSF code), then position
    c, f = c[order], f[order]
    starts = np.r_[True, (c[1:] != c[:-1]) | (f[1:] != f[:-1])] if len(c) else np.zeros(0, bool)
    stretches = np.bincount(c[starts], minlength=len(names))
    bad = np.flatnonzero((files > 1) & (stretches > MAX_STRETCHES_PER_FILE * files))
    if bad.size:
        b = bad[0]
        first, other = (str(paths[i]) for i in pd.unique(f[c == b])[:2])
        raise InputError(f"{option + ': ' if option else ''}{first} and {other} both hold variants all along "
                         f"chromosome {names[b]} of phenotype {phenotype_name(paths[0])!r} (interleaved, "
                         f"{stretches[b]} stretches): files of one name are read as one phenotype's "
                         "per-chromosome or per-region files, which hold separate stretches; "
                         f"{rename([first, other])}")


def read_phenotype_sumstats(paths: Sequence[str | Path], *, required: tuple[str, ...],
                            optional: tuple[str, ...] | None = None, option: str = "--sumstats") -> pd.DataFrame:
    """One phenotype's summary statistics from one or several files (e.g. one per chromosome),
    combined by :func:`combine_phenotype`.

    ``optional=None`` reads every column (:func:`~edfgen.formats.sumstats.read.read_sumstats`); a tuple
    reads only ``required + optional`` (:func:`~edfgen.formats.sumstats.read.read_sumstats_columns`, fast).
    """
    tables = [read_sumstats(p, required=required)[0] if optional is None
              else read_sumstats_columns(p, required=required, optional=optional) for p in paths]
    return combine_phenotype(tables, paths, option=option)


def _build_declared(path: str | Path) -> str | None:
    # the -meta.yaml genome_assembly, None where it declares none: absent, empty, NR, null or ~ (NOT_DECLARED;
    # review s40user: `genome_assembly: null` was the build "null")
    build = meta_field(path, "genome_assembly")
    return None if build is None or build.strip().lower() in NOT_DECLARED else build


def declared_builds(paths: Sequence[str | Path]) -> str | list[str] | None:
    """What the summary statistics declare as their genome build, for a manifest: the one build their
    ``-meta.yaml`` files declare, ``None`` when none declares one (``NR``, ``null``, ``~`` count as none), the sorted list when
    they declare several (never an error: the commands that cannot mix builds check that themselves).

    Parameters
    ----------
    paths : sequence of str or Path
        Summary-statistics files.

    Returns
    -------
    str, list of str or None
    """
    builds = sorted({build_name(b) for p in paths if (b := _build_declared(p)) is not None})
    return builds[0] if len(builds) == 1 else builds or None


def declared_build(paths: Sequence[str | Path]) -> str | None:
    """The genome build the summary statistics' GWAS-SSF metadata (``<file>-meta.yaml``, ``genome_assembly``)
    declare: one value, or ``None`` when no file has one (``NR``, not reported, ``null`` and ``~`` count as none).

    Raises
    ------
    InputError
        When the files declare different builds (naming two of them).
    """
    seen: dict[str, Path] = {}
    for p in paths:
        build = _build_declared(p)
        if build is not None:
            seen.setdefault(build_name(build), Path(p))
    if len(seen) > 1:
        (a, pa), (b, pb) = list(seen.items())[:2]
        raise InputError(f"summary statistics of different genome builds: {pa} ({a}) and {pb} ({b}) "
                         "(their -meta.yaml genome_assembly)")
    return next(iter(seen), None)
