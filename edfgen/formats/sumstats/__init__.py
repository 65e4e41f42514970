"""GWAS summary statistics in the GWAS-SSF layout (GWAS Catalog summary-statistics format).

One gzipped TSV per phenotype, ``<phenotype>.tsv.gz``, columns :data:`SSF_COLUMNS`, sorted by
chromosome and position. Readers accept common aliases (``SNP``, ``BETA``, ``SE``, ``P``,
``A1``/``A2``, ...) and report the mapping they used.

Bytes only, in four rooms:

* :mod:`~edfgen.formats.sumstats.layout`: column names, aliases, other tools' layouts, ``--columns``,
  chromosome order;
* :mod:`~edfgen.formats.sumstats.read`: reading (all columns or only the needed ones), value checks, sort order;
* :mod:`~edfgen.formats.sumstats.write`: GWAS-SSF files as the GWAS Catalog takes them (BGZF, tabix, meta YAML);
* :mod:`~edfgen.formats.sumstats.discovery`: which files are summary statistics, phenotype names, one
  phenotype from its per-chromosome files;
* :mod:`~edfgen.formats.sumstats.twosamplemr`: MR inputs (TwoSampleMR exports, instrument lists) and
  TwoSampleMR's column names.

References
----------
Hayhurst J et al. (2022) "A community driven GWAS summary statistics standard",
bioRxiv doi:10.1101/2022.07.15.500230.
"""

from edfgen.formats.sumstats.discovery import (CLUMP_REQUIRED, MR_REQUIRED, SUMSTATS_SUFFIXES, combine_phenotype,
                                               FileTest, column_test, declared_build, declared_builds, expand_sumstats,
                                               group_by_phenotype, header_maps, looks_like_sumstats, phenotype_name,
                                               read_header, read_phenotype_sumstats, reads_sub_folders,
                                               sumstats_in_directory)
from edfgen.formats.sumstats.layout import (ALIASES, CHROM_ORDER, COLUMN_KEYS, LAYOUTS, SSF_COLUMNS, Z95,
                                            SumstatsLayout, chrom_key, detect_layout, genotype_chromosome_labels,
                                            parse_column_option, sumstats_columns)
from edfgen.formats.sumstats.read import (VALUE_RULES, SumstatsMapping, check_sumstats_values, read_sumstats,
                                          read_sumstats_columns, sort_sumstats)
from edfgen.formats.sumstats.twosamplemr import (TWOSAMPLEMR_NAMES, internal_columns, load_sumstats,
                                                 read_instruments, twosamplemr_columns, twosamplemr_map)
from edfgen.formats.sumstats.write import (FIRTH_COLUMN, SSF_EXTRA_COLUMNS, SSF_VERSION, SumstatsFormatter,
                                           SumstatsMeta, SumstatsStream, SumstatsWriter, meta_path, p_value_column,
                                           p_value_strings, round_significant, write_meta)

__all__ = ["ALIASES", "CHROM_ORDER", "CLUMP_REQUIRED", "COLUMN_KEYS", "FIRTH_COLUMN", "LAYOUTS", "MR_REQUIRED",
           "SSF_COLUMNS", "SSF_EXTRA_COLUMNS", "SSF_VERSION", "SUMSTATS_SUFFIXES", "TWOSAMPLEMR_NAMES", "VALUE_RULES",
           "Z95", "FileTest", "SumstatsFormatter", "SumstatsLayout", "SumstatsMapping", "SumstatsMeta",
           "SumstatsStream", "SumstatsWriter", "check_sumstats_values", "chrom_key", "column_test", "combine_phenotype",
           "declared_build", "declared_builds", "detect_layout", "expand_sumstats", "genotype_chromosome_labels",
           "group_by_phenotype", "header_maps", "internal_columns", "load_sumstats",
           "looks_like_sumstats", "meta_path", "p_value_column", "p_value_strings", "parse_column_option",
           "phenotype_name", "read_header", "read_instruments", "read_phenotype_sumstats", "read_sumstats",
           "read_sumstats_columns", "reads_sub_folders", "round_significant", "sort_sumstats", "sumstats_columns",
           "sumstats_in_directory", "twosamplemr_columns", "twosamplemr_map", "write_meta"]
