"""Constants every stage agrees on: significance thresholds and genome builds.

One place for each number, so a threshold or a build name is never written twice
(the GWAS summary, the plots, clumping, annotation and MR all import from here).
"""

#: genome-wide significance (Pe'er et al. 2008, doi:10.1002/gepi.20303; Risch & Merikangas 1996):
#: the line of every Manhattan plot, ``n_significant`` of ``gwas_summary.tsv``, clumping's default ``--p1``
GENOME_WIDE = 5e-8
#: suggestive significance: the second line of every Manhattan plot
SUGGESTIVE = 1e-5
#: genome builds edfgen knows (coordinates of GWAS-SSF files, the GWAS Catalog, gene tables)
REFERENCE_GENOMES = ("GRCh37", "GRCh38")
#: the build assumed when none is given (the GWAS Catalog's and UK Biobank imputation liftover's target)
DEFAULT_REFERENCE_GENOME = "GRCh38"
