"""``edfgen catalog download``: :class:`~edfgen.commands.options.CatalogDownloadOptions` -> the GWAS Catalog TSV."""

from __future__ import annotations

from pathlib import Path

from edfgen.commands.options import CatalogDownloadOptions


def download(o: CatalogDownloadOptions) -> Path:
    """Fetch the GWAS Catalog associations into ``o.out`` (:func:`edfgen.formats.catalog.download_catalog`)."""
    from edfgen.commands.annotate import download_catalog
    from edfgen.formats.catalog import CATALOG_URL

    return download_catalog(o.out, url=o.url or CATALOG_URL, timeout=o.timeout)
