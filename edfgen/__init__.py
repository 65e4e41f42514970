"""edfgen: 12-lead ECGs to genetic discoveries.

Stages (each a library function with a typed result and a thin CLI command):
``simulate`` -> ``extract`` (ECG encoder -> EDF table) -> ``gwas`` (Hail) -> ``clump``
-> ``annotate`` (GWAS Catalog novelty) -> ``mr`` (Mendelian randomization).
See ``../shared/DESIGN.md`` and the README.
"""

__version__ = "0.1.0"

#: The shipped encoder checkpoint used when ``--checkpoint`` is not given (``edfgen/checkpoints/small.*``;
#: ``tiny`` stays available by name). Kept here, free of torch, so option defaults can name it.
DEFAULT_CHECKPOINT = "small"
