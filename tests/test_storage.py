import subprocess
import sys
from pathlib import Path

import pytest

from asrlab.storage import content_key, file_key, locked, staged_folder, write_atomically

# Tries the lock without waiting: exit status 0 if it got it, 1 if another process holds it.
TRY_LOCK = """
import fcntl, sys
with open(sys.argv[1], "a") as f:
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(1)
"""


def _try_lock(path: Path) -> int:
    return subprocess.run([sys.executable, "-c", TRY_LOCK, str(path)], check=False).returncode


def test_a_lock_excludes_another_process_until_released(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    with locked(lock):
        assert _try_lock(lock) == 1
    assert _try_lock(lock) == 0


def test_a_write_that_fails_midway_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    write_atomically(path, lambda temporary: temporary.write_text("old"))

    def fail_midway(temporary: Path) -> None:
        temporary.write_text("new, half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, fail_midway)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["data.txt"]
    write_atomically(path, lambda temporary: temporary.write_text("new"))
    assert path.read_text() == "new"


def test_a_staged_folder_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    folder = tmp_path / "built"
    with pytest.raises(RuntimeError), staged_folder(folder) as staging:
        (staging / "a").write_text("a")
        assert not folder.exists()
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []

    with staged_folder(folder) as staging:
        (staging / "a").write_text("first")
    with staged_folder(folder) as staging:  # finishes second: the first one's folder stays
        (staging / "a").write_text("second")
    assert [p.name for p in tmp_path.iterdir()] == ["built"]
    assert (folder / "a").read_text() == "first"


def test_keys_are_stable_and_follow_the_content(tmp_path: Path) -> None:
    assert content_key({"a": 1, "b": [2]}, 10) == content_key({"b": [2], "a": 1}, 10)
    # The names the caches had before this module: their folders are reused.
    assert content_key({"a": 1, "b": [2]}, 10) == "ae8a9a5052"
    assert content_key({"a": 1, "b": [3]}, 10) != content_key({"a": 1, "b": [2]}, 10)
    path = tmp_path / "f"
    path.write_text("one")
    key = file_key(path)
    assert file_key(path) == key
    path.write_text("three")
    assert file_key(path) != key
