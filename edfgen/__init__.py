"""edfgen: 12-lead ECGs to genetic discoveries.

Stages (each a command in :mod:`edfgen.commands`: an options dataclass and ``run(options)``):
``simulate`` -> ``extract`` (ECG encoder -> EDF table) -> ``gwas`` (streamed engine or Hail) -> ``clump``
-> ``annotate`` (GWAS Catalog novelty) -> ``mr`` (Mendelian randomization).

Rooms, by what a module knows (arrows one way): :mod:`edfgen.formats` (bytes),
:mod:`edfgen.kernels` (arrays), :mod:`edfgen.plots`, :mod:`edfgen.engines` (passes over genotypes),
:mod:`edfgen.model` and :mod:`edfgen.simulate`, :mod:`edfgen.commands`, :mod:`edfgen.pipeline`,
:mod:`edfgen.cli`. This root holds constants only and imports nothing of edfgen.
See ``../shared/DESIGN.md`` and the README's architecture section.
"""

__version__ = "0.1.0"

#: The shipped encoder checkpoint used when ``--checkpoint`` is not given (``edfgen/checkpoints/small.*``;
#: ``tiny`` stays available by name). Kept here, free of torch, so option defaults can name it.
DEFAULT_CHECKPOINT = "small"
