"""Files another local user planted or can write, odd paths, read-only media and a creation
cut short: each gets one clear sentence (or just works), never a traceback, never the
incident written where someone else reads it."""

from __future__ import annotations

import argparse
import os
import pwd
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from journal_support import web_runbook, write_web_incident

from warroom.journal import JournalError, JournalLocked, JournalReader, JournalWriter
from warroom.cli.journal_commands import cmd_list

ROOT = os.geteuid() == 0


@pytest.fixture(scope="session")
def other_user():
    """A second OS user: a real one made with useradd when running as root, else nobody."""
    if not ROOT:
        pytest.skip("needs root to give a file to another user")
    name = f"wrt{os.getpid()}"
    made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                           name], capture_output=True).returncode == 0
    try:
        yield pwd.getpwnam(name if made else "nobody")
    finally:
        if made:
            subprocess.run(["userdel", name], capture_output=True)


async def start(path: Path) -> str:
    async with await JournalWriter.open(path, flush_interval=None) as w:
        return await w.start_incident(web_runbook(), actor="alice", ts=1.7e9, mono=0.0)


async def refused(path: Path, message: str) -> str:
    with pytest.raises(JournalError, match=message) as info:
        await start(path)
    text = str(info.value)
    assert "\n" not in text and (str(path) in text or str(path.parent) in text)
    return text


async def test_an_empty_world_writable_journal_planted_in_a_shared_dir_is_refused(tmp_path):
    path = tmp_path / "c.db"
    path.touch()
    os.chmod(path, 0o666)
    await refused(path, "writable by other users")
    assert path.stat().st_size == 0


async def test_a_journal_of_another_user_is_refused(tmp_path, other_user):
    path = tmp_path / "c.db"
    path.touch()
    os.chmod(path, 0o600)
    os.chown(path, other_user.pw_uid, other_user.pw_gid)
    await refused(path, "owned by another user")
    assert path.stat().st_size == 0


async def test_a_symlink_to_another_users_file_is_not_followed(tmp_path, other_user):
    theirs = tmp_path / "theirs"
    theirs.touch()
    os.chown(theirs, other_user.pw_uid, other_user.pw_gid)
    (tmp_path / "c.db").symlink_to(theirs)
    await refused(tmp_path / "c.db", "symbolic link")
    assert theirs.stat().st_size == 0


@pytest.mark.parametrize("side", ["-wal", "-shm", ".lock"])
async def test_a_symlink_planted_beside_the_journal_is_refused(tmp_path, side):
    path = tmp_path / "c.db"
    await start(path)
    bait = tmp_path / "bait"
    bait.touch()
    Path(f"{path}{side}").unlink(missing_ok=True)
    Path(f"{path}{side}").symlink_to(bait)
    text = await refused(path, "symbolic link")
    assert f"{path}{side}" in text
    assert bait.stat().st_size == 0


async def test_a_shared_writable_wal_is_refused(tmp_path):
    path = tmp_path / "c.db"
    await start(path)
    wal = Path(f"{path}-wal")
    wal.touch()
    os.chmod(wal, 0o666)
    await refused(path, "writable by other users")


async def test_directories_made_for_a_journal_are_all_private(tmp_path):
    path = tmp_path / "a" / "b" / "c.db"
    os.umask(old := os.umask(0o022))
    await start(path)
    for directory in (tmp_path / "a", tmp_path / "a" / "b"):
        assert directory.stat().st_mode & 0o777 == 0o700, directory
    assert path.stat().st_mode & 0o777 == 0o600


async def test_a_dangling_symlink_as_the_journal(tmp_path, capsys):
    path = tmp_path / "c.db"
    path.symlink_to(tmp_path / "gone.db")
    await refused(path, "symbolic link")
    assert not (tmp_path / "gone.db").exists()
    assert cmd_list(argparse.Namespace(journal=str(path), json=False)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "symbolic link (to a missing file)" in err


async def test_a_journal_path_under_a_regular_file(tmp_path, capsys):
    (tmp_path / "notes").write_text("x")
    path = tmp_path / "notes" / "c.db"
    await refused(path, "not a directory")
    assert cmd_list(argparse.Namespace(journal=str(path), json=False)) == 1
    assert "not a directory" in capsys.readouterr().err


async def test_a_second_writer_creating_the_same_new_journal_is_told_who_holds_it(tmp_path):
    """Two runs creating one new journal at once: the lock is taken before the file is made,
    so the loser is refused by name, never a FileExistsError."""
    path = tmp_path / "new" / "c.db"
    first = await JournalWriter.open(path, flush_interval=None)
    try:
        with pytest.raises(JournalLocked, match=f"process {os.getpid()}"):
            await JournalWriter.open(path, flush_interval=None)
    finally:
        await first.close()


RACE = textwrap.dedent("""
    import asyncio, sys
    from warroom.journal import JournalError, JournalWriter
    sys.stdin.read(1)
    async def main():
        try:
            w = await JournalWriter.open(sys.argv[1], flush_interval=None)
        except JournalError as exc:
            print("refused", exc)
            return
        await w.close()
        print("opened")
    asyncio.run(main())
""")


def test_runs_racing_to_create_one_journal_never_trace(tmp_path):
    for round_ in range(4):
        path = tmp_path / f"r{round_}" / "c.db"
        children = [subprocess.Popen([sys.executable, "-c", RACE, str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    for _ in range(3)]
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go")
            child.stdin.close()
            child.stdin = None
        outcomes = [child.communicate(timeout=60) for child in children]
        for out, err in outcomes:
            # refused with the holder's pid, or, when the holder has the lock but has not yet
            # written its pid into it, as "another process": one clear line either way
            assert err == "" and (out == "opened\n" or "is in use by" in out), (out, err)
        with JournalReader(path) as reader:
            assert reader.incidents() == []


KILLED_AT = textwrap.dedent("""
    import asyncio, os, sqlite3, sys
    real, seen = sqlite3.connect, [0]
    def connect(*args, **kwargs):
        conn = real(*args, **kwargs)
        def trace(statement):
            seen[0] += 1
            if seen[0] == int(sys.argv[2]):
                os._exit(9)
        conn.set_trace_callback(trace)
        return conn
    sqlite3.connect = connect
    from warroom.journal import JournalWriter
    async def main():
        await (await JournalWriter.open(sys.argv[1], flush_interval=None)).close()
    asyncio.run(main())
""")


async def test_a_kill_at_any_statement_of_creating_a_journal_leaves_it_usable(tmp_path):
    for n in range(1, 100):
        path = tmp_path / f"k{n}.db"
        child = subprocess.run([sys.executable, "-c", KILLED_AT, str(path), str(n)],
                               capture_output=True, text=True, timeout=60)
        assert child.stderr == ""
        await start(path)
        with JournalReader(path) as reader:
            assert len(reader.incidents()) == 1 and reader.verify().sound
        if child.returncode == 0:
            break
        assert child.returncode == 9
    assert n > 3, "the kill hook never fired"


@pytest.fixture
def read_only_dir(tmpfs):
    """A tmpfs to hold a cleanly closed journal, to be remounted read-only."""
    return tmpfs("media", "4m")


async def test_a_journal_on_read_only_media(read_only_dir, capsys):
    path = read_only_dir / "c.db"
    incident = await write_web_incident(path)
    assert subprocess.run(["mount", "-o", "remount,ro", str(read_only_dir)]).returncode == 0
    with JournalReader(path) as reader:
        assert [i.id for i in reader.incidents()] == [incident]
        assert reader.verify().sound
    assert cmd_list(argparse.Namespace(journal=str(path), json=False)) == 0
    assert incident in capsys.readouterr().out
    text = await refused(path, "Read-only file system")
    assert "Traceback" not in text
