"""Engines: the passes that run kernels over genotypes too large to hold.

:mod:`~edfgen.engines.stream` streams blocks of dosages from any genotype reader (variant counts, QC,
the one-pass association), :mod:`~edfgen.engines.gwas_stream` is the fast GWAS on it, and
:mod:`~edfgen.engines.hail` / :mod:`~edfgen.engines.hail_gwas` run the same method on Hail (Spark) for
clusters. Engines take readers and settings from a command and hand result blocks to a sink; the result
files are the command's (an engine writes only its caches, such as Hail's genotype import).
"""
