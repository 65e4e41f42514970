"""An ordinary user among others (review s33a): unreadable inputs, outputs that may not be removed, shared temp
folders, umask. Tests run as root too, so a refused read or delete is faked where root would be let through."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from edfgen.exceptions import InputError, OutputError, environment_error
from edfgen.formats import manifest as manifest_mod
from edfgen.formats import removable
from edfgen.formats.manifest import read_manifest, recording


def _earlier_run(out: Path) -> None:
    with recording(out, "edfgen demo-cmd", planned=["a.tsv", "plots/"]):
        (out / "a.tsv").write_text("1")
        (out / "plots").mkdir()
        (out / "plots" / "p.npz").write_text("2")


def _denied(path) -> PermissionError:
    return PermissionError(errno.EACCES, "Permission denied", str(path))


def test_recording__an_unreadable_input_is_one_line_and_keeps_the_earlier_outputs(tmp_path, monkeypatch):
    """F1: --force removed the earlier outputs, then hashed the inputs: an unreadable .bim left an empty folder
    and "cannot write". The inputs are now read first, and the error says the input cannot be read."""
    out, bim = tmp_path / "clump", tmp_path / "g.bim"
    bim.write_text("1 rs1 0 1 A G\n")
    _earlier_run(out)

    def sha256_file(path):
        raise _denied(path)

    monkeypatch.setattr(manifest_mod, "sha256_file", sha256_file)
    with pytest.raises(InputError, match=r"g\.bim: cannot be read \(Permission denied\)$"):
        with recording(out, "edfgen demo-cmd", inputs=[bim], planned=["a.tsv"]):
            pass
    assert (out / "a.tsv").exists() and (out / "plots" / "p.npz").exists()
    assert read_manifest(out, complete=True) is not None


@pytest.mark.parametrize("blocked", ["plots", "."])
def test_remove_outputs__refuses_before_removing_anything_when_one_output_may_not_be_removed(tmp_path, monkeypatch,
                                                                                            blocked):
    """F3: a plots/ folder owned by another user made --force remove half of the earlier outputs and then fail
    with "cannot write". Every listed output is now checked first: one line "cannot remove", nothing removed."""
    out = tmp_path / "gwas"
    _earlier_run(out)
    stuck = (out / blocked).resolve()
    real_access = os.access
    monkeypatch.setattr(removable.os, "access", lambda p, mode: Path(p).resolve() != stuck and real_access(p, mode))
    with pytest.raises(OutputError, match=r"cannot remove .*(p\.npz|a\.tsv) \(Permission denied\); nothing was"):
        with recording(out, "edfgen demo-cmd", planned=["a.tsv", "plots/"]):
            pass
    assert (out / "a.tsv").exists() and (out / "plots" / "p.npz").exists()
    assert read_manifest(out, complete=True) is not None
    monkeypatch.undo()
    with recording(out, "edfgen demo-cmd", planned=["a.tsv"]):     # removable again: replaced as before
        (out / "a.tsv").write_text("3")
    assert not (out / "plots").exists() and (out / "a.tsv").read_text() == "3"


def test_first_unremovable__a_sticky_folder_protects_other_users_files(tmp_path, monkeypatch):
    """F3: in a sticky shared folder (``/tmp``-like) only the owner of a file (or of the folder) may remove it."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "theirs.tsv").write_text("x")
    shared.chmod(0o1777)
    assert removable.first_unremovable([shared / "theirs.tsv"]) is None            # ours
    someone_else = os.geteuid() + 4242
    monkeypatch.setattr(removable.os, "geteuid", lambda: someone_else)
    assert removable.first_unremovable([shared / "theirs.tsv"]) == shared / "theirs.tsv"
    assert removable.first_unremovable([shared / "absent.tsv"]) is None


def test_environment_error__a_refused_read_says_cannot_be_read(tmp_path, monkeypatch):
    """F4: every EACCES/EPERM was reported as "cannot write ...; write to a folder you may write to", rc 1, even
    for an input that could not be read. A read is now "cannot be read", an input error (rc 2)."""
    f = tmp_path / "edf_003.tsv.gz-meta.yaml"
    f.write_text("genome_assembly: GRCh38\n")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: not (mode & os.R_OK and Path(p) == f) and real_access(p, mode))
    err = environment_error(_denied(f))
    assert isinstance(err, InputError) and err.exit_code == 2
    assert str(err) == f"{f}: cannot be read (Permission denied)"
    out_err = environment_error(_denied(tmp_path / "new.tsv"))                     # a file that is not there: a write
    assert isinstance(out_err, OutputError) and "cannot write (Permission denied)" in str(out_err)


def test_meta_field__an_unreadable_meta_yaml_is_one_input_error(tmp_path, monkeypatch):
    """F4: the -meta.yaml beside a sumstats file was read unguarded (mr, clump and finemap said "cannot write")."""
    from edfgen.formats.sumstats.coordinates import meta_field

    ss = tmp_path / "edf_003.tsv.gz"
    meta = tmp_path / "edf_003.tsv.gz-meta.yaml"
    meta.write_text("genome_assembly: GRCh38\n")
    assert meta_field(ss, "genome_assembly") == "GRCh38"
    real_read_text = Path.read_text

    def read_text(self, *a, **k):
        if self == meta:
            raise _denied(self)
        return real_read_text(self, *a, **k)

    monkeypatch.setattr(Path, "read_text", read_text)
    with pytest.raises(InputError, match=r"edf_003\.tsv\.gz-meta\.yaml: cannot be read \(Permission denied\)$"):
        meta_field(ss, "genome_assembly")


# ------------------------------------------------------------------------------------------- F2: Hail's temp folder
def test_hail_default_tmp_dir__private_per_user_folder(tmp_path, monkeypatch):
    """F2: the default was one fixed shared ``<tmp>/edfgen-hail``: the first user locked out the others, who could
    read its cached genotypes. It is now ``<tmp>/edfgen-hail-<uid>``, mode 0700 (made private again if opened)."""
    import tempfile

    from edfgen.engines.hail import default_tmp_dir

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    mine = tmp_path / f"edfgen-hail-{os.getuid()}"
    assert default_tmp_dir() == str(mine) and mine.stat().st_mode & 0o777 == 0o700
    mine.chmod(0o755)
    assert default_tmp_dir() == str(mine) and mine.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("planted", ["link", "foreign"])
def test_hail_private_tmp_dir__a_link_or_another_users_folder_is_refused(tmp_path, monkeypatch, planted):
    """F2: another user could create the shared folder (or a link of its name) first; edfgen wrote into it."""
    from edfgen.engines import hail_tmp

    uid = os.getuid()
    target = tmp_path / f"edfgen-hail-{uid}"
    if planted == "link":
        (tmp_path / "theirs").mkdir()
        target.symlink_to(tmp_path / "theirs")
        why = "is a symbolic link"
    else:
        monkeypatch.setattr(hail_tmp.os, "getuid", lambda: uid + 4242)           # the folder is this uid's, not "ours"
        target = tmp_path / f"edfgen-hail-{uid + 4242}"
        target.mkdir(mode=0o777)
        why = f"belongs to another user \\(uid {uid}\\)"
    with pytest.raises(OutputError, match=f"{target}: Hail's temporary folder {why}.*give --tmp-dir a folder of your own"):
        hail_tmp.private_tmp_dir(str(tmp_path))


def test_hail_log4j_config__a_planted_link_is_replaced_not_written_through(tmp_path):
    """F2: ``open(<tmp>/edfgen-log4j2.properties, "w")`` followed a link another user planted there and overwrote
    its target (root's 0600 file became the log4j text). The file is now renamed into place."""
    from edfgen.engines.hail import SPARK_CONSOLE_LOG4J2, write_log4j_config

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "edfgen-log4j2.properties").symlink_to(victim)
    path = Path(write_log4j_config(str(tmp_path)))
    assert victim.read_text() == "precious"
    assert not path.is_symlink() and path.read_text() == SPARK_CONSOLE_LOG4J2


# ------------------------------------------------------------------------------------------- F8: matplotlib's cache
def test_plots__no_matplotlib_cache_notice_when_home_is_not_writable(tmp_path):
    """F8: with HOME not writable, every command that drew printed matplotlib's two-line "mkdir -p failed ... /
    Matplotlib created a temporary cache directory" notice, even under -q. edfgen now gives matplotlib a private
    temporary MPLCONFIGDIR, removed at exit."""
    import subprocess
    import sys

    (tmp_path / "afile").write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    env.update(HOME=str(tmp_path / "afile" / "home"), TMPDIR=str(tmp_path))   # below a file: never writable
    code = ("from edfgen.plots._mpl import save_png, subplots; import os, sys; fig, ax = subplots(); "
            "ax.plot([0, 1]); save_png(fig, sys.argv[1]); print(os.environ.get('MPLCONFIGDIR'))")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.png")], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "matplotlib" not in r.stderr.lower(), r.stderr
    assert (tmp_path / "x.png").exists() and r.stdout.strip().startswith(str(tmp_path / "edfgen-matplotlib-"))
    assert not list(tmp_path.glob("edfgen-matplotlib-*")) and not list(tmp_path.glob("matplotlib-*"))  # removed


def test_plots__a_users_own_mplconfigdir_is_kept(tmp_path, monkeypatch):
    """F8: only matplotlib's default places are replaced; a MPLCONFIGDIR the user set is theirs."""
    import sys

    from edfgen.plots._mpl import private_config_dir_if_needed

    monkeypatch.delitem(sys.modules, "matplotlib", raising=False)
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "afile" / "cfg"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mine"))
    assert private_config_dir_if_needed() is None and os.environ["MPLCONFIGDIR"] == str(tmp_path / "mine")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MPLCONFIGDIR")
    assert private_config_dir_if_needed() is None and "MPLCONFIGDIR" not in os.environ    # writable: left alone


# ------------------------------------------------------------------------------------------- F7: read-only outputs
def test_earlier_read_only_output__replaced_with_a_warning_naming_it(tmp_path, caplog):
    """F7: an earlier output made read-only (``chmod a-w`` to freeze it) was replaced without a word, by the
    atomic rename (annotate) or by --force's removal (gwas, mr). Both now warn, naming the file."""
    from edfgen.formats.atomic import atomic_write

    frozen = tmp_path / "annot.tsv"
    frozen.write_text("old")
    frozen.chmod(0o444)
    with atomic_write(frozen) as fh:
        fh.write("new")
    assert frozen.read_text() == "new" and f"replacing {frozen}, which was read-only" in caplog.text
    caplog.clear()
    out = tmp_path / "gwas"
    _earlier_run(out)
    (out / "a.tsv").chmod(0o444)
    with recording(out, "edfgen demo-cmd", planned=["a.tsv"]):
        (out / "a.tsv").write_text("3")
    assert f"replacing {(out / 'a.tsv').resolve()}, which was read-only" in caplog.text
    caplog.clear()
    with recording(out, "edfgen demo-cmd", planned=[f"p{i}.tsv" for i in range(5)]):
        for i in range(5):
            (out / f"p{i}.tsv").write_text("4")
            (out / f"p{i}.tsv").chmod(0o444)
    with recording(out, "edfgen demo-cmd", planned=["a.tsv"]):    # review s33d: one line, not one per file
        (out / "a.tsv").write_text("5")
    assert caplog.text.count("replacing") == 1
    assert f"replacing 5 earlier outputs that were read-only or another user's, e.g. {(out / 'p0.tsv').resolve()} " \
           "(read-only)" in caplog.text
    caplog.clear()
    with atomic_write(tmp_path / "plain.tsv") as fh:            # an ordinary file: no word
        fh.write("x")
    with atomic_write(tmp_path / "plain.tsv") as fh:
        fh.write("y")
    assert "replacing" not in caplog.text


@pytest.mark.parametrize("target, flag, why", [
    ("plots/p.npz", "+i", "immutable: chattr -i {out}/plots/p.npz"),
    ("plots/p.npz", "+a", "append-only: chattr -a {out}/plots/p.npz"),
    ("plots", "+a", "its folder is append-only: chattr -a {out}/plots"),
])
def test_remove_outputs__an_immutable_or_append_only_output_is_refused_before_anything_is_removed(tmp_path, target,
                                                                                                 flag, why):
    """Review s34c #3: `chattr +i` on one output passed the removal check (its folder is writable), so --force
    removed the other outputs, then failed on it with "cannot write ... write to a folder you may write to". The
    inode flags are read first (root is refused by them too): one line naming the file and the flag, nothing
    removed."""
    import shutil
    import subprocess

    out = tmp_path / "gwas"
    _earlier_run(out)
    flagged = out / target
    if shutil.which("chattr") is None or subprocess.run(["chattr", flag, str(flagged)],
                                                        capture_output=True).returncode != 0:
        pytest.skip(f"chattr {flag} is not allowed here (file system or capability)")
    try:
        with pytest.raises(OutputError) as err:
            with recording(out, "edfgen demo-cmd", planned=["a.tsv", "plots/"]):
                pass
        assert str(err.value) == (f"--out {out}: cannot remove {out / 'plots' / 'p.npz'} "
                                  f"({why.format(out=out)}); nothing was removed")
        assert (out / "a.tsv").exists() and (out / "plots" / "p.npz").exists()
        assert read_manifest(out, complete=True) is not None
    finally:
        subprocess.run(["chattr", flag.replace("+", "-"), str(flagged)], check=True)
    with recording(out, "edfgen demo-cmd", planned=["a.tsv"]):      # the flag lifted: replaced as before
        (out / "a.tsv").write_text("3")
    assert not (out / "plots").exists() and (out / "a.tsv").read_text() == "3"
