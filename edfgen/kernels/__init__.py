"""Kernels: arrays in, arrays out, no paths.

Association models (linear, logistic Wald/Firth, ridge-LOCO), multivariate tests (MOSTest), QC (HWE,
call rates, relatedness steps), LD (r² from genotype classes through the :class:`~edfgen.kernels.ld.LDPanel`
protocol), clumping and loci merging, catalog novelty rules, p-value arithmetic, thresholds and genome
builds (:mod:`~edfgen.kernels.thresholds`), value validation, Mendelian randomization
(:mod:`~edfgen.kernels.mr`), ECG delineation, measurement and lead algebra (:mod:`~edfgen.kernels.ecg`)
and the EDF kernels (PCA, biomarker association, clustering).

Each kernel is a pure function (or a small class) on numpy/pandas objects that returns a typed result;
tests check it against a naive or external reference. Kernels never import formats, engines or
commands and never open a user's file (``tests/test_architecture.py``).
"""
