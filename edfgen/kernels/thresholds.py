"""Constants every stage agrees on: significance thresholds and genome builds.

One place for each number, so a threshold or a build name is never written twice
(the GWAS summary, the plots, clumping, annotation and MR all import from here).
"""

import re

#: genome-wide significance (Pe'er et al. 2008, doi:10.1002/gepi.20303; Risch & Merikangas 1996):
#: the line of every Manhattan plot, ``n_significant`` of ``gwas_summary.tsv``, clumping's default ``--p1``
GENOME_WIDE = 5e-8
#: suggestive significance: the second line of every Manhattan plot
SUGGESTIVE = 1e-5
#: genome builds edfgen knows (coordinates of GWAS-SSF files, the GWAS Catalog, gene tables)
REFERENCE_GENOMES = ("GRCh37", "GRCh38")
#: the build assumed when none is given (the GWAS Catalog's and UK Biobank imputation liftover's target)
DEFAULT_REFERENCE_GENOME = "GRCh38"
#: the usual spellings of each build (``hg19``, ``b37``, ``GRCh38.p14`` ...), lower case
_BUILD_SPELLINGS = {"GRCh37": re.compile(r"grch37(\.p\d+)?|hg19|b?37"),
                    "GRCh38": re.compile(r"grch38(\.p\d+)?|hg38|b?38")}


def build_name(text: str) -> str:
    """``GRCh37`` or ``GRCh38`` for a usual spelling of either, else ``text`` (stripped): the one rule by which a
    declared build (a loci file's header, a GWAS's ``-meta.yaml``) is compared with another."""
    t = str(text).strip()
    return next((name for name, pattern in _BUILD_SPELLINGS.items() if pattern.fullmatch(t.lower())), t)
