"""``edfgen catalog download``: :class:`CatalogDownloadOptions` -> the GWAS Catalog associations TSV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from edfgen.commands.options import CommandOptions, opt, out_opt


@dataclass(frozen=True)
class CatalogDownloadOptions(CommandOptions):
    """``edfgen catalog download`` (:func:`edfgen.formats.catalog.download_catalog`)."""

    command: ClassVar[str] = "catalog download"
    out: str | None = out_opt("file", "Output file.")
    url: str | None = opt(None, "Associations TSV (or .zip) URL (default: the EBI FTP 'latest' release).")
    timeout: float = opt(60.0, "Seconds before giving up.")


def run(o: CatalogDownloadOptions) -> Path:
    """Fetch the GWAS Catalog associations into ``o.out`` (:func:`edfgen.formats.catalog.download_catalog`)."""
    from edfgen.commands.annotate import download_catalog
    from edfgen.formats.catalog import CATALOG_URL

    return download_catalog(o.out, url=o.url or CATALOG_URL, timeout=o.timeout)
