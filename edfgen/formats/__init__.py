"""Formats: the bytes of every file edfgen reads or writes, and nothing else.

Genotypes (:mod:`~edfgen.formats.genotypes`: PLINK 1 read and write, PGEN, BGEN, VCF/BCF, the
keep/remove/extract/chr selection, LD panels, one :class:`~edfgen.formats.genotypes.source.GenotypeSource`),
summary statistics (:mod:`~edfgen.formats.sumstats`: GWAS-SSF and common layouts, discovery of the files
in a folder, phenotype names, per-chromosome combining), tables, atomic writes
(:mod:`~edfgen.formats.atomic`), BGZF/tabix, manifests (:mod:`~edfgen.formats.manifest`, the one
file-fingerprint rule), ECG files (:mod:`~edfgen.formats.ecg`), label sets, the GWAS Catalog, gene tables,
liftover chains, LOCO prediction files and the data dictionary.

A format returns arrays and frames and raises :class:`~edfgen.exceptions.InputError` naming the file,
column or record; it computes no statistics (those are :mod:`edfgen.kernels`) and never imports an
engine, a plot or a command.
"""
