"""One run at a time in a run folder: `asrlab-train` (so also `asrlab-resume`) holds RUN/.lock
while it runs, and a second run into the same folder refuses, naming the holder, before Hydra
writes anything into it.

The lock is an `fcntl.flock`, which the system releases when its process ends however it ends: a
killed run never leaves its folder locked. The file records the holder (pid, host, start time)
for the refusal's message and is emptied at the end; a record left by a killed run is taken over
with a warning.
"""

import atexit
import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from asrlab.storage import locked
from asrlab.training.checkpoint_io import remove_leftovers
from asrlab.training.input_errors import exit_from_callback

log = logging.getLogger(__name__)

LOCK = ".lock"
# Set by Lightning's DDP launcher, torchrun and SLURM; in a DDP run only global rank 0 has all 0.
_RANKS = ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")


class RunFolderInUseError(RuntimeError):
    """Another process holds the run folder's lock."""


def _describe(record: str) -> str:
    """'pid P on HOST since TIME' of a lock file's record ('an unknown process' if unreadable)."""
    try:
        holder = json.loads(record)
        return f"pid {holder['pid']} on {holder['host']} since {holder['since']}"
    except (ValueError, TypeError, KeyError):
        return "an unknown process"


@contextmanager
def hold_run_folder(run_dir: Path) -> Iterator[None]:
    """Hold `run_dir`'s lock for the block; raises `RunFolderInUseError` if another run holds it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK
    with ExitStack() as stack:
        try:
            stack.enter_context(locked(path, blocking=False))
        except BlockingIOError:
            raise RunFolderInUseError(
                f"{run_dir} is in use by the run of {_describe(path.read_text())}: wait for it "
                "to end, or give this run another folder (hydra.run.dir=DIR)"
            ) from None
        if previous := path.read_text().strip():
            log.warning(
                "took over the lock of %s from %s, which ended without releasing it",
                run_dir,
                _describe(previous),
            )
        since = datetime.now().isoformat(timespec="seconds")
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": since}
        path.write_text(json.dumps(holder))
        try:
            yield
        finally:
            path.write_text("")


class RunLock(Callback):
    """Hydra callback (`hydra.callbacks.run_lock`): a single run holds its folder's lock from before
    Hydra writes `.hydra/` into it to the end of the process, and first removes what interrupted
    checkpoint saves left in its checkpoint folders. Only DDP's global rank 0 takes it (the other
    ranks run in the same folder); sweep trials each have their own folder."""

    def __init__(self) -> None:
        self._held = ExitStack()
        self._holding = False

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        if any(os.environ.get(rank, "0") != "0" for rank in _RANKS):
            return
        try:
            self._held.enter_context(hold_run_folder(Path(config.hydra.run.dir)))
        except RunFolderInUseError as error:
            raise exit_from_callback(error) from None
        self._holding = True
        atexit.register(self._held.close)  # also when a signal ends the run with SystemExit

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not self._holding:
            return
        for callback in (config.get("callbacks") or {}).values():
            if callback.get("dirpath") and Path(callback.dirpath).is_dir():
                remove_leftovers(Path(callback.dirpath))

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._held.close()
