"""A GWAS-VCF writer for tests (MRC IEU gwas-vcf specification, written from the specification, not by edfgen):
one study column, FORMAT ``ES:SE:LP:AF[:SS][:ID]`` as OpenGWAS files carry them."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd

HEADER = """##fileformat=VCFv4.2
##FILTER=<ID=PASS,Description="All filters passed">
##INFO=<ID=AF,Number=A,Type=Float,Description="Allele Frequency">
##FORMAT=<ID=ES,Number=A,Type=Float,Description="Effect size estimate relative to the alternative allele">
##FORMAT=<ID=SE,Number=A,Type=Float,Description="Standard error of effect size estimate">
##FORMAT=<ID=LP,Number=A,Type=Float,Description="-log10 p-value for effect estimate">
##FORMAT=<ID=AF,Number=A,Type=Float,Description="Alternate allele frequency in the association study">
##FORMAT=<ID=SS,Number=A,Type=Float,Description="Sample size used to estimate genetic effect">
##FORMAT=<ID=ID,Number=1,Type=String,Description="Study variant identifier">
##META=<ID=TotalVariants,Number=1,Type=Integer,Description="Total number of variants in input">
##SAMPLE=<ID={study},TotalVariants={n},{totals}>
##contig=<ID=1,length=249250621,assembly=HG19/GRCh37>
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{study}
"""


def _num(x) -> str:
    return "." if x is None or (isinstance(x, float) and np.isnan(x)) else repr(float(x))


def write_gwas_vcf(path, df: pd.DataFrame, study: str, *, sample_size: bool = True, study_id: bool = False,
                   cases: int | None = None, controls: int | None = None) -> None:
    """``df``: chromosome, base_pair_location, variant_id, effect_allele (ALT), other_allele (REF), beta,
    standard_error, p_value, effect_allele_frequency (NaN -> '.'), n. ``cases``/``controls``: a case-control
    study's totals on its ``##SAMPLE`` line (OpenGWAS's TotalCases/TotalControls META keys)."""
    fmt = "ES:SE:LP:AF" + (":SS" if sample_size else "") + (":ID" if study_id else "")
    rows = []
    for r in df.itertuples(index=False):
        vals = [_num(r.beta), _num(r.standard_error), _num(-np.log10(r.p_value)), _num(r.effect_allele_frequency)]
        vals += [str(int(r.n))] if sample_size else []
        vals += [str(r.variant_id)] if study_id else []
        info = f"AF={_num(r.effect_allele_frequency)}" if np.isfinite(r.effect_allele_frequency) else "."
        rows.append(f"{r.chromosome}\t{int(r.base_pair_location)}\t{r.variant_id}\t{r.other_allele}\t"
                    f"{r.effect_allele}\t.\tPASS\t{info}\t{fmt}\t{':'.join(vals)}")
    totals = ("StudyType=Continuous" if cases is None else
              f"TotalControls={float(controls)},TotalCases={float(cases)},StudyType=CaseControl")
    text = HEADER.format(study=study, n=len(df), totals=totals) + "\n".join(rows) + "\n"
    opener = gzip.open if str(path).endswith((".gz", ".bgz")) else open
    with opener(path, "wt") as fh:
        fh.write(text)
