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
    waits for it to be stale instead of refusing (check_unlocked too, since review s39: the refusal is for a lock that
    stays empty and fresh while it waits, here one whose wait is cut short)."""
    lock = tmp_path / lk.LOCK_NAME
    lock.write_text("")
    monkeypatch.setattr(lk, "_wait_unreadable", lambda other, path: None)
    with pytest.raises(InputError, match=r"empty or unreadable.*taken over once 5 s old; rerun in a few seconds") as e:
        lk.check_unlocked(tmp_path)
    assert "None" not in str(e.value)
    monkeypatch.undo()
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
    for exc in (RuntimeError("boom"), ValueError("bad"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with lk.folder_lock(tmp_path, "edfgen gwas"):
                raise exc
        assert _beats() == [] and not lock.exists()
    monkeypatch.setattr(lk.os, "utime", lambda *a, **k: (_ for _ in ()).throw(OSError(30, "Read-only file system")))
    with lk.folder_lock(tmp_path, "edfgen gwas"):   # a read-only mount: every beat fails
        time.sleep(0.1)
    assert errors == [] and _beats() == []


def _plant_stale(folder, kind):
    """A stale lock in ``folder``: another host's job whose heartbeat stopped an hour ago, or a dead pid here."""
    lock = folder / lk.LOCK_NAME
    if kind == "other host":
        lock.write_text(json.dumps({"host": "node-that-ran-the-job", "pid": 4242, "started_ticks": "123",
                                    "command": "edfgen clump", "since": "2026-12-07T01:00:00", "heartbeat_s": 60}))
        os.utime(lock, (time.time() - 3600, time.time() - 3600))
    else:
        dead = multiprocessing.get_context("fork").Process(target=int)
        dead.start()
        dead.join()
        lock.write_text(json.dumps({"host": lk.socket.gethostname(), "pid": dead.pid, "command": "edfgen clump"}))


def _overlap_taker(folder, barrier, results, delay):
    """Takes ``folder``'s lock; while holding it, also holds an O_EXCL marker, so two holders at once are seen. The
    taker waits ``delay`` s between judging the lock stale (its log line) and taking it over: the takers' takeovers
    follow one another in the order a busy machine may give them."""
    warning = lk.log.warning
    lk.log.warning = lambda *a, **k: (time.sleep(delay), warning(*a, **k))     # (a forked child: its own copy)
    barrier.wait()
    try:
        with lk.folder_lock(folder, "edfgen gwas"):
            try:
                fd = os.open(folder / "holder", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                results.put("held by two at once")
                time.sleep(0.5)
                return
            results.put("held")
            time.sleep(0.5)                # hold while the others try
            os.close(fd)
            os.unlink(folder / "holder")
    except InputError as exc:
        results.put(f"refused: {exc}")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork start method")
@pytest.mark.parametrize("kind", ["other host", "dead pid"])
def test_folder_lock__several_takers_of_one_stale_lock_leave_exactly_one_holder(tmp_path, kind):
    """Review s39: two takers of one stale lock both judged it stale, then each unlinked whatever file was at its
    name by then, so the second deleted the fresh lock the first had just taken and both ran (5 of 6 runs with two
    takers of another host's lock 1 h old). The takeover is now serialized and removes only the lock judged stale:
    4 takers released together (their takeovers 0.1 s apart), 2 rounds: exactly one holds, the others are refused naming it, and no takeover
    helper file stays behind."""
    ctx = multiprocessing.get_context("fork")
    for round_ in range(2):
        folder = tmp_path / f"r{round_}"
        folder.mkdir()
        _plant_stale(folder, kind)
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_overlap_taker, args=(folder, barrier, results, 0.1 * i)) for i in range(4)]
        for p in procs:
            p.start()
        got = [results.get(timeout=20) for _ in procs]
        for p in procs:
            p.join(timeout=20)
        assert got.count("held") == 1 and "held by two at once" not in got, got
        assert all("in use by 'edfgen gwas'" in g for g in got if g != "held"), got
        assert [p.name for p in folder.iterdir()] == []          # released; no lock, temporary or helper file left


def test_folder_lock__a_takeover_helper_left_by_a_killed_taker_is_reused_and_removed(tmp_path, monkeypatch):
    """The takeover's helper file (.edfgen.lock.takeover, hidden) left by a taker killed while taking over does not
    block the next one, which removes it; where fcntl locks are missing the stale lock is still taken over."""
    _plant_stale(tmp_path, "other host")
    (tmp_path / lk.TAKEOVER_NAME).write_text("")
    with lk.folder_lock(tmp_path, "edfgen gwas") as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        assert [p.name for p in tmp_path.iterdir()] == [lk.LOCK_NAME]
    monkeypatch.setattr(lk, "fcntl", None)
    _plant_stale(tmp_path, "dead pid")
    with lk.folder_lock(tmp_path, "edfgen gwas") as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_folder_lock__another_hosts_refusal_says_when_it_is_taken_over_automatically(tmp_path):
    """Review s39: a job requeued right after a time-limit kill (its lock 5 min old, on another node) was told to
    remove .edfgen.lock by hand, though it is taken over automatically 15 min after the last heartbeat. The refusal
    now says both times; a lock without a heartbeat (an older edfgen) still says to remove it."""
    lock = tmp_path / lk.LOCK_NAME
    lock.write_text(json.dumps({"host": "node-7", "pid": 4242, "command": "edfgen gwas", "heartbeat_s": 60}))
    os.utime(lock, (time.time() - 300, time.time() - 300))
    expected = r"last heartbeat was 5 min ago: it is taken over automatically after 15 min without one \(or remove "
    for refuse in (lambda: lk.check_unlocked(tmp_path), lambda: lk.folder_lock(tmp_path, "edfgen gwas").__enter__()):
        with pytest.raises(InputError, match=expected + r".*\.edfgen\.lock if no edfgen runs there any more\)$"):
            refuse()
    lock.write_text(json.dumps({"host": "node-7", "pid": 4242, "command": "edfgen gwas"}))
    with pytest.raises(InputError, match=r"; if no edfgen runs there any more, remove .*\.edfgen\.lock$") as e:
        lk.folder_lock(tmp_path, "edfgen gwas").__enter__()
    assert "automatically" not in str(e.value)


def test_folder_lock__a_heartbeat_that_cannot_start_leaves_no_lock_behind(tmp_path, monkeypatch, caplog):
    """Review s39: when the heartbeat thread could not start ("can't start new thread": a thread or memory limit),
    the lock file and the in-process count stayed, so the folder was locked until the process ended. The command
    now runs without a heartbeat (one log line) and releases the lock when it ends."""
    def no_thread(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    with lk.folder_lock(tmp_path, "edfgen gwas") as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists() and lk._HELD == {}
    assert "cannot start the heartbeat of its lock (can't start new thread)" in caplog.text
    with lk.folder_lock(tmp_path, "edfgen gwas"):
        pass
    assert not lock.exists() and lk._HELD == {}


def _guarded_entries(folder, n, results):
    overlaps = 0
    for _ in range(n):
        with lk._takeover_guard(folder):
            try:
                os.close(os.open(folder / "inside", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                overlaps += 1
                continue
            os.unlink(folder / "inside")
    results.put(overlaps)


@pytest.mark.skipif(lk.fcntl is None or not hasattr(os, "fork"), reason="fcntl locks, fork start method")
def test_takeover_guard__one_process_at_a_time_though_each_holder_removes_its_file(tmp_path):
    """The guard of a takeover removes its helper file before releasing it (none left behind), so a waiter may get
    the lock of a removed file while a newcomer locks a new one: the waiter must then lock the current file again.
    4 processes x 100 entries: never two inside at once (without that check, 246 of the 400 entries overlapped)."""
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    procs = [ctx.Process(target=_guarded_entries, args=(tmp_path, 100, results)) for _ in range(4)]
    for p in procs:
        p.start()
    got = [results.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=20)
    assert got == [0, 0, 0, 0] and list(tmp_path.iterdir()) == []


def _hold_guard(folder, held, done):
    fd = os.open(folder / lk.TAKEOVER_NAME, os.O_CREAT | os.O_RDWR)
    lk.fcntl.lockf(fd, lk.fcntl.LOCK_EX)
    held.set()
    done.wait(20)


@pytest.mark.skipif(lk.fcntl is None or not hasattr(os, "fork"), reason="fcntl locks, fork start method")
def test_folder_lock__a_takeover_stuck_in_another_process_is_refused_in_one_line(tmp_path, monkeypatch):
    """A taker stopped (SIGSTOP, a hung mount) while taking over a stale lock: the next taker waits a while for it,
    then refuses in one line naming the helper file, instead of waiting forever; the stale lock is left as it was."""
    monkeypatch.setattr(lk, "TAKEOVER_WAIT_S", 0.3)
    _plant_stale(tmp_path, "other host")
    ctx = multiprocessing.get_context("fork")
    held, done = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_guard, args=(tmp_path, held, done))
    holder.start()
    try:
        assert held.wait(10)
        with pytest.raises(InputError, match=r"taking over its stale lock for 0 s .stopped\?.; if none runs, remove "
                                             r".*\.edfgen\.lock\.takeover$"):
            with lk.folder_lock(tmp_path, "edfgen gwas"):
                pytest.fail("locked")
        assert '"node-that-ran-the-job"' in (tmp_path / lk.LOCK_NAME).read_text()
    finally:
        done.set()
        holder.join(timeout=10)
    with lk.folder_lock(tmp_path, "edfgen gwas"):          # the stuck taker gone: taken over
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(lk.fcntl is None or not hasattr(os, "fork"), reason="fcntl locks, fork start method")
def test_folder_lock__without_posix_locks_the_takeover_helper_is_not_left_behind(tmp_path, monkeypatch):
    """Review s39: where lockf fails with another error than EACCES/EAGAIN (NFS without lockd: ENOLCK; Lustre without
    flock) the takeover ran unguarded and left .edfgen.lock.takeover behind, which every later command took for a
    user's file ("directory exists and is not empty"). The helper is now removed, and a leftover one is hidden."""
    import errno

    from edfgen.formats.manifest import _input_files
    from edfgen.formats.owned import unlisted_file
    from edfgen.formats.tables import prepare_out_dir
    from edfgen.pipeline_checks import left_in

    def no_lockd(fd, how):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(lk.fcntl, "lockf", no_lockd)
    _plant_stale(tmp_path, "dead pid")
    with lk.folder_lock(tmp_path, "edfgen gwas") as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        assert [p.name for p in tmp_path.iterdir()] == [lk.LOCK_NAME]
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    (tmp_path / lk.TAKEOVER_NAME).write_text("")           # left by an older edfgen
    assert unlisted_file(tmp_path) is None and left_in(tmp_path) == "" and _input_files(tmp_path) == []
    assert prepare_out_dir(tmp_path, option="--out") == tmp_path


def test_create__a_link_made_though_link_said_eexist_is_the_lock(tmp_path, monkeypatch):
    """Review s39: on NFSv3 a retransmitted link() can answer EEXIST although the first one made the link; the lock
    was then ours but the taker took it for another's and refused itself ("in use by" its own pid). Now a link count
    of 2 on the temporary file means the link was made (the open(2) man page's recipe)."""
    real_link = os.link

    def retransmitted(src, dst):
        real_link(src, dst)
        raise FileExistsError(17, "File exists")

    monkeypatch.setattr(lk.os, "link", retransmitted)
    with lk.folder_lock(tmp_path, "edfgen gwas") as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        assert [p.name for p in tmp_path.iterdir()] == [lk.LOCK_NAME]
    assert list(tmp_path.iterdir()) == []


def test_check_unlocked__an_empty_lock_is_waited_for_not_refused(tmp_path, caplog):
    """Review s39: an empty lock a moment old (a writer killed while taking it, on a file system without hard links)
    was refused by check_unlocked, which commands call before folder_lock, though folder_lock waits for it to be
    stale and takes it over. check_unlocked now waits for it too."""
    lock = tmp_path / lk.LOCK_NAME
    lock.write_text("")
    os.utime(lock, (time.time() - 4.5, time.time() - 4.5))
    t0 = time.monotonic()
    lk.check_unlocked(tmp_path)
    assert time.monotonic() - t0 < 2.0 and "empty or unreadable" in caplog.text
