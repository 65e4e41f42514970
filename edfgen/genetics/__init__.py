"""Genetics on Hail: genotype import and QC, GWAS, PCA, LD clumping, GWAS Catalog novelty, genes."""
