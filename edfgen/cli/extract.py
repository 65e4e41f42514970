"""``edfgen extract`` (ECGs -> EDF table) and ``edfgen interpret`` (EDFs vs known biomarkers)."""

from __future__ import annotations

from pathlib import Path

import click

from edfgen import DEFAULT_CHECKPOINT
from edfgen.cli._options import comma_list, force, out_dir, out_file, seed, verbosity


@click.command()
@click.option("--ecg", "ecg", multiple=True, required=True, type=click.Path(exists=True, path_type=Path),
              help="ECG file(s) or directory(ies): WFDB .hea(+.dat/.mat), .npy, .npz, HDF5, GE CardioSoft (UK Biobank) "
              "or GE MUSE XML (told by content). Repeatable.")
@out_file(help="EDF table: .tsv, .tsv.gz or .parquet (IID, edf_001 ...). Side files go beside it.")
@click.option("--checkpoint", default=DEFAULT_CHECKPOINT, show_default=True,
              help="Shipped checkpoint name (small, tiny) or path (.json).")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True, help="ECGs per model call.")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Processes reading/preprocessing ECGs (0: in the main process; default min(4, cores/2)).")
@click.option("--pca", type=click.IntRange(min=1), default=None, help="Also write the first K principal components.")
@click.option("--id-map", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="TSV with columns record, IID: participants with several ECGs get the mean EDF.")
@click.option("--fs", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Sampling rate (Hz) of files that carry none (.npy).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=2048, show_default=True,
              help="Records per durable chunk (resume granularity, bounds memory).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="Torch threads for the model (default: torch's; with --workers: cores - workers).")
@click.option("--force", is_flag=True, help="Replace an existing --out table and the side files its "
              "<out>.manifest.json lists (an interrupted run's parts are resumed; records whose files changed "
              "are recomputed).")
@verbosity
def extract(ecg, out, checkpoint, batch_size, workers, pca, id_map, fs, chunk_size, threads, force) -> None:
    """ECGs -> EDFs with a frozen encoder (resumes an interrupted run; bad records go to <out>.rejects.tsv)."""
    from edfgen.commands.extract import extract_edfs

    r = extract_edfs(list(ecg), out, checkpoint=checkpoint, batch_size=batch_size, workers=workers, pca=pca,
                     id_map=id_map, force=force, fs=fs, chunk_size=chunk_size, threads=threads)
    click.echo(f"{r.n_participants} participants x {r.n_edfs} EDFs -> {r.table} "
               f"({r.n_records} records, {r.n_rejected} rejected -> {r.rejects}"
               f"{f', {r.resumed} resumed' if r.resumed else ''})")


@click.command()
@click.option("--edf", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="EDF table from `edfgen extract`.")
@click.option("--biomarkers", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Table with IID and biomarker columns (e.g. physiology.tsv).")
@click.option("--measure-from", type=click.Path(exists=True, path_type=Path), default=None,
              help="Instead of --biomarkers: measure them on these ECGs (record name = IID).")
@click.option("--covar", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Table with IID and the covariates.")
@click.option("--covariates", callback=comma_list, default="age,sex", show_default=True,
              help="Covariate columns of --covar.")
@click.option("--biomarker-columns", callback=comma_list, default=None,
              help="Biomarkers to test (default: every numeric column).")
@out_dir()
@click.option("--p", "p_threshold", type=click.FloatRange(0, 1, min_open=True), default=0.01, show_default=True,
              help="Significance threshold.")
@click.option("--clusters", type=click.IntRange(min=1), default=4, show_default=True, help="k of the EDF k-means.")
@seed
@force
@verbosity
def interpret(edf, biomarkers, measure_from, covar, covariates, biomarker_columns, out, p_threshold, clusters,
              seed, force) -> None:
    """Which EDFs track which biomarkers: adjusted OLS table, heatmap and k-means clusters of EDFs."""
    from edfgen.commands.interpret import interpret_edfs

    r = interpret_edfs(edf, out, biomarkers=biomarkers, covar=covar, measure_from=measure_from,
                       covariates=covariates, biomarker_columns=biomarker_columns, p_threshold=p_threshold,
                       clusters=clusters, seed=seed, force=force)
    click.echo(f"{r.n_significant} of {r.n_edfs * len(r.biomarkers)} EDF-biomarker pairs with p < {p_threshold:g} "
               f"(n = {r.n_participants}) -> {r.associations}")
