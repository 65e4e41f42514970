"""edfgen pca: Hail hwe_normalized_pca vs an independent numpy eigen-decomposition; pcs.tsv as --covar."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.qc import QCSettings
from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.commands.pca import run_pca
from edfgen.formats.dictionary import check_file

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def pca_run(hail_context, sim_cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("pca") / "out"
    before = hail_tmp_listing(hail_context)
    res = run_pca(GenotypeSource(bfile=str(sim_cohort / "genotypes")), out, k=4, maf=0.05, ld_r2=0.2,
                  ld_window_kb=500)
    return out, res, (before, hail_tmp_listing(hail_context))


def hail_tmp_listing(hl) -> set:
    """The names in Hail's temporary folder."""
    import os

    return set(os.listdir(hl.tmp_dir().removeprefix("file://")))


def test_run_pca__matches_numpy_eigen_of_hwe_normalised_grm(pca_run, sim_cohort):
    from bed_reader import open_bed

    out, res, _ = pca_run
    pv = pd.read_csv(out / "pruned_variants.tsv", sep="\t", dtype={"variant_id": str})
    assert 50 < len(pv) == res.n_variants < 6000
    with open_bed(str(sim_cohort / "genotypes.bed")) as bed:
        idx = pd.Index(bed.sid.astype(str)).get_indexer(pv["variant_id"])
        assert (idx >= 0).all()
        G = bed.read(index=np.s_[:, idx], dtype="float64")
        iid = bed.iid.astype(str)
    # HWE normalisation (Patterson 2006 / Hail): (g - 2p) / sqrt(2p(1-p) M), missing calls -> 0
    p = np.nanmean(G, axis=0) / 2
    X = np.nan_to_num((G - 2 * p) / np.sqrt(2 * p * (1 - p) * G.shape[1]))
    evals, evecs = np.linalg.eigh(X @ X.T)
    evals, evecs = evals[::-1][:4], evecs[:, ::-1][:, :4]
    np.testing.assert_allclose(res.eigenvalues, evals, rtol=1e-6)
    pcs = pd.read_csv(out / "pcs.tsv", sep="\t", dtype={"IID": str}).set_index("IID").loc[iid]
    ref = evecs * np.sqrt(evals)
    for k in range(4):
        got = pcs[f"PC{k + 1}"].to_numpy()
        sign = np.sign(got @ ref[:, k])
        np.testing.assert_allclose(got, sign * ref[:, k], atol=1e-6 * np.abs(ref[:, k]).max())
    ev = pd.read_csv(out / "eigenvalues.tsv", sep="\t")
    np.testing.assert_allclose(ev["eigenvalue"], evals, rtol=1e-6)
    for entry, f in (("pcs", "pcs.tsv"), ("pca_eigenvalues", "eigenvalues.tsv"), ("pca_variants", "pruned_variants.tsv")):
        check_file(entry, out / f)
    man = json.loads((out / "manifest.json").read_text())
    assert man["parameters"]["k"] == 4 and man["extra"]["n_variants"] == len(pv)


def test_run_pca__pcs_work_as_gwas_covariates(pca_run, sim_cohort, tmp_path):
    out, _, _ = pca_run
    cov = pd.read_csv(sim_cohort / "covariates.tsv", sep="\t", dtype={"IID": str})
    pcs = pd.read_csv(out / "pcs.tsv", sep="\t", dtype={"IID": str})
    cov.merge(pcs, on="IID").to_csv(tmp_path / "covar.tsv", sep="\t", index=False)
    g = tmp_path / "gwas"
    res = run_gwas(GenotypeSource(bfile=str(sim_cohort / "genotypes")), sim_cohort / "physiology.tsv",
                   tmp_path / "covar.tsv", g, pheno_cols=["heart_rate_bpm"],
                   covar_cols=["age", "sex", "PC1..PC4"], qc=QCSettings(), settings=GwasSettings(plots=False))
    man = json.loads((g / "manifest.json").read_text())
    assert man["parameters"]["covariates"] == ["intercept", "age", "sex", "PC1", "PC2", "PC3", "PC4"]
    assert res.summary.loc[0, "n"] == 1000 and 0.8 < res.summary.loc[0, "lambda_gc"] < 1.3


def test_run_pca__plink2_files_and_min_info_refused_naming_the_fix_not_a_missing_option(tmp_path):
    """Review s30j F1: pca offered --pfile and --min-info, then refused them by pointing to `--engine fast`, an
    option pca does not have. They are no longer pca options, and a source that carries them (the API, a
    pipeline) is refused with the conversion to use."""
    from click.testing import CliRunner

    from edfgen.cli import cli
    from edfgen.exceptions import InputError

    for ext in ("pgen", "pvar", "psam", "bed", "bim", "fam"):
        (tmp_path / f"g.{ext}").write_text("")
    g = str(tmp_path / "g")
    with pytest.raises(InputError, match=rf"--pfile {g}: edfgen pca reads --bfile.*plink2 --pfile {g} --make-bed") as e:
        run_pca(GenotypeSource(pfile=g), tmp_path / "o")
    assert "--engine" not in str(e.value)
    with pytest.raises(InputError, match=r"--min-info 0.8: edfgen pca takes no INFO filter; give --extract"):
        run_pca(GenotypeSource(bfile=g, min_info=0.8), tmp_path / "o")
    assert not (tmp_path / "o").exists()
    help_text = CliRunner().invoke(cli, ["pca", "--help"]).output
    assert "--bfile" in help_text and "--pfile" not in help_text and "--min-info" not in help_text


def test_check_keep__id_format_hint_only_when_no_id_matched(tmp_path):
    """Review s30j nit: one matching IID got the hint that the id formats look different."""
    from edfgen.commands.pca import _check_keep
    from edfgen.exceptions import InputError

    for ext in ("bed", "bim", "fam"):
        (tmp_path / f"g.{ext}").write_text("")
    src = GenotypeSource(bfile=str(tmp_path / "g"))
    geno = np.array(["P1", "P2", "P3"])
    with pytest.raises(InputError, match=r"1 of its 1 IIDs are in --\w+ \S+; need at least 2$"):
        _check_keep({"P2"}, geno, "k.txt", src)
    with pytest.raises(InputError, match=r"0 of its 1 IIDs .*IIDs look like 'P1', --keep IIDs like '2'"):
        _check_keep({"2"}, geno, "k.txt", src)


def test_run_pca__too_few_pruned_variants_names_the_filters_that_left_them(hail_context, tiny_sim_cohort, tmp_path):
    """Review s30j nit: `--maf 0.5` leaving 1 variant was blamed on --k alone. (Its temporary tables are removed
    after the error too: review s34e F2.)"""
    from edfgen.exceptions import InputError

    before = hail_tmp_listing(hail_context)
    with pytest.raises(InputError, match=r"--k 4: .*pruned variants \(\d+, left by --maf 0.5, --ld-r2 0.2, "
                                         r"--ld-window-kb 500\)"):
        run_pca(GenotypeSource(bfile=str(tiny_sim_cohort / "genotypes")), tmp_path / "o", k=4, maf=0.5)
    assert hail_tmp_listing(hail_context) == before


def test_run_pca__leaves_no_temporary_table_in_hails_folder(pca_run):
    """Review s34e F2: the 'pca-*.mt' checkpoint, hl.ld_prune's tables and the tables Hail persisted stayed in
    Hail's temporary folder after every run (the per-user folder is reused: they piled up)."""
    before, after = pca_run[2]
    assert after == before


def test_scratch_tmp_dir__removes_what_hail_wrote_within_and_nothing_else(hail_context):
    """What Hail writes to its temporary folder within the block (new_temp_file checkpoints, persisted tables)
    goes to a sub-folder removed after, also on an error; a table of the same kind written before is kept, and
    Hail's folder is set back."""
    import os

    from edfgen.engines.hail_tmp import scratch_tmp_dir

    hl = hail_context
    tmp = hl.tmp_dir()
    theirs = os.path.join(tmp.removeprefix("file://"), "king-not-this-run.ht")
    os.makedirs(theirs, exist_ok=True)
    before, local = hail_tmp_listing(hl), hl.current_backend().local_tmpdir
    with pytest.raises(ZeroDivisionError):
        with scratch_tmp_dir(hl, "king") as sub:
            ht = hl.utils.range_table(10).checkpoint(hl.utils.new_temp_file("king", "ht"))
            assert ht.aggregate(hl.agg.sum(ht.idx)) == 45 and hl.tmp_dir() == sub
            assert hl.current_backend().local_tmpdir.removeprefix("file://") == sub   # (hl.index_bgen writes there)
            ht.persist()
            assert os.listdir(sub.removeprefix("file://"))
            1 / 0
    assert hail_tmp_listing(hl) == before and os.path.isdir(theirs) and hl.tmp_dir() == tmp
    assert hl.current_backend().local_tmpdir == local


def test_scratch_tmp_dir__a_failed_switch_sets_both_folders_back(tmp_path):
    """Hail's remote folder was switched to the sub-folder before the try: when switching the local one failed,
    the remote one stayed on the deleted sub-folder (review of s38). Both are set back now (no Hail needed: a
    stand-in backend that refuses a new local folder)."""
    import contextlib
    import os
    import shutil
    from types import SimpleNamespace

    from edfgen.engines.hail_tmp import scratch_tmp_dir

    class Backend:
        remote_tmpdir, _local = str(tmp_path), f"file://{tmp_path}"

        @property
        def local_tmpdir(self):
            return self._local

        @local_tmpdir.setter
        def local_tmpdir(self, value):
            if value != f"file://{tmp_path}":
                raise OSError("refused")
            self._local = value

    @contextlib.contextmanager
    def temporary_directory(prefix, dir):
        sub = os.path.join(dir, f"{prefix}x")
        os.makedirs(sub)
        try:
            yield sub
        finally:
            shutil.rmtree(sub)

    backend = Backend()
    hl = SimpleNamespace(current_backend=lambda: backend, TemporaryDirectory=temporary_directory)
    with pytest.raises(OSError, match="refused"):
        with scratch_tmp_dir(hl, "king"):
            pass
    assert (backend.remote_tmpdir, backend.local_tmpdir) == (str(tmp_path), f"file://{tmp_path}")
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_hail_pca__not_biallelic_variants_left_out_as_in_qc(hail_context, tmp_path):
    """A .bim's allele 0 (PLINK's missing code) or the same allele twice: QC leaves such a variant out as not
    biallelic (hail._biallelic), the PCA kept any variant with two alleles (review of s38). One rule now."""
    from bed_reader import to_bed

    from edfgen.engines.hail import hail_pca
    from edfgen.engines.hail_import import import_genotypes

    n = 60
    ids = [f"S{i:02d}" for i in range(n)]
    g = np.random.default_rng(4).binomial(2, 0.4, (n, 5)).astype(np.float32)
    to_bed(tmp_path / "g.bed", g, count_A1=True, properties={
        "iid": ids, "fid": ids, "sid": [f"rs{j + 1}" for j in range(5)], "chromosome": ["1"] * 5,
        "bp_position": 1_000_000 * np.arange(1, 6), "allele_1": ["0", "G", "G", "A", "G"],
        "allele_2": ["A", "A", "A", "A", "A"]})
    mt = import_genotypes(GenotypeSource(bfile=str(tmp_path / "g")), hl=hail_context)
    pv = hail_pca(hail_context, mt, None, k=1, maf=0.0, ld_r2=0.99, ld_window_kb=1)[2]
    assert sorted(pv["variant_id"]) == ["rs2", "rs3", "rs5"]


def _plink2_bgen(tmp_path, bits: int):
    """A 30-sample, 60-variant BGEN of plink2 --dummy (positions from 1000 on), ``bits`` per probability."""
    import shutil
    import subprocess

    if not shutil.which("plink2"):
        pytest.skip("plink2 not installed")
    run = dict(cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(["plink2", "--dummy", "30", "60", "acgt", "--out", "d"], **run)
    pvar = (tmp_path / "d.pvar").read_text().splitlines()
    (tmp_path / "d.pvar").write_text("\n".join([pvar[0]] + ["\t".join([f[0], str(100 * int(f[1]) + 1000), *f[2:]])
                                                            for f in (ln.split("\t") for ln in pvar[1:])]) + "\n")
    subprocess.run(["plink2", "--pfile", "d", "--export", f"bgen-1.{3 if bits == 16 else 2}", f"bits={bits}",
                    "ref-first", "--out", f"g{bits}"], **run)
    return GenotypeSource(bgen=str(tmp_path / f"g{bits}.bgen"), sample=str(tmp_path / f"g{bits}.sample"))


def test_run_pca__a_16_bit_bgen_is_refused_before_hail_without_naming_an_engine(tmp_path, monkeypatch):
    """Was (known defect, s38): edfgen pca on a 16-bit BGEN (plink2's default export) started Hail and ended in a
    Java traceback ("Hail only supports 8-bit probabilities, found 16."), and on haploid BGEN samples advised
    "--engine fast", an option pca does not have. Now the file's bits are checked before Hail starts, and the
    advice is what pca can do."""
    from edfgen.commands import pca
    from edfgen.exceptions import InputError

    source = _plink2_bgen(tmp_path, 16)
    monkeypatch.setattr(pca, "init_hail", lambda *a, **k: pytest.fail("Hail started"))
    with pytest.raises(InputError) as e:
        run_pca(source, tmp_path / "out", k=2)
    assert str(e.value) == (f"--bgen {source.bgen}: 16 bits per probability; the Hail engine reads 8-bit BGEN only "
                            "(edfgen pca runs on Hail, which reads 8-bit BGEN of diploid samples only: convert them "
                            "(plink2 --export bgen-1.2 bits=8), or leave out chromosomes with haploid samples "
                            "(--chr 1-22))")


def test_run_pca__hails_bgen_errors_get_pcas_advice_not_an_engine_switch(tmp_path, monkeypatch):
    """Hail's errors on a BGEN it cannot read, raised lazily inside the PCA (haploid samples, and the 8-bit message,
    which was no input error at all: a traceback), are one line naming the file and pca's advice."""
    from types import SimpleNamespace

    from edfgen.commands import pca
    from edfgen.engines.hail_import import hail_input_error
    from edfgen.exceptions import InputError

    source = _plink2_bgen(tmp_path, 8)
    fatal = type("FatalError", (Exception,), {"__module__": "hail.utils.java"})
    said = {"haploid": "Error summary: HailException: Hail only supports diploid genotypes. Found min ploidy '1' "
                       "and max ploidy '2'.",
            "bits": "Error summary: HailException: Hail only supports 8-bit probabilities, found 16."}
    for what, text in said.items():
        def broken(*a, text=text, **k):
            raise fatal(text)
        mt = SimpleNamespace(s=SimpleNamespace(collect=lambda: ["per_0", "per_1"]))
        monkeypatch.setattr(pca, "init_hail", lambda *a, **k: None)
        monkeypatch.setattr(pca, "import_genotypes", lambda *a, **k: mt)
        monkeypatch.setattr(pca, "hail_pca", broken)
        with pytest.raises(InputError) as e:
            run_pca(source, tmp_path / f"out_{what}", k=2)
        msg = str(e.value)
        assert msg.startswith(f"--bgen {source.bgen}: the Hail engine cannot read it (HailException: Hail only "
                              "supports ") and "; edfgen pca runs on Hail, which reads 8-bit BGEN" in msg, msg
        assert "--engine" not in msg, msg
        assert "--engine fast reads haploid" in str(hail_input_error(fatal(text), "--bgen x.bgen"))   # (gwas on Hail)


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02 not text" * 50])
def test_run_pca__a_bad_extract_list_is_refused_before_hail_starts(tmp_path, monkeypatch, content):
    """`pca --extract` of an empty or binary file was refused only after Hail's JVM started (30-50 s on a busy
    machine, stop 39 matrix: benchmarks/results/fuzz_cli_matrix.md); --keep was read first already. Now both."""
    import edfgen.commands.pca as pca
    from edfgen.exceptions import InputError
    from test_bad_input import _write_bfile

    _write_bfile(tmp_path / "g")
    (tmp_path / "extract.txt").write_bytes(content)
    monkeypatch.setattr(pca, "init_hail", lambda *a, **k: pytest.fail("Hail started before --extract was read"))
    with pytest.raises(InputError, match="extract.txt"):
        run_pca(GenotypeSource(bfile=str(tmp_path / "g"), extract=str(tmp_path / "extract.txt")), tmp_path / "o")
