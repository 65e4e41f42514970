"""Streams (FIFO, ``<(zcat ...)``), gzip by content and other follow-ups of the stop-39 hostile-input matrix review.

Each test is a defect or risk the review of branch s39matrix found; the docstring says what a user saw."""

from __future__ import annotations

import gzip
import os
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from edfgen.cli import cli
from edfgen.exceptions import InputError
from edfgen.formats import textio

REGENIE = (b"CHROM GENPOS ID ALLELE0 ALLELE1 A1FREQ N TEST BETA SE CHISQ LOG10P EXTRA\n"
           b"1 1000 rs1 A G 0.3 1000 ADD 0.1 0.02 25 6.2 NA\n"
           b"1 2000 rs2 C T 0.2 1000 ADD -0.05 0.02 6.25 1.9 NA\n")


def test_sumstats__a_space_separated_stream_is_read(fed_fifo):
    """`coloc/finemap <(cat x.regenie)` said "/dev/fd/63: empty (no header line)" and read_header an EmptyDataError
    traceback: the space-separated retry read the buffer the first read had used up."""
    from edfgen.formats.sumstats import zscores
    from edfgen.formats.sumstats.read import read_header

    path, within = fed_fifo("x.regenie", REGENIE)
    assert within(20, lambda: read_header(path))[:3] == ["CHROM", "GENPOS", "ID"]
    df = within(20, lambda: zscores._read_file(Path(path), None, True))
    assert df["variant_id"].tolist() == ["rs1", "rs2"]
    np.testing.assert_allclose(df["beta"], [0.1, -0.05])


@pytest.mark.parametrize("name", ["ss.tsv.bgz", "ss.tsv", "ss.txt"])
def test_sumstats__gzip_is_known_by_its_bytes_not_its_name(tmp_path: Path, name: str):
    """Hail's '.tsv.bgz' (Neale lab) and a gzip file named '.tsv' reached pandas with compression 'infer' and were
    refused ("'utf-8' codec can't decode byte 0x8b") although every reader decompresses them."""
    from edfgen.formats.sumstats import zscores
    from edfgen.formats.sumstats.read import checked_header

    text = (b"variant_id\teffect_allele\tother_allele\tbeta\tstandard_error\tp_value\n"
            b"rs1\tA\tG\t0.1\t0.02\t1e-6\nrs2\tC\tT\t-0.05\t0.02\t0.01\n")
    path = tmp_path / name
    path.write_bytes(gzip.compress(text))
    assert checked_header(path)[:2] == ["variant_id", "effect_allele"]
    assert zscores._read_file(path, None, True)["variant_id"].tolist() == ["rs1", "rs2"]


def test_checked_header__its_reason_without_decompressing_the_whole_file(tmp_path: Path, monkeypatch):
    """A header pandas cannot read was explained by read_text_bytes, which decompresses the whole file (minutes
    and GBs for a biobank's sumstats) to give a reason its first bytes hold: the head alone is read now."""
    from edfgen.formats.sumstats import read as rd

    def whole(path):
        raise AssertionError("the whole file was read")
    monkeypatch.setattr(rd, "read_text_bytes", whole)
    monkeypatch.setattr(textio, "read_text_bytes", whole)
    path = tmp_path / "ss.tsv.gz"
    path.write_bytes(gzip.compress("variant_id\tp_value\nrs1\t0.5\n".encode("utf-16")))
    with pytest.raises(InputError, match="UTF-16 text"):
        rd.checked_header(path)


GTF37 = (b"#!genome-build GRCh37.p13\n#!genome-version GRCh37\n"
         b'1\tensembl\tgene\t1000\t20000\t.\t+\t.\tgene_id "ENSG1"; gene_name "GENEA"; gene_biotype "protein_coding";\n')


def test_genes__a_stream_gtf_says_its_build_and_is_read_once(fed_fifo):
    """`annotate/clump --genes <(zcat Homo_sapiens.GRCh37.gtf.gz)`: a stream was judged by its name (no build in
    /dev/fd/63), so GRCh38 loci got GRCh37 genes without a word. Its '#!genome-build' line is read now, and
    read_genes reads the same text (no second open of the FIFO)."""
    from edfgen.formats.genes import declared_genes_build, read_genes

    path, within = fed_fifo("genes.gtf", GTF37)
    build, where = within(20, lambda: declared_genes_build(path))
    assert build == "GRCh37" and where.startswith("header line '#!genome-build GRCh37"), (build, where)
    assert within(20, lambda: read_genes(path))["gene"].tolist() == ["GENEA"]


def test_extract__cr_line_ends_longer_than_the_first_line_cap_are_read(tmp_path: Path, monkeypatch):
    """A CR-only --extract of 2 M rsids (18 MiB) was read before stop 39 and then refused as "first line is 18 MiB":
    the first-line cap looked for LF only, the id-list reader splits on CR too (cap lowered to 1 MiB here)."""
    from edfgen.formats.genotypes.selection import read_variant_list

    monkeypatch.setattr(textio, "MAX_FIRST_LINE", 1 << 20)
    ids = [f"rs{i}" for i in range(200_000)]                       # 1.5 MiB
    (tmp_path / "ex.txt").write_bytes("\r".join(ids).encode() + b"\r")
    assert read_variant_list(tmp_path / "ex.txt") == set(ids)


def test_blank_text__found_without_copying_the_file():
    """read_table's emptiness check `not raw.strip()` copied a whole table ending in a line end (+503 MiB peak on
    a 503 MiB table). blank_text scans without a copy; a read_table of a blank file still says 'empty'."""
    data = b"a\tb\n" + b"1\t2\n" * (5 << 20) + b"\n"                # 20 MiB
    tracemalloc.start()
    try:
        assert not textio.blank_text(data)
        assert textio.blank_text(b" \r\n\t\n")
        assert textio.blank_text(b"")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak


def test_interpret__an_infinite_covariate_is_one_line(tmp_path: Path):
    """`interpret --covar` with age=inf left that participant out silently (exit 0, n = 7 of 8); as ±inf in an
    EDF or biomarker column (stop 39 matrix) it is the one-line error naming file, column, row and value."""
    from test_hostile_inputs import _one_line_error, _run

    ids = [f"R{i}" for i in range(8)]
    rng = np.random.default_rng(3)
    pd.DataFrame({"IID": ids, "edf_001": rng.normal(size=8), "edf_002": rng.normal(size=8)}).to_csv(
        tmp_path / "edfs.tsv", sep="\t", index=False)
    pd.DataFrame({"IID": ids, "hr": np.linspace(55, 90, 8)}).to_csv(tmp_path / "bio.tsv", sep="\t", index=False)
    cov = pd.DataFrame({"IID": ids, "age": np.linspace(40, 70, 8).astype(object), "sex": [0, 1] * 4})
    cov.loc[3, "age"] = "inf"
    cov.to_csv(tmp_path / "cov.tsv", sep="\t", index=False)
    r = _run(["interpret", "--edf", tmp_path / "edfs.tsv", "--biomarkers", tmp_path / "bio.tsv", "--covar",
              tmp_path / "cov.tsv", "--covariates", "age,sex", "--clusters", 2, "--out", tmp_path / "i"])
    _one_line_error(r, f"--covar {tmp_path / 'cov.tsv'}", "column 'age', row 4 (IID R3): value inf is not finite")
    assert not (tmp_path / "i" / "associations.tsv").exists()


def test_streams__their_decompressed_text_is_cached_until_the_command_ends(tmp_path: Path, fed_fifo):
    """A stream's raw bytes were held for the whole process (a 10 GB zcat stayed resident), a gzip stream was
    decompressed at every read, and a named FIFO filled again gave its old content to a long-lived session. Its
    decompressed text is cached now, and forgotten when a CLI command ends."""
    text = b"IID\tx\nA\t1\n"
    path, within = fed_fifo("p.tsv", gzip.compress(text))
    assert within(20, lambda: textio.read_text_bytes(path)) == text
    assert textio._STREAM_TEXT[os.path.abspath(path)] == text           # decompressed once
    assert textio.read_text_bytes(path) == text                          # (no second open of the FIFO)
    r = CliRunner().invoke(cli, ["mr", "--exposure", str(tmp_path / "none.tsv"), "--outcome", str(tmp_path),
                                 "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert textio._STREAM_TEXT == {}


def test_read_text_bytes__a_stream_without_a_line_end_is_refused_before_it_is_read_whole(tmp_path: Path,
                                                                                        monkeypatch):
    """`interpret --edf /dev/zero` read the device until memory ran out (MemoryError): a stream's first
    MAX_FIRST_LINE bytes are read, and one without a line end in them is refused there (cap 1 MiB here; a
    writer of 64 MiB of zeros is cut off after the first MiBs)."""
    monkeypatch.setattr(textio, "MAX_FIRST_LINE", 1 << 20)
    path = tmp_path / "zero.tsv"
    os.mkfifo(path)
    written = [0]

    def writer():
        try:
            with open(path, "wb") as fh:
                for _ in range(64):
                    fh.write(bytes(1 << 20))
                    written[0] += 1 << 20
        except BrokenPipeError:
            pass
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    with pytest.raises(InputError, match="longer than 1 MiB without a line end"):
        textio.read_text_bytes(path)
    t.join(20)
    assert written[0] < 16 << 20, written[0]
    with pytest.raises(InputError, match="longer than 1 MiB"):       # refused again, without opening it again
        textio.read_text_bytes(path)


def test_mr__a_comma_separated_stream_is_read_as_csv(tmp_path: Path, fed_fifo, shared_data: Path):
    """`mr --exposure <(cat exp.csv)` failed "no column for variant_id…": a stream's separator was chosen from its
    name (/dev/fd/63: tab). Its first line says it now: TwoSampleMR's exposure data read as the file is."""
    from edfgen.formats.sumstats.read import read_header, read_sumstats

    csv = shared_data / "mr" / "twosamplemr_test_commondata_exp_dat.csv"
    path, within = fed_fifo("63", csv.read_bytes())
    assert within(20, lambda: read_header(path)) == list(pd.read_csv(csv, nrows=0).columns)
    streamed = within(20, lambda: read_sumstats(path)[0])
    pd.testing.assert_frame_equal(streamed, read_sumstats(csv)[0])


def test_extract__whitespace_separated_ids_on_one_line_are_all_read(tmp_path: Path):
    """A one-line space-separated --extract of 20 rsids extracted 1 variant silently (the first field of each line).
    plink2 and plink1.9 read every whitespace-separated token (checked: a one-line list of 5 ids -> '--extract: 5
    variants remaining')."""
    from edfgen.formats.genotypes.selection import read_variant_list

    ids = [f"rs{i}" for i in range(20)]
    (tmp_path / "ex.txt").write_text(" ".join(ids) + "\n")
    assert read_variant_list(tmp_path / "ex.txt") == set(ids)
    (tmp_path / "ex2.txt").write_text("rs1\trs2\nrs3\n")
    assert read_variant_list(tmp_path / "ex2.txt") == {"rs1", "rs2", "rs3"}


def test_pca__extract_is_parsed_once(tmp_path: Path, monkeypatch):
    """pca parsed --extract for its early errors, then Hail's import parsed it again: the parsed ids are passed."""
    from edfgen.commands import pca
    from edfgen.formats.genotypes import selection

    class Stop(Exception):
        pass
    reads, seen = [], {}
    real = selection.read_variant_list
    monkeypatch.setattr(pca, "read_variant_list", lambda p, **k: reads.append(p) or real(p, **k))

    def fake_import(source, **kw):
        seen.update(kw)
        raise Stop
    monkeypatch.setattr(pca, "import_genotypes", fake_import)
    monkeypatch.setattr(pca, "init_hail", lambda *a, **k: None)
    monkeypatch.setattr(pca, "check_plink_fileset", lambda b: pd.DataFrame({"IID": ["a", "b", "c"]}))
    (tmp_path / "ex.txt").write_text("rs1\nrs2\n")
    for ext in ("bed", "bim", "fam"):
        (tmp_path / f"g.{ext}").write_bytes(b"")
    from edfgen.formats.genotypes import GenotypeSource

    with pytest.raises(Stop):
        pca.run_pca(GenotypeSource(bfile=str(tmp_path / "g"), extract=str(tmp_path / "ex.txt")), tmp_path / "o")
    assert len(reads) == 1 and seen.get("extract_ids") == {"rs1", "rs2"}, (reads, seen)


def _pipe(data: bytes) -> str:
    """``/dev/fd/N`` of a pipe a thread fills with ``data``: what ``<(cat file)`` hands a command."""
    r, w = os.pipe()

    def feed():
        with os.fdopen(w, "wb") as fh:
            fh.write(data)
    threading.Thread(target=feed, daemon=True).start()
    return f"/dev/fd/{r}"


def test_phenotype_name__a_stream_is_named_by_the_trait_its_rows_name(shared_data: Path, caplog):
    """`mr --exposure <(cat exp.csv) --outcome <(cat out.csv)` wrote exposure '63', outcome '62' in mr_results.tsv and
    plots/63__62.*.png: a stream was named by its path /dev/fd/63 (review s40). Its rows' one trait (TwoSampleMR's
    exposure / outcome label, a phenotype or trait column) names it now; a stream without one keeps the path's
    name, with a WARNING saying how to name it. A named FIFO keeps its name."""
    from edfgen.formats.sumstats.discovery import group_by_phenotype, phenotype_name
    from edfgen.formats.sumstats.read import read_sumstats

    exp = _pipe((shared_data / "mr" / "twosamplemr_test_commondata_exp_dat.csv").read_bytes())
    out = _pipe((shared_data / "mr" / "twosamplemr_test_commondata_out_dat.csv").read_bytes())
    try:
        assert list(group_by_phenotype([exp, out])) == ["Body mass index", "Coronary heart disease"]
        assert len(read_sumstats(exp)[0]) == 79                # (the stream's rows still read, from the same bytes)
        bare = _pipe(REGENIE)
        with caplog.at_level("WARNING"):
            assert phenotype_name(bare) == Path(bare).name == phenotype_name(bare)
        assert len([r for r in caplog.records if "a stream without a name" in r.getMessage()]) == 1
    finally:
        textio.forget_streams()
        for p in (exp, out, *([bare] if "bare" in locals() else [])):
            os.close(int(Path(p).name))


def test_phenotype_name__a_named_fifo_keeps_its_name(fed_fifo, shared_data: Path):
    from edfgen.formats.sumstats.discovery import phenotype_name

    path, within = fed_fifo("bmi.csv", (shared_data / "mr" / "twosamplemr_test_commondata_exp_dat.csv").read_bytes())
    try:
        assert within(20, lambda: phenotype_name(path)) == "bmi"
    finally:
        textio.forget_streams()


@pytest.mark.parametrize("gz", [False, True])
def test_sumstats__cr_only_line_ends_beyond_the_first_line_cap_are_read(tmp_path: Path, monkeypatch, gz):
    """A CR-only (classic Mac) sumstats file over 16 MiB was refused as "its first line is longer than 16 MiB": the
    header check read up to an LF only (review s40). A line ends at CR too (as the readers split it; cap lowered to
    1 MiB here): the file is read, rows as the LF version's; a first line without any line end is still refused."""
    from edfgen.formats.sumstats.read import checked_header, read_sumstats

    monkeypatch.setattr(textio, "MAX_FIRST_LINE", 1 << 20)
    n = 40_000                                                     # ~1.6 MiB
    header = "variant_id\tchromosome\tbase_pair_location\teffect_allele\tother_allele\tbeta\tstandard_error\tp_value"
    rows = [header] + [f"rs{i}\t1\t{1000 + i}\tA\tG\t0.01\t0.02\t0.5" for i in range(n)]
    text = "\r".join(rows).encode() + b"\r"
    cr, lf = tmp_path / ("cr.tsv.gz" if gz else "cr.tsv"), tmp_path / "lf.tsv"
    cr.write_bytes(gzip.compress(text) if gz else text)
    lf.write_bytes(text.replace(b"\r", b"\n"))
    assert checked_header(cr)[:2] == ["variant_id", "chromosome"]
    got, want = read_sumstats(cr)[0], read_sumstats(lf)[0]
    assert len(got) == n
    pd.testing.assert_frame_equal(got, want)
    (tmp_path / "one.tsv").write_bytes(b"x\t" * (1 << 20))
    with pytest.raises(InputError, match="first line is longer than 1 MiB"):
        checked_header(tmp_path / "one.tsv")


def test_mr__two_streams_of_one_trait_are_two_exposures(shared_data: Path, tmp_path: Path, caplog):
    """Review of s40: `mr --exposure <(cat exp.csv) --exposure <(sed s/ieu-a-2/ieu-a-835/ exp.csv)` named both
    streams 'Body mass index' and read them as one phenotype, refused as overlapping, advising to rename '62' to
    'fd_62' (a stream cannot be renamed); before they were two exposures. A trait another input shares names a
    stream as '<trait>_<id>' (TwoSampleMR's id; else '<trait>_<N>' of /dev/fd/N), with a WARNING."""
    from click.testing import CliRunner

    from edfgen.cli import cli
    from edfgen.formats.sumstats.discovery import group_by_phenotype

    exp = (shared_data / "mr" / "twosamplemr_test_commondata_exp_dat.csv").read_bytes()
    same = [_pipe(exp), _pipe(exp)]                                     # ids alike too: by the stream's path
    pipes = [_pipe(exp), _pipe(exp.replace(b"ieu-a-2", b"ieu-a-835"))]
    try:
        with caplog.at_level("WARNING"):
            assert list(group_by_phenotype(same)) == [f"Body mass index_{Path(p).name}" for p in same]
        assert sum("as another input's do" in m for m in caplog.messages) == 2
        r = CliRunner().invoke(cli, ["mr", "--exposure", pipes[0], "--exposure", pipes[1], "--outcome",
                                     str(shared_data / "mr" / "twosamplemr_test_commondata_out_dat.csv"), "--no-clump",
                                     "--no-plots", "--methods", "ivw", "--out", str(tmp_path / "o")],
                               catch_exceptions=False)
        assert r.exit_code == 0, r.output
        res = pd.read_csv(tmp_path / "o" / "mr_results.tsv", sep="\t")
        assert sorted(res["exposure"].unique()) == ["Body mass index_ieu-a-2", "Body mass index_ieu-a-835"]
        assert res.groupby("exposure")["b"].first().nunique() == 1          # (the same rows: the same estimate)
    finally:
        textio.forget_streams()
        for p in pipes + same:
            os.close(int(Path(p).name))


def test_combine_phenotype__never_advises_renaming_a_stream(tmp_path: Path):
    """Review of s40: a file and a stream of one name that overlap were refused advising to rename the stream
    ('e.g. 5 to fd_5'), which cannot be done: the advice names the file."""
    from edfgen.formats.sumstats.discovery import group_by_phenotype, read_phenotype_sumstats

    stream = _pipe(REGENIE)
    try:
        (tmp_path / "study").mkdir()
        f = tmp_path / "study" / f"{Path(stream).name}.regenie"
        f.write_bytes(REGENIE)
        (files,) = group_by_phenotype([f, stream]).values()
        with pytest.raises(InputError, match=rf"rename one \(e\.g\. {f.name} to study_{f.name}\)$"):
            read_phenotype_sumstats(files, required=("variant_id", "beta"))
    finally:
        textio.forget_streams()
        os.close(int(Path(stream).name))


def test_phenotype_name__a_streams_one_trait_unusable_as_a_name_is_said_so(caplog):
    """Second read of s40 #7: a stream whose one trait value cannot be a phenotype name ("LDL/HDL ratio": a '/')
    was warned of as "without one value in a phenotype/trait column" (it has one). The warning names the value and
    why it cannot be a name."""
    from edfgen.formats.sumstats.discovery import phenotype_name

    bare = _pipe(b"phenotype\tvariant_id\tbeta\nLDL/HDL ratio\trs1\t0.1\nLDL/HDL ratio\trs2\t0.2\n")
    try:
        with caplog.at_level("WARNING"):
            assert phenotype_name(bare) == Path(bare).name
        said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert len(said) == 1 and "'LDL/HDL ratio'" in said[0] and "cannot be a phenotype name" in said[0], said
        assert "without one value" not in said[0]
    finally:
        textio.forget_streams()
        os.close(int(Path(bare).name))


def _peak(f, *args, **kwargs):
    """``f(*args, **kwargs)`` and the peak of the memory traced while it ran, in bytes."""
    tracemalloc.start()
    try:
        out = f(*args, **kwargs)
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_read_text_bytes__a_plain_file_is_held_once_not_copied(tmp_path: Path):
    """read_text_bytes read a plain file with `fh.read(4); fh.seek(0); fh.read()` on a buffered file, which copies
    the whole text (a 210 MiB table: +419 MiB RSS where +210 would do); unbuffered, it is read once."""
    f = tmp_path / "t.tsv"
    f.write_bytes(b"a\tb\n" + b"1\t2\n" * (5 << 20))                 # 20 MiB
    data, peak = _peak(textio.read_text_bytes, f)
    assert len(data) == f.stat().st_size
    assert peak < 1.3 * len(data), (peak, len(data))


def test_zstd_text__handed_to_pandas_without_a_copy(tmp_path: Path):
    """zstd text is a bytearray, and io.BytesIO(bytearray) copies it: read_table / read_sumstats of a .tsv.zst peaked
    a whole text above the plain file's read (210 MiB: 969 vs 759 MiB RSS). textio.text_reader reads it in place
    (fails before: io.BytesIO's copy traced); the table read is the plain file's."""
    import zstandard

    from edfgen.formats.tables import read_table

    text = b"IID\tx\n" + b"".join(b"S%d\t%d.5\n" % (i, i % 97) for i in range(600_000))   # 8 MiB
    ba = bytearray(text)
    _, peak = _peak(lambda: textio.text_reader(ba).read(100))
    assert peak < len(ba) // 4, peak
    with textio.text_reader(ba) as fh:
        assert fh.read() == text
    plain, zst = tmp_path / "t.tsv", tmp_path / "t.tsv.zst"
    plain.write_bytes(text)
    zst.write_bytes(zstandard.ZstdCompressor().compress(text))
    pd.testing.assert_frame_equal(read_table(zst, id_column="IID"), read_table(plain, id_column="IID"))


@pytest.mark.parametrize("reader", ["read_table", "load_sumstats"])
def test_zstd_text__the_readers_hand_pandas_the_text_once(reader, tmp_path: Path, monkeypatch):
    """Review s42sumfix finding 5: the test above guards text_reader alone; putting ``io.BytesIO(raw)`` back at a
    call site (tables.py, sumstats/read.py) passed it. Here the memory traced when pandas is handed the text of a
    .tsv.zst is measured at every pd.read_csv call of the real readers: the text held once (as for the plain
    file), not twice (fails with the copy back: about 2x the text)."""
    import zstandard

    from edfgen.formats.sumstats import load_sumstats
    from edfgen.formats.tables import read_table

    text = (b"variant_id\teffect_allele\tother_allele\tbeta\tstandard_error\tp_value\n"
            + b"".join(b"rs%d\tA\tG\t0.%d\t0.1\t1e-%d\n" % (i, i % 9 + 1, i % 9 + 1) for i in range(200_000)))
    zst = tmp_path / "t.tsv.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(text))
    held, real = [], pd.read_csv

    def read_csv(*args, **kwargs):
        held.append(tracemalloc.get_traced_memory()[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(pd, "read_csv", read_csv)
    read = {"read_table": lambda: read_table(zst, id_column=None), "load_sumstats": lambda: load_sumstats(zst)}
    _peak(read[reader])          # (traced from the start: held counts the text pandas is handed)
    assert held and max(held) < 1.5 * len(text), (max(held or [0]) / len(text), len(text))
