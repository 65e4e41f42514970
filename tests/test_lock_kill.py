"""The folder lock under kills and races (s39 kill/resume audit: a kill while taking the lock, two takers at once,
the heartbeat thread of a held lock)."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
import types

import pytest

import edfgen.formats.lock as lk
from edfgen.exceptions import InputError


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (not an Exception, so no handler turns it into an error)."""


def test_folder_lock__a_kill_while_taking_the_lock_leaves_no_lock_to_block_the_rerun(tmp_path, monkeypatch):
    """A SIGKILL between creating .edfgen.lock and writing its content left an empty lock: the rerun was refused
    for ~5 s with "in use by 'edfgen' (pid None on None, since ?)". The lock is now written whole to a temporary
    file and hard-linked to its name, so a kill before the link leaves no lock at all."""
    def killed(obj, fh):
        raise _Killed

    monkeypatch.setattr(lk, "json", types.SimpleNamespace(dump=killed, loads=json.loads))
    with pytest.raises(_Killed):
        with lk.folder_lock(tmp_path, "edfgen gwas"):
            pytest.fail("locked")
    monkeypatch.undo()
    assert not (tmp_path / lk.LOCK_NAME).exists()
    with lk.folder_lock(tmp_path, "edfgen gwas") as lock:     # the rerun, at once
        assert json.loads(lock.read_text())["pid"] == os.getpid()


def test_folder_lock__an_empty_lock_is_named_as_such_and_taken_over_once_old(tmp_path, monkeypatch, caplog):
    """An empty lock (an older edfgen, or a file system without hard links, killed while taking it): the message
    said "pid None on None"; it now says the lock is empty or unreadable and what happens next, and folder_lock
    waits for it to be stale instead of refusing."""
    lock = tmp_path / lk.LOCK_NAME
    lock.write_text("")
    with pytest.raises(InputError, match=r"empty or unreadable.*taken over once 5 s old; rerun in a few seconds") as e:
        lk.check_unlocked(tmp_path)
    assert "None" not in str(e.value)
    os.utime(lock, (time.time() - 4.8, time.time() - 4.8))   # a moment before it is stale
    t0 = time.monotonic()
    with lk.folder_lock(tmp_path, "edfgen gwas") as held:
        assert json.loads(held.read_text())["pid"] == os.getpid()
    assert time.monotonic() - t0 < 2.0
    assert "empty or unreadable" in caplog.text


def test_folder_lock__without_hard_links_the_lock_is_still_exclusive(tmp_path, monkeypatch):
    """On a file system without hard links (FAT, some FUSE/SMB mounts: link fails with EPERM) the lock falls back to
    O_EXCL on its name: it is taken, refuses a second taker, and leaves no temporary file."""
    import errno

    def no_link(src, dst):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(lk.os, "link", no_link)
    (tmp_path / "a").mkdir()
    with lk.folder_lock(tmp_path / "a", "edfgen gwas") as lock:
        assert json.loads(lock.read_text())["command"] == "edfgen gwas"
        assert [p.name for p in (tmp_path / "a").iterdir()] == [lk.LOCK_NAME]
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / lk.LOCK_NAME).write_text(json.dumps({"host": lk.socket.gethostname(), "pid": 1,
                                                           "command": "edfgen clump"}))   # pid 1 runs
    with pytest.raises(InputError, match="in use by 'edfgen clump' .pid 1 "):
        with lk.folder_lock(tmp_path / "b", "edfgen gwas"):
            pass
    assert [p.name for p in (tmp_path / "b").iterdir()] == [lk.LOCK_NAME]


def _taker(folder, barrier, results):
    barrier.wait()
    try:
        with lk.folder_lock(folder, "edfgen gwas"):
            results.put("held")
            time.sleep(0.3)                # hold while the others try
    except InputError as exc:
        results.put(f"refused: {exc}")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork start method")
def test_folder_lock__of_several_takers_at_once_exactly_one_holds(tmp_path):
    """The exclusivity the atomic (temporary file + link) lock must keep: 4 processes released at the same instant
    onto one folder, 3 rounds: exactly one holds it each round, the others are refused naming it."""
    ctx = multiprocessing.get_context("fork")
    for round_ in range(3):
        folder = tmp_path / f"r{round_}"
        folder.mkdir()
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_taker, args=(folder, barrier, results)) for _ in range(4)]
        for p in procs:
            p.start()
        got = [results.get(timeout=20) for _ in procs]
        for p in procs:
            p.join(timeout=20)
        assert got.count("held") == 1, got
        assert all("in use by 'edfgen gwas'" in g for g in got if g != "held"), got
        assert [p.name for p in folder.iterdir()] == []          # released, no temporary file left


def _beats() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("edfgen-lock-heartbeat")]


def test_folder_lock__the_heartbeat_never_raises_into_the_command_and_stops_with_it(tmp_path, monkeypatch):
    """The heartbeat thread of a held lock: a lock file removed while the command runs (a vanished or read-only
    --out mount) never raises into the command, and the thread is a daemon that ends when the block ends, by a
    normal exit, an error or a Ctrl-C."""
    monkeypatch.setattr(lk, "HEARTBEAT_S", 0.02)
    errors = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    with lk.folder_lock(tmp_path, "edfgen gwas") as lock:
        assert all(t.daemon for t in _beats()) and len(_beats()) == 1   # never keeps a process alive
        lock.unlink()                                                     # the lock file gone
        time.sleep(0.1)                                                   # several beats on the missing file
    assert errors == [] and not lock.exists() and _beats() == []
    with lk.folder_lock(tmp_path, "edfgen gwas") as lock:
        lock.unlink()                                                     # removed by hand, and taken by another
        lock.write_text(json.dumps({"host": "node-7", "pid": 4242, "heartbeat_s": 60}))
        os.utime(lock, (time.time() - 3600, time.time() - 3600))
        time.sleep(0.1)
        assert time.time() - lock.stat().st_mtime > 3000                  # not kept alive by this writer's beat
    assert lock.exists()                                                  # nor removed: not this writer's
    lock.unlink()
    for exc in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with lk.folder_lock(tmp_path, "edfgen gwas"):
                raise exc
        assert _beats() == [] and not lock.exists()
    monkeypatch.setattr(lk.os, "utime", lambda *a, **k: (_ for _ in ()).throw(OSError(30, "Read-only file system")))
    with lk.folder_lock(tmp_path, "edfgen gwas"):   # a read-only mount: every beat fails
        time.sleep(0.1)
    assert errors == [] and _beats() == []
