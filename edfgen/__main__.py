"""``python -m edfgen``."""

from edfgen.cli import main

main()
