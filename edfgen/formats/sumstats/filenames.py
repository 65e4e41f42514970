"""The phenotype a summary-statistics file's name gives (:func:`file_phenotype`) and the other tools' names.

:func:`edfgen.formats.sumstats.discovery.phenotype_name` names a file so, unless it is a stream whose rows name the
trait: the one naming rule of clump, mr and regional plots.
"""

from __future__ import annotations

import re

#: other tools' output names (REGENIE, BOLT-LMM, plink2 --glm, METAL, GCTA-COJO, GCTA --mlma[-loco], plink 1.9
#: --assoc/--linear/--logistic; Neale lab's .tsv.bgz): found in a directory and stripped from the phenotype name
TOOL_SUFFIXES = (".regenie", ".stats", ".glm.linear", ".glm.logistic", ".glm.logistic.hybrid", ".glm.firth",
                 ".tbl", ".ma", ".assoc", ".qassoc", ".assoc.linear", ".assoc.logistic", ".fastgwa", ".mlma",
                 ".loco.mlma",
                 ".sumstats")   # LDSC's munged X.sumstats.gz is phenotype X

#: a chromosome tag in a file name (``chr1``, ``chr22``, ``chrX``)
_CHR_TAG = r"chr(?:[0-9]{1,2}|X|Y|XY|MT|M)"
#: a chunk's tag beside a chromosome tag in a tool's output name (``chunk2``, ``part3``): one chromosome's pieces
_CHUNK = r"(?:chunk|part)[0-9]+"
#: tools that run per chromosome write the chromosome's tag inside the name, in their ``--out``, and the character
#: they put between the ``--out`` and the phenotype (REGENIE ``<out>_<pheno>.regenie``, plink2
#: ``<out>.<pheno>.glm.linear``); any other file's tag is a chromosome's only at the end of the name
_OUT_SEPARATOR = {".regenie": "_", ".glm.linear": ".", ".glm.logistic": ".", ".glm.logistic.hybrid": ".",
                  ".glm.firth": "."}
#: tool suffixes that are one only as the file's last (before ``.gz``/``.bgz``), as plink 1.9 and GCTA write them:
#: ``hr.assoc.tsv.gz`` is phenotype ``hr.assoc`` (its name before these were tools' names)
_LAST_ONLY = (".assoc", ".qassoc", ".mlma", ".loco.mlma")


def _uncompressed(name: str) -> str:
    """A file name without its ``.gz``, ``.bgz`` or ``.zst`` (plink2's ``--glm zs``; any case)."""
    for suf in (".gz", ".bgz", ".zst"):
        name = name[: -len(suf)] if name.lower().endswith(suf) else name
    return name


def _longest_tool_suffix(name: str, *, last: bool = True) -> str:
    """The longest of :data:`TOOL_SUFFIXES` an uncompressed file ``name`` ends with (any case), or ``""``; not one
    of :data:`_LAST_ONLY` unless it is the file's ``last`` suffix."""
    return next((t for t in sorted(TOOL_SUFFIXES, key=len, reverse=True) if name.lower().endswith(t)
                 and (last or t not in _LAST_ONLY)), "")


def file_phenotype(name: str) -> str:
    """A file ``name``'s phenotype: ``<phenotype>.tsv.gz`` -> ``<phenotype>``.

    Strips ``.tsv``, ``.txt``, ``.csv``, ``.gz``, ``.bgz``, ``.vcf``, ``.parquet``, ``.pq`` and one of
    :data:`TOOL_SUFFIXES` (``.regenie``, ``.glm.linear``, ...), in any case, and a trailing chromosome tag
    ``.chr1``, ``_chr22``, ``-chrX``, or in a tool's output one inside the name, where the tool puts a
    per-chromosome ``--out``'s (REGENIE ``step2_chr1_Y1.regenie``, plink2 ``gwas.chr1.Y1.glm.linear``: ``step2_Y1``,
    ``gwas.Y1``), with a chunk's tag beside it (``step2_chr1_chunk2_Y1``: ``step2_Y1``, when followed by the tool's
    separator before the phenotype, :data:`_OUT_SEPARATOR`; ``-`` and a number after the tag, ``step2_chr1-2_Y1``,
    leaves the name as it is; a number phenotype, ``step2_chr1_21001``, is ``step2_21001``); ``.assoc``,
    ``.qassoc``, ``.mlma``, ``.loco.mlma`` only as the last suffix (:data:`_LAST_ONLY`: ``hr.assoc.tsv.gz`` is
    ``hr.assoc``): one phenotype's per-chromosome files share its name; the GWAS Catalog's harmonised tag ``.h``:
    ``GCST90000001_buildGRCh38.h.tsv.gz`` -> ``GCST90000001_buildGRCh38``, the name of the same study's unharmonised
    file).

    Parameters
    ----------
    name : str
        The file's name (not its folder).

    Returns
    -------
    str
        The phenotype: never empty (a name that is all suffix is kept).
    """
    name = _uncompressed(name)
    bare = name
    for suf in (".tsv", ".txt", ".csv", ".vcf", ".parquet", ".pq"):
        if name.lower().endswith(suf):
            name = name[: -len(suf)]
    tool = _longest_tool_suffix(name, last=name == bare)
    name = name[: len(name) - len(tool)] or name
    name = re.sub(r"\.h$", "", name) or name        # GWAS Catalog harmonised: <accession>[_build<b>].h.tsv.gz
    if tool in _OUT_SEPARATOR:   # REGENIE <out>_<pheno>.regenie, plink2 <out>.<pheno>.glm.*: a per-chromosome
        # --out's tag is inside, with a chunk's tag beside it where the chromosome was split (step2_chr1_chunk2_Y1)
        chunk = rf"(?:[._-]{_CHUNK}(?={re.escape(_OUT_SEPARATOR[tool])}.))?+"   # before the phenotype, not part1_y
        sep = r"(?:[._]|-(?![0-9]))"        # step2_chr1-2_Y1 (a chunk, or chromosomes 1 to 2?): left alone
        name = re.sub(rf"(?:^(?:{_CHUNK}[._-])?+{_CHR_TAG}{chunk}{sep}(?=.)"
                      rf"|(?:[._-]{_CHUNK})?+[._-]{_CHR_TAG}{chunk}(?={sep}.))", "", name,
                      flags=re.IGNORECASE) or name
    return re.sub(rf"[._-]{_CHR_TAG}$", "", name, flags=re.IGNORECASE) or name


def tool_suffix(name: str) -> str:
    """The longest of :data:`TOOL_SUFFIXES` a file ``name`` ends with (compressed or not, any case), or ``""``.

    Parameters
    ----------
    name : str
        The file's name.

    Returns
    -------
    str
        The tool's suffix, lower case (``".regenie"``), ``""`` for none.
    """
    return _longest_tool_suffix(_uncompressed(name))
