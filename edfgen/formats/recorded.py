"""What a ``manifest.json`` records beside the edfgen version: path parameters made absolute and library versions.

:func:`resolved_path` records a path option as an absolute path when it names something that exists, so that a
later stage or a notebook started elsewhere finds it; :func:`package_versions` lists the installed versions of
the libraries a command's numbers depend on (``packages``: a methods section's software list, read from the
installation's metadata, never by importing one).
"""

from __future__ import annotations

import functools
import os
from importlib import metadata
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


#: the libraries whose numbers a command's results depend on (import name -> installed distribution), recorded
#: in ``packages`` by their INSTALLED version (:mod:`importlib.metadata`): the same list on every run, whatever the
#: process happened to import before (``edfgen run``'s gwas after extract had torch loaded, a rerun without it not),
#: and the distribution's version where a module's ``__version__`` is a placeholder (cbgen's ``x.x.x``)
RECORDED_PACKAGES = {
    "numpy": "numpy", "scipy": "scipy", "pandas": "pandas", "pyarrow": "pyarrow", "torch": "torch",
    "hail": "hail", "pyspark": "pyspark", "statsmodels": "statsmodels", "sklearn": "scikit-learn",
    "msprime": "msprime", "cbgen": "cbgen", "pgenlib": "Pgenlib", "cyvcf2": "cyvcf2", "pysam": "pysam",
    "h5py": "h5py", "pydicom": "pydicom", "wfdb": "wfdb", "safetensors": "safetensors"}


@functools.lru_cache(maxsize=1)
def _installed_versions() -> tuple[tuple[str, str], ...]:
    # looked up once per process (about 0.06 s for the list): a process writes several manifests (edfgen run)
    found = []
    for name, distribution in RECORDED_PACKAGES.items():
        try:
            found.append((name, metadata.version(distribution)))
        except metadata.PackageNotFoundError:        # not installed: left out
            continue
    return tuple(found)


def package_versions() -> dict[str, str]:
    """Installed versions of the :data:`RECORDED_PACKAGES` (a methods section's software list): the same on every
    run of an installation, whichever of them the process imported; a library not installed is left out.

    Returns
    -------
    dict of str to str
        Import name -> installed distribution version, in :data:`RECORDED_PACKAGES` order.
    """
    return dict(_installed_versions())
