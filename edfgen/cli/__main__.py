"""``python -m edfgen.cli`` (and ``torchrun -m edfgen.cli pretrain ...``)."""

from edfgen.cli import main

main()
