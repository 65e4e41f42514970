"""What a ``manifest.json`` records beside the edfgen version: path parameters made absolute and library versions.

:func:`resolved_path` records a path option as an absolute path when it names something that exists, so that a
later stage or a notebook started elsewhere finds it; :func:`package_versions` lists the versions of the
libraries the process had loaded when it wrote the manifest (``packages``: a methods section's software list,
never importing one for it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

#: the parameters that name files or folders (the commands' path options, as their manifests name them):
#: recorded absolute (:func:`resolved_path`), so that a later stage or a notebook started elsewhere finds them
PATH_PARAMETERS = frozenset({
    "bfile", "ld_bfile", "pfile", "vcf", "mt", "bgen", "sample", "keep", "remove", "keep_ids", "remove_ids",
    "extract", "pheno", "covar", "edf", "biomarkers", "measure_from", "ecg", "exposure", "outcome", "loci",
    "sumstats", "more_sumstats", "catalog", "genes", "checkpoint", "id_map", "instruments", "labels",
    "liftover_chain", "loco_predictions", "ref_ld_chr", "w_ld_chr", "truth", "coloc", "out", "config"})


def resolved_path(value: Any) -> Any:
    """A path as typed (``cohort/genotypes``), absolute when it names something that exists from the working
    directory: a file, a folder, a fileset prefix (``cohort/genotypes.bed`` exists) or a ``{chr}`` template in an
    existing folder; a genotype label ``--pfile PREFIX`` likewise. Anything else is returned unchanged: absolute
    paths, URLs (``gs://``), a shipped checkpoint's name (``small``), a description. Lists element by element."""
    if isinstance(value, (list, tuple)):
        return [resolved_path(v) for v in value]
    if not isinstance(value, str) or not value or "://" in value:
        return value
    if value.startswith("--") and " " in value:                    # a genotype label: --pfile PREFIX
        kind, _, rest = value.partition(" ")
        return f"{kind} {resolved_path(rest)}"
    p = Path(value).expanduser()
    if p.is_absolute():
        return str(p)
    found = (p.exists() or ("{" in value and p.parent != Path(".") and p.parent.is_dir())
             or (p.parent.is_dir() and any(x.name.startswith(p.name + ".") for x in p.parent.iterdir())))
    return os.path.abspath(p) if found else value


#: the libraries whose numbers a command's results depend on, recorded by version in ``packages`` when the
#: process has loaded them (never imported for it: ``edfgen gwas`` on the command line does not name torch)
RECORDED_PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "torch", "hail", "pyspark", "statsmodels", "sklearn",
                     "msprime", "cbgen", "pgenlib", "pysam", "pydicom", "wfdb", "safetensors")


def package_versions() -> dict[str, str]:
    """Versions of the :data:`RECORDED_PACKAGES` this process has imported (a methods section's software list).

    Returns
    -------
    dict of str to str
        Import name -> ``__version__``, in :data:`RECORDED_PACKAGES` order.
    """
    return {name: str(version) for name in RECORDED_PACKAGES
            if (version := getattr(sys.modules.get(name), "__version__", None)) is not None}
