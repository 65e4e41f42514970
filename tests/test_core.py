"""Common machinery: atomic writes, tables, manifests, sumstats aliases, CLI error handling, dictionary."""

from __future__ import annotations


import pandas as pd
import pytest
from click.testing import CliRunner

from edfgen.exceptions import InputError
from edfgen.formats import dictionary
from clump_sim import write_ssf
from edfgen.formats.sumstats import read_sumstats, SSF_COLUMNS, SSF_EXTRA_COLUMNS
from edfgen.formats.tables import atomic_write, prepare_out_dir, read_table, write_table
from edfgen.formats.manifest import input_digest, read_manifest, recording, sha256_file


def test_atomic_write__failure_leaves_target_untouched(tmp_path):
    target = tmp_path / "a.tsv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.tsv"]


def test_read_table__duplicated_iid_names_file_and_id(tmp_path):
    p = tmp_path / "pheno.tsv"
    pd.DataFrame({"IID": ["a", "b", "a"], "x": [1, 2, 3]}).to_csv(p, sep="\t", index=False)
    with pytest.raises(InputError, match=r"pheno.tsv: duplicated IID 'a'"):
        read_table(p, id_column="IID")


def test_read_table__missing_column_is_named(tmp_path):
    p = tmp_path / "t.tsv"
    pd.DataFrame({"IID": ["a"], "x": [1]}).to_csv(p, sep="\t", index=False)
    with pytest.raises(InputError, match="missing column.*age"):
        read_table(p, required=["age"])


@pytest.mark.parametrize("name", ["t.tsv", "t.tsv.gz", "t.csv", "t.parquet"])
def test_write_table__roundtrip(tmp_path, name):
    df = pd.DataFrame({"IID": ["1", "2"], "v": [0.5, float("nan")]})
    write_table(df, tmp_path / name)
    back = read_table(tmp_path / name, id_column="IID")
    assert back["IID"].tolist() == ["1", "2"] and back["v"].isna().tolist() == [False, True]


def test_prepare_out_dir__refuses_nonempty_without_force(tmp_path):
    (tmp_path / "x").write_text("1")
    with pytest.raises(InputError, match="--force"):
        prepare_out_dir(tmp_path)
    assert prepare_out_dir(tmp_path, force=True) == tmp_path
    assert prepare_out_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking creates nothing


def test_manifest__records_inputs_and_detects_changes(tmp_path):
    inp = tmp_path / "in.txt"
    inp.write_text("data")
    out = tmp_path / "out"
    with recording(out, "demo-cmd", parameters={"k": 1}, inputs=[inp], seed=3):
        (out / "result.tsv").write_text("r\n")
    man = read_manifest(out)
    assert man["inputs"][str(inp)] == sha256_file(inp)
    assert man["seed"] == 3 and man["outputs"] == ["result.tsv"] and man["finished"]
    # the live up-to-date check (the pipeline's stage key): a complete manifest, and inputs whose
    # input_digest is the one recorded
    assert man["parameters"] == {"k": 1} and man["command"] == "demo-cmd"
    assert read_manifest(out, complete=True) is not None
    assert input_digest(inp) == man["inputs"][str(inp)]
    inp.write_text("changed")
    assert input_digest(inp) != man["inputs"][str(inp)]


def test_manifest__not_written_when_block_fails(tmp_path):
    with pytest.raises(ValueError):
        with recording(tmp_path / "o", "c"):
            raise ValueError("boom")
    assert read_manifest(tmp_path / "o") is None


def test_read_sumstats__aliases_and_mapping_report(tmp_path):
    p = tmp_path / "s.tsv"
    pd.DataFrame({"SNP": ["rs1"], "A1": ["a"], "A2": ["g"], "BETA": [0.1], "SE": [0.01], "P": [1e-5],
                  "CHR": ["chr1"], "BP": [100]}).to_csv(p, sep="\t", index=False)
    df, m = read_sumstats(p)
    assert df.loc[0, "effect_allele"] == "A" and df.loc[0, "chromosome"] == "1"
    assert m.mapping["SNP"] == "variant_id" and "SNP->variant_id" in m.describe()


def test_read_sumstats__missing_required_column(tmp_path):
    p = tmp_path / "s.tsv"
    pd.DataFrame({"SNP": ["rs1"], "BETA": [0.1]}).to_csv(p, sep="\t", index=False)
    with pytest.raises(InputError, match="standard_error"):
        read_sumstats(p)


def test_sumstats_writer__sorted_ssf_columns(tmp_path):
    df = pd.DataFrame({"chromosome": ["2", "10", "2"], "base_pair_location": [5, 1, 3], "effect_allele": "A",
                       "other_allele": "G", "beta": 0.1, "standard_error": 0.2, "p_value": 0.5,
                       "variant_id": ["c", "a", "b"]})
    write_ssf(df, tmp_path / "x.tsv.gz")
    back = pd.read_csv(tmp_path / "x.tsv.gz", sep="\t")
    assert list(back.columns) == SSF_COLUMNS + SSF_EXTRA_COLUMNS
    assert back["variant_id"].tolist() == ["b", "c", "a"]


def test_dictionary__index_and_entries_agree():
    index = pd.read_csv(dictionary.DICTIONARY_DIR / "index.tsv", sep="\t")
    files = {p.stem for p in dictionary.DICTIONARY_DIR.glob("*.tsv")} - {"index"}
    assert set(index["entry"]) == files
    for entry in files:
        df = dictionary.load_entry(entry)
        assert not df["column"].duplicated().any(), entry
        assert (df["description"].str.len() > 0).all(), entry
        assert (df["type"].str.len() > 0).all(), entry


def test_dictionary__check_columns_detects_drift(tmp_path):
    (tmp_path / "t.tsv").write_text("column\ttype\tunits\tdescription\nIID\tstring\t\tid\nedf_*\tfloat\t\tedf\n")
    dictionary.check_columns("t", ["IID", "edf_001", "edf_002"], tmp_path)
    with pytest.raises(AssertionError, match="undocumented"):
        dictionary.check_columns("t", ["IID", "edf_001", "extra"], tmp_path)
    with pytest.raises(AssertionError, match="absent"):
        dictionary.check_columns("t", ["IID"], tmp_path)


def test_cli__help_lists_commands():
    from edfgen.cli import cli

    res = CliRunner().invoke(cli, ["--help"])
    assert res.exit_code == 0 and "edfgen" in res.output


def test_fingerprint__changes_with_size_or_mtime_not_reading_contents(tmp_path):
    import os

    from edfgen.formats.manifest import fingerprint

    d = tmp_path / "d"
    d.mkdir()
    (d / "a.txt").write_text("one")
    before = fingerprint(d)
    assert fingerprint(d) == before
    os.utime(d / "a.txt", ns=(1, 1))
    assert fingerprint(d) != before
    touched = fingerprint(d)
    (d / "b.txt").write_text("two")
    assert fingerprint(d) != touched


def test_fingerprint__content_and_panel_inputs(tmp_path):
    """The file-identity rule of formats/manifest.py (content fingerprints) and how a manifest records an
    LD panel (panel.panel_fingerprint: small files as inputs, genotype bytes by size)."""
    import os

    from edfgen.formats.genotypes.panel import panel_fingerprint
    from edfgen.formats.manifest import fingerprint

    d = tmp_path / "d"
    d.mkdir()
    (d / "a.txt").write_text("one")
    assert fingerprint(d / "a.txt", content=True) == sha256_file(d / "a.txt") == input_digest(d / "a.txt")
    assert fingerprint(d, content=True) == input_digest(d)
    os.utime(d / "a.txt", ns=(1, 1))
    assert fingerprint(d, content=True) == input_digest(d)      # contents unchanged
    prefix = tmp_path / "panel"
    for ext, n in (("bed", 7), ("bim", 1), ("fam", 1)):
        (tmp_path / f"panel.{ext}").write_bytes(b"x" * n)
    assert panel_fingerprint(str(prefix)) == ([tmp_path / "panel.bim", tmp_path / "panel.fam"], 7)
    assert panel_fingerprint(tmp_path / "none") == ([tmp_path / "none.bim", tmp_path / "none.fam"], None)


def _gzip_header_is_reproducible(path) -> bool:
    """A gzip member header with modification time 0 and no stored file name (RFC 1952: FLG bit 3 is FNAME)."""
    with open(path, "rb") as fh:
        head = fh.read(10)
    return head[:2] == b"\x1f\x8b" and head[4:8] == b"\0\0\0\0" and not head[3] & 0x08


def test_gzip_writers__byte_identical_across_runs_and_no_temporary_name_in_the_header(tmp_path):
    """Gzip headers held the write time and the original file name, edfgen's hidden temporary name, which
    `gunzip -N` restored (review s30e F6): two identical runs gave different bytes. Every gzip writer: write_table,
    the LOCO predictions, the BGZF sumstats writer."""
    import time

    import numpy as np

    from edfgen.formats.loco import write_loco_predictions
    from edfgen.formats.sumstats import SumstatsWriter
    from edfgen.kernels.ridge import LocoPredictions

    df = pd.DataFrame({"IID": ["a", "b"], "x": [1.5, 2.0]})
    preds = LocoPredictions(sample_ids=np.array(["a", "b"]), phenotypes=["y"], chromosomes=["1"],
                            loco_values=np.ones((1, 2, 1)), genome=np.ones((2, 1)), level1_shrinkage=np.array([1.0]),
                            cv_r2=np.array([0.1]))
    base = pd.DataFrame({"chromosome": ["1"], "base_pair_location": [10], "effect_allele": ["A"], "other_allele": ["G"],
                         "variant_id": ["1:10:G:A"], "rsid": ["rs1"]})
    for run in ("r1", "r2"):
        write_table(df, tmp_path / run / "t.tsv.gz")
        write_loco_predictions(preds, tmp_path / run / "loco")
        SumstatsWriter(base).write(tmp_path / run / "y.tsv.gz", [0.1], [0.01], [0.3], [1e-9], [100])
        time.sleep(1.1)                            # (gzip stores whole seconds)
    for f in ("t.tsv.gz", "loco/y.loco.tsv.gz", "y.tsv.gz"):
        assert _gzip_header_is_reproducible(tmp_path / "r1" / f), f
        assert (tmp_path / "r1" / f).read_bytes() == (tmp_path / "r2" / f).read_bytes(), f
    assert read_table(tmp_path / "r1" / "t.tsv.gz").equals(df)
