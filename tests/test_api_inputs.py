"""ECG arrays handed to the encoder from Python (a notebook): the input contract ``[N, 12, T]`` float mV, and a record
built from a numpy array (``EcgRecord``: ``[leads, samples]``). A wrong layout, integer ADC counts or microvolts is one
clear edfgen error naming what to do, not a torch traceback or a misleading reason (session 41, s41api)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from edfgen.exceptions import InputError
from edfgen.kernels.ecg import LEADS
from edfgen.kernels.ecg.preprocess import preprocess
from edfgen.kernels.ecg.preprocessing_config import Preprocessing
from edfgen.kernels.ecg.record import EcgRecord, RecordRejected
from edfgen.model import ECGEncoder, get_config, load_checkpoint
from edfgen.simulate.ecg import BeatParams, synthesize_ecg

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def ecg():
    """One simulated 10 s 12-lead ECG, ``[12, 5000]`` mV at 500 Hz."""
    return synthesize_ecg(BeatParams(70, 160, 90, 400, 45, 1.5, 0.4, 0.12, 0.0), rng=np.random.default_rng(0)).astype(np.float32)


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return ECGEncoder(get_config("tiny")).eval()


def test_preprocess__a_samples_by_leads_array_is_named_not_too_short(ecg):
    """Was: 'too short: 0.024 s (12 samples at 500 Hz)' for a [5000, 12] array with 12 lead names."""
    with pytest.raises(RecordRejected, match=r"^record P1: signal of shape \(5000, 12\) .*\[leads, samples\].*signal\.T"):
        preprocess(EcgRecord("P1", ecg.T.copy(), 500.0, LEADS), Preprocessing())
    with pytest.raises(RecordRejected, match=r"shape \(5000,\)"):   # was an IndexError
        preprocess(EcgRecord("P1", ecg[0], 500.0, LEADS), Preprocessing())
    assert preprocess(EcgRecord("P1", ecg, 500.0, LEADS), Preprocessing()).shape == (12, 5000)


def test_encoder__wrong_layout_is_one_line_naming_the_fix(encoder, ecg):
    x = torch.from_numpy(ecg[:, :2500].copy())
    with pytest.raises(InputError, match=r"x\[None\]"):                   # was: unpack error / conv error
        encoder.embed(x)
    with pytest.raises(InputError, match=r"\[N, T, 12\].*transpose"):    # was: '... to have 12 channels, but got 2500'
        encoder.embed(x.T[None].contiguous())
    with pytest.raises(InputError, match="integer"):                     # ADC counts
        encoder.embed((x[None] * 1000).to(torch.int16))
    with pytest.raises(InputError, match="too short"):
        encoder.embed(x[None, :, :5])


def test_encoder__microvolts_are_refused_not_clipped(encoder, ecg):
    """Was: µV samples clamped at ±8 'mV' gave EDFs of a square wave, silently."""
    x = torch.from_numpy(ecg[:, :2500].copy())[None]
    with pytest.raises(InputError, match="µV"):
        encoder.embed(x * 1000)
    assert encoder.embed(x).shape == (1, 96)


def test_encoder__numpy_and_float64_are_converted(encoder, ecg):
    """Was: AttributeError 'numpy.ndarray' object has no attribute 'clamp_' / 'expected scalar type Double'."""
    x = ecg[None, :, :2500].copy()
    with torch.inference_mode():
        ref = encoder.embed(torch.from_numpy(x))
        assert torch.equal(encoder.embed(x), ref)
        assert torch.equal(encoder.embed(torch.from_numpy(x.astype(np.float64))), ref)


def test_encoder__the_bf16_wrapper_takes_numpy_too(encoder, ecg):
    """Was: AttributeError 'numpy.ndarray' object has no attribute 'device' from autocast_encoder(m, "bf16").embed(x)
    while the fp32 encoder took the same array (load_model(..., precision="auto") on a GPU gives the wrapper)."""
    from edfgen.model.device import autocast_encoder

    x = ecg[None, :, :2500].astype(np.float64)
    wrapped = autocast_encoder(encoder, "bf16")
    with torch.inference_mode():
        got, ref = wrapped.embed(x), wrapped.embed(torch.from_numpy(x))
    assert got.dtype == torch.float32 and got.shape == (1, 96) and torch.equal(got, ref)


def test_loaded_model__repr_is_one_readable_line():
    """Was: 5,465 characters, the whole module tree of the encoder."""
    r = repr(load_checkpoint("tiny"))
    assert "\n" not in r and len(r) < 300
    assert "tiny" in r and "sha256=" in r and "eval" in r


def test_commands__a_dataframe_for_a_file_is_one_line_naming_the_option(tmp_path):
    """Was: TypeError tracebacks (run_gwas, run_clump, extract_edfs), and run_mr read the DataFrame's column names as
    files ('--exposure chromosome: file not found')."""
    from edfgen.commands.clump import run_clump
    from edfgen.commands.extract import extract_edfs
    from edfgen.commands.gwas import run_gwas
    from edfgen.commands.mr import run_mr
    from edfgen.formats.genotypes.source import GenotypeSource

    df = pd.DataFrame({"chromosome": ["1"], "IID": ["A"]})
    for ext in (".bed", ".bim", ".fam"):   # (the source checks that its files exist; the GWAS never reads them)
        (tmp_path / f"g{ext}").write_bytes(b"")
    calls = {"--pheno": lambda: run_gwas(GenotypeSource(bfile=str(tmp_path / "g")), df, None, tmp_path / "gwas"),
             "--covar": lambda: run_gwas(GenotypeSource(bfile=str(tmp_path / "g")), tmp_path / "p.tsv", df,
                                         tmp_path / "gwas"),
             "--sumstats": lambda: run_clump([df], out_dir=tmp_path / "clump", bfile=tmp_path / "g"),
             "--exposure": lambda: run_mr(df, tmp_path / "o.tsv", None),
             "--outcome": lambda: run_mr([tmp_path / "e.tsv"], df, None),
             "--ecg": lambda: extract_edfs(df, tmp_path / "edfs.tsv")}
    for flag, call in calls.items():
        with pytest.raises(InputError, match=rf"^{flag}: a file path is expected, got a pandas.*DataFrame: write it "
                                             r"first \(df\.to_csv"):
            call()
    assert not (tmp_path / "gwas").exists() and not (tmp_path / "clump").exists()


def test_interpret_annotate_finemap_coloc__a_dataframe_for_a_file_is_one_line_naming_the_option(tmp_path):
    """s42files #6: the commands s41 left out (interpret_edfs; run_annotate; run_finemap's and run_coloc's loci) gave
    'TypeError: expected str, bytes or os.PathLike object, not DataFrame' from deep inside; now the same one line as
    run_gwas, naming the option, before anything is written."""
    from edfgen.commands.annotate import run_annotate
    from edfgen.commands.coloc import run_coloc
    from edfgen.commands.finemap import run_finemap
    from edfgen.commands.interpret import interpret_edfs
    from edfgen.formats.genotypes.source import GenotypeSource

    df = pd.DataFrame({"chromosome": ["1"], "IID": ["A"]})
    for ext in (".bed", ".bim", ".fam"):
        (tmp_path / f"g{ext}").write_bytes(b"")
    sumstats = tmp_path / "s.tsv"
    sumstats.write_text("variant_id\tchromosome\tbase_pair_location\teffect_allele\tother_allele\tbeta\t"
                        "standard_error\tp_value\nrs1\t1\t100\tA\tG\t0.1\t0.1\t0.5\n")
    g, f = GenotypeSource(bfile=str(tmp_path / "g")), tmp_path / "f.tsv"
    calls = {"--edf": lambda: interpret_edfs(df, tmp_path / "i", biomarkers=f),
             "--biomarkers": lambda: interpret_edfs(f, tmp_path / "i", biomarkers=df),
             "--covar": lambda: interpret_edfs(f, tmp_path / "i", biomarkers=f, covar=df),
             "--measure-from": lambda: interpret_edfs(f, tmp_path / "i", measure_from=df),
             "--loci": lambda: run_annotate(df, f, tmp_path / "a.tsv", any_trait=True),
             "--catalog": lambda: run_annotate(f, df, tmp_path / "a.tsv", any_trait=True),
             "--genes": lambda: run_annotate(f, f, tmp_path / "a.tsv", any_trait=True, genes=df),
             "--sumstats": lambda: run_annotate(f, f, tmp_path / "a.tsv", any_trait=True, sumstats=df),
             "--ld-bfile": lambda: run_annotate(f, f, tmp_path / "a.tsv", any_trait=True, ld_bfile=df),
             "--loci ": lambda: run_finemap([sumstats], loci=df, out_dir=tmp_path / "fm", genotypes=g),
             "--loci  ": lambda: run_coloc([sumstats], [sumstats], loci=df, out_dir=tmp_path / "co", genotypes=g)}
    for flag, call in calls.items():
        with pytest.raises(InputError, match=rf"^{flag.strip()}: a file path is expected, got a pandas.*DataFrame: "
                                             r"write it first \(df\.to_csv"):
            call()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.bed", "g.bim", "g.fam", "s.tsv"]


def test_run_pretrain__takes_the_commands_defaults_and_its_ecg_and_out_by_position(tmp_path, monkeypatch):
    """s42files #6: run_pretrain made every option a required keyword (`run_pretrain("ecgs/", "out")` was a TypeError
    naming 17 missing arguments), unlike extract_edfs and the README's promise of the command's defaults. It now takes
    the defaults of PretrainOptions, ecg and out by position, one path as one folder; no out is one line."""
    import edfgen.model.pretrain as mp
    from edfgen.commands.pretrain import PretrainOptions, run_pretrain

    seen = {}

    def pretrain(out, *, config, settings, ecg, simulated, **kw):
        seen.update(out=out, config=config.name, steps=settings.steps, lr=settings.lr, ecg=ecg, simulated=simulated)
        return "result"

    monkeypatch.setattr(mp, "pretrain", pretrain)
    (tmp_path / "ecgs").mkdir()
    assert run_pretrain(str(tmp_path / "ecgs"), tmp_path / "out", steps=5) == "result"
    assert seen == {"out": tmp_path / "out", "config": PretrainOptions.config_name, "steps": 5,
                    "lr": PretrainOptions.lr, "ecg": [str(tmp_path / "ecgs")], "simulated": 0}
    assert run_pretrain(out=tmp_path / "out2", simulated=8, force=True) == "result" and seen["ecg"] == []
    with pytest.raises(InputError, match=r"^pretrain: --out is required"):
        run_pretrain(str(tmp_path / "ecgs"))
    with pytest.raises(InputError, match=r"^--ecg: a file path is expected, got a pandas"):
        run_pretrain(pd.DataFrame({"a": [1]}), tmp_path / "out3")


def test_result_reprs__one_line_with_tables_as_their_shapes():
    """Was: MRRun's repr printed every table in full (5,233 characters over 82 lines on a 2 x 2 run), GwasResult's and
    ClumpRun's their tables too."""
    import importlib

    from edfgen.reprs import ReadableRepr

    big = pd.DataFrame(np.zeros((500, 9)), columns=[f"c{i}" for i in range(9)])
    classes = {"commands.gwas": "GwasResult", "commands.clump": "ClumpRun", "commands.mr": "MRRun",
               "commands.interpret": "InterpretResult", "commands.pca": "PCAResult", "commands.ldsc": "LdscRun",
               "commands.finemap": "FinemapRun", "commands.coloc": "ColocRun", "model.evaluation": "EvaluationResult",
               "model.finetune": "FinetuneResult"}
    for module, name in classes.items():
        cls = getattr(importlib.import_module(f"edfgen.{module}"), name)
        assert issubclass(cls, ReadableRepr) and cls.__repr__ is ReadableRepr.__repr__, name
    from edfgen.commands.mr import MRRun

    r = repr(MRRun(tables={"mr_results": big}, harmonised=big, n_pairs=4, seconds=1.5, plots=tuple(f"p{i}.png" for i in range(99))))
    assert "\n" not in r and len(r) < 600, r
    assert "mr_results': <DataFrame 500 x 9: c0, c1, c2, c3, c4, c5, ...>" in r and "n_pairs=4" in r


def test_extract_edfs__an_ecg_array_points_to_the_in_memory_path(tmp_path):
    from edfgen.commands.extract import extract_edfs

    with pytest.raises(InputError, match=r"^--ecg: a file path is expected, got a numpy.ndarray: for ECGs held in "
                                         r"memory, preprocess\(EcgRecord"):
        extract_edfs(np.zeros((2, 12, 5000), np.float32), tmp_path / "edfs.tsv")


def test_measure_biomarkers__a_samples_by_leads_array_says_transpose(ecg):
    from edfgen.kernels.ecg.biomarkers import measure_biomarkers

    with pytest.raises(InputError, match=r"got shape \(5000, 12\): it looks like \[T, 12\], pass ecg\.T"):
        measure_biomarkers(ecg.T, 500)


def test_zstats_files__one_path_as_a_string_is_that_file_not_its_characters(tmp_path):
    """Was: run_ldsc / run_finemap / run_coloc("gwas/y.tsv.gz") (documented "str, Path or list of them") read the
    string per character, and '/' sent them through every folder under the root: '--sumstats /: directory and its
    sub-folders (bin, boot, dev, ...) hold no summary-statistics files'."""
    from edfgen.formats.sumstats.zscores import zstats_files

    f = tmp_path / "y.tsv"
    pd.DataFrame({"variant_id": ["rs1"], "chromosome": ["1"], "base_pair_location": [10], "effect_allele": ["A"],
                  "other_allele": ["G"], "beta": [0.1], "standard_error": [0.01], "p_value": [1e-20],
                  "n": [1000]}).to_csv(f, sep="\t", index=False)
    assert zstats_files(str(f)) == [f] and zstats_files(f) == [f] and zstats_files([str(f)]) == [f]


def test_encoder__one_outlier_record_in_a_mv_batch_does_not_stop_the_batch(encoder, ecg):
    """A quality threshold loosened by the user (max_median_sd_mv=20) lets a noisy record through preprocessing; the
    encoder's units check judges the batch's median record, so it cannot end an extract run, while an all-µV batch
    is still refused."""
    x = torch.from_numpy(ecg[:, :2500].copy())[None].repeat(3, 1, 1)
    x[1] *= 100                      # median lead SD 16 mV, above the clip level 8
    assert encoder.embed(x).shape == (3, 96)
    with pytest.raises(InputError, match="µV"):
        encoder.embed(x * 1000)


def test_extract_edfs__a_noisy_record_let_through_alone_in_its_batch_is_embedded(ecg, tmp_path):
    """Was (review of s41api): the encoder's units check judged the median record of each model call, so a noisy
    record that loosened quality thresholds let through stopped the whole extract run ('median lead SD 16 ... µV or
    ADC counts?', naming no record) when it fell alone in a batch (here the last one, --batch-size 2). Preprocess has
    judged each record's amplitude already: all 3 records are embedded, whatever the batch size."""
    import dataclasses

    from edfgen.commands.extract import extract_edfs
    from edfgen.kernels.ecg.preprocess import QualityThresholds

    d = tmp_path / "ecg"
    d.mkdir()
    for name, scale in (("a", 1), ("b", 1), ("z_noisy", 100)):    # z_noisy: median lead SD ~16 mV, clip level 8
        np.savez(d / f"{name}.npz", ecg=ecg * scale, fs=500.0, leads=np.array(LEADS), units="mV")
    quality = dataclasses.replace(QualityThresholds(), max_median_sd_mv=100.0, max_abs_mv=1e4)
    for bs in (2, 64):
        r = extract_edfs([d], tmp_path / f"out{bs}" / "edfs.tsv", checkpoint="tiny", workers=0, batch_size=bs,
                         quality=quality)
        assert (r.n_records, r.n_rejected) == (3, 0), bs


def test_model_loops_skip_the_batch_units_check_on_preprocessed_signals(encoder, ecg):
    """Fine-tuning and evaluate embed preprocessed signals in batches: a last minibatch holding one record above the
    clip level is embedded (was: InputError mid-run), while ``embed`` called by a user on raw µV is still refused."""
    from edfgen.model.data import embed_ecgs
    from edfgen.model.device import autocast_encoder

    sig = np.stack([ecg, ecg, ecg * 100])
    assert embed_ecgs(encoder, sig, 2500, batch_size=2).shape == (3, 96)
    from edfgen.kernels.edf import embed_preprocessed

    x = torch.from_numpy(ecg[:, :2500] * 1000)[None]
    assert embed_preprocessed(encoder, x).shape == (1, 96)
    assert embed_preprocessed(autocast_encoder(encoder, "bf16"), x).shape == (1, 96)
    with pytest.raises(InputError, match="µV"):
        encoder.embed(x)
    with pytest.raises(InputError, match="µV"):
        autocast_encoder(encoder, "bf16").embed(x)


def test_extract_edfs__a_bad_checkpoint_leaves_torch_threads_as_they_were(tmp_path, ecg):
    """Was: ``threads`` was set before the try that restores it and the checkpoint was loaded in between, so a
    missing or corrupt checkpoint left a notebook's torch on the command's thread count."""
    from edfgen.commands.extract import extract_edfs

    np.savez(tmp_path / "a.npz", ecg=ecg, fs=500.0, leads=np.array(LEADS), units="mV")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    before = torch.get_num_threads()
    with pytest.raises(Exception):
        extract_edfs([tmp_path / "a.npz"], tmp_path / "out" / "edfs.tsv", checkpoint=bad, workers=0,
                     threads=before + 1)
    assert torch.get_num_threads() == before


def _paths(tmp_path, n=2):
    out = []
    for i in range(n):
        f = tmp_path / f"f{i}.tsv"
        f.write_text("x\n")
        out.append(str(f))
    return out


@pytest.mark.parametrize("kind", ["Series", "Index", "ndarray[str]", "ndarray[object]", "tuple[Path]", "generator"])
def test_file_args__a_list_of_paths_in_a_series_index_or_string_array_is_a_list(tmp_path, kind):
    """Was (s41api): anything with ``to_csv`` or ``__array__`` was taken for a table, so ``df['path']``,
    ``pd.Index(paths)`` or ``np.array(glob(...))`` was refused ('got a pandas.Series: write it first (df.to_csv') where
    the release before took it. A 1-D string/object array, Series or Index is a list of paths; a DataFrame and a
    numeric or 2-D array are still refused in one line."""
    from pathlib import Path

    from edfgen.formats.paths import file_args

    paths = _paths(tmp_path)
    value = {"Series": lambda: pd.Series(paths), "Index": lambda: pd.Index(paths), "ndarray[str]": lambda: np.array(paths),
             "ndarray[object]": lambda: np.array(paths, dtype=object), "tuple[Path]": lambda: tuple(map(Path, paths)),
             "generator": lambda: (p for p in paths)}[kind]()
    assert [str(p) for p in file_args(value, "--ecg")] == paths


def test_file_args__tables_numeric_arrays_and_bytes(tmp_path):
    """A DataFrame, a numeric or 2-D array are refused naming the option; a ``bytes`` path is one path (was: iterated
    as ints, '--ecg: a file path is expected, got a builtins.int')."""
    from edfgen.formats.paths import file_arg, file_args

    paths = _paths(tmp_path)
    assert file_args(paths[0].encode(), "--ecg") == [paths[0]] and file_arg(paths[0].encode(), "--pheno") == paths[0]
    assert file_args([p.encode() for p in paths], "--ecg") == paths
    for bad, what in ((pd.DataFrame({"path": paths}), r"pandas.*DataFrame: write it first"),
                      (np.zeros((2, 12, 5000), np.float32), "numpy.ndarray: for ECGs held in memory"),
                      (np.array([paths, paths]), "numpy.ndarray"), (pd.Series([1.0, 2.0]), "pandas.*Series"),
                      (torch.zeros(3), "torch.Tensor")):
        with pytest.raises(InputError, match=rf"^--ecg: a file path is expected, got a {what}"):
            file_args(bad, "--ecg")


def test_commands_take_a_series_or_string_array_of_paths(tmp_path):
    """run_evaluate / run_finetune (--ecg), run_clump (--sumstats) and run_mr (--exposure, --outcome) take a Series or
    a 1-D string array of paths as the list they are (was: refused as a table). Each call fails later, on the files'
    content, with an error that is not the 'a file path is expected' refusal."""
    from edfgen.commands.clump import run_clump
    from edfgen.commands.evaluate import run_evaluate
    from edfgen.commands.finetune import run_finetune
    from edfgen.commands.mr import run_mr

    paths = _paths(tmp_path)
    for wrap in (pd.Series, np.array):
        # each call's own later error (the files are not ECGs, no panel, no disease head): never the path check's
        calls = {"no disease head": lambda: run_evaluate(checkpoint="tiny", ecg=wrap(paths), out=tmp_path / "ev"),
                 "f0.tsv: unsupported file type": lambda: run_finetune(checkpoint="tiny", ecg=wrap(paths),
                                                                       labels=paths[0], out=tmp_path / "ft"),
                 "g.bed not found": lambda: run_clump(wrap(paths), out_dir=tmp_path / "clump", bfile=tmp_path / "g"),
                 "clumps the exposure instruments": lambda: run_mr(wrap(paths), paths[0], None)}
        for later, call in calls.items():
            with pytest.raises(InputError, match=later):
                call()
        with pytest.raises(InputError, match="clumps the exposure instruments"):
            run_mr(paths[0], wrap(paths), None)


def test_short_repr__numpy_scalars_as_values_and_lists_of_tables_on_one_line():
    """Was: short_repr(np.float64(0.83)) -> '<float64 () float64>'; a list of DataFrames printed their full reprs
    with newlines, then cut at 200 characters."""
    from edfgen.reprs import short_repr

    assert short_repr(np.float64(0.83)) == "0.83" and short_repr(np.int64(3)) == "3"
    df = pd.DataFrame(np.zeros((50, 3)), columns=["a", "b", "c"])
    assert short_repr([df, df]) == "[<DataFrame 50 x 3: a, b, c>, <DataFrame 50 x 3: a, b, c>]"
    assert short_repr((df,)) == "(<DataFrame 50 x 3: a, b, c>,)"
    assert short_repr([1, 2]) == "[1, 2]" and short_repr(np.zeros(3)) == "<ndarray (3,) float64>"


def test_short_repr__long_values_cut_alike_with_a_closing_bracket_only_after_an_opening_one():
    """Was: a long string or list ended in ' ...>' though it opened no '<'; a dict of many tables was not cut at all
    (a list of the same tables was)."""
    from edfgen.reprs import MAX_FIELD_CHARS, short_repr

    df = pd.DataFrame(np.zeros((5, 3)), columns=["a", "b", "c"])
    tables = {f"table_{i}": df for i in range(20)}
    for value in (tables, list(tables.values()), "x" * 300, list(range(200))):
        text = short_repr(value)
        assert len(text) == MAX_FIELD_CHARS and text.endswith(" ...") and not text.endswith(">"), text[-20:]
    assert short_repr(pd.Timestamp(0)) == repr(pd.Timestamp(0))


def test_library_path_arguments_take_bytes_and_refuse_tables_as_the_commands_do(tmp_path):
    """evaluate_ecgs and zstats_files wrote their own one-path-or-list rule, which read a bytes path as a list of ints
    and a DataFrame as its column names; they share file_args with the commands now."""
    from edfgen.formats.sumstats.zscores import zstats_files
    from edfgen.model.evaluation import EvaluateSettings, evaluate_ecgs

    f = tmp_path / "bmi.tsv"
    f.write_text("variant_id\tchromosome\tbase_pair_location\teffect_allele\tother_allele\tbeta\tstandard_error\t"
                 "p_value\nrs1\t1\t100\tA\tG\t0.1\t0.02\t1e-6\n")
    assert [str(p) for p in zstats_files(bytes(f))] == [str(f)]
    with pytest.raises(InputError, match=r"^--sumstats: a file path is expected, got a pandas.*DataFrame"):
        zstats_files(pd.DataFrame({"path": [str(f)]}))
    linear = EvaluateSettings(probe="linear")     # (the shipped tiny checkpoint has no disease head)
    with pytest.raises(InputError, match=rf"^--ecg {f}: labels can only be found in a folder"):   # was: '--ecg given
        evaluate_ecgs("tiny", bytes(f), settings=linear)                                         # 15 times'
    with pytest.raises(InputError, match=r"^--ecg: a file path is expected"):   # was: '--ecg path: labels can only'
        evaluate_ecgs("tiny", pd.DataFrame({"path": [str(f)]}), settings=linear)
