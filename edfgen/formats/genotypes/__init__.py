"""Genotype files, bytes only: one reader interface for every format (:mod:`.base`), one PLINK 1
parser (:mod:`.plink1`), PLINK 2 (:mod:`.pgen`), BGEN (:mod:`.bgen`), VCF/BCF (:mod:`.vcf`),
per-chromosome files read as one (:mod:`.multi`), the selection by ``--keep/--remove/--extract/--chr``
(:mod:`.selection`), one description of the user's genotype files (:class:`GenotypeSource`, opened by
:func:`open_genotypes`) and LD reference panels (:mod:`.panel`).
"""

from __future__ import annotations

from edfgen.formats.genotypes.base import GenotypeReader  # noqa: F401 (re-exported)
from edfgen.formats.genotypes.multi import ConcatReader  # noqa: F401
from edfgen.formats.genotypes.selection import (  # noqa: F401
                                                TEMPLATE_CHROMOSOMES,
                                                expand_template,
                                                parse_chromosomes,
                                                read_id_list,
                                                read_variant_list,
                                                select_samples,
                                                select_variants,
)
from edfgen.formats.genotypes.source import GenotypeSource, open_genotypes  # noqa: F401
