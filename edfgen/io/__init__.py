"""File input/output: tables (TSV/parquet, atomic writes), GWAS-SSF summary statistics,
and the data dictionary that documents every output column."""

from edfgen.io.tables import atomic_path, atomic_write, read_table, write_table, prepare_out_dir

__all__ = ["atomic_path", "atomic_write", "read_table", "write_table", "prepare_out_dir"]
