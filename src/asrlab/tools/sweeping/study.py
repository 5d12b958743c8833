"""A sweep's Optuna study in an RDB storage (SQLite, PostgreSQL, MySQL) shared by processes and
machines: trials whose process died are failed and asked again, never left RUNNING."""

import logging
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from asrlab.tools.sweeping.space import SweepConfigError

log = logging.getLogger(__name__)
# Seconds a SQLite writer waits for another process's lock before failing.
SQLITE_TIMEOUT_S = 60
SCHEMES = ("sqlite", "postgresql", "mysql")
"""The RDB storages a study may be kept in (a driver may follow: postgresql+psycopg2://)."""


def shared_url(url: str) -> str:
    """`url` with which every trial's process opens the same study: an SQLite file's relative
    path made absolute, since a trial may run in another folder (`hydra.job.chdir=True`)."""
    parsed = make_url(url)
    path = parsed.database
    if not parsed.drivername.startswith("sqlite") or path in (None, "", ":memory:"):
        return url
    if Path(path).is_absolute():
        return url
    return parsed.set(database=str(Path(path).absolute())).render_as_string(hide_password=False)


def shown_url(url: str) -> str:
    """`url` as logs and errors may show it: a password in it masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not a URL: nothing to mask
        return url


def rdb_storage(url: str, heartbeat_interval: int) -> RDBStorage:
    """The storage at `url`, in which running trials record a heartbeat every
    `heartbeat_interval` seconds (`heartbeat`); a trial silent for twice as long is failed by
    `fail_stale_trials` and enqueued again with its parameters, once. A URL of another kind,
    a driver not installed or a database that cannot be opened raise SweepConfigError."""
    where = f"hydra.sweeper.storage={shown_url(url)}"
    scheme = url.partition("://")[0].partition("+")[0] if "://" in url else None
    if scheme not in SCHEMES:
        raise SweepConfigError(
            f"{where}: not an RDB URL; give sqlite:///PATH.db, postgresql://USER@HOST/DB or "
            "mysql://USER@HOST/DB (null: optuna.db in the sweep folder)"
        )
    sqlite = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}} if scheme == "sqlite" else {}
    try:
        with warnings.catch_warnings():  # heartbeats have been "experimental" since Optuna 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(
                url,
                engine_kwargs=sqlite,
                heartbeat_interval=heartbeat_interval,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
            )
    except (ImportError, SQLAlchemyError, ValueError) as err:  # the driver, the server, the file
        reason = " ".join(str(err).split("(Background on this error")[0].split())
        raise SweepConfigError(f"{where}: cannot open it ({reason})") from None


def open_study(
    storage: RDBStorage,
    study_name: str | None,
    directions: Sequence[str],
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
) -> optuna.Study:
    """The study `study_name` in `storage`, created if new, its stale trials failed."""
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        directions=list(directions),
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    fail_stale_trials(study)
    return study


def fail_stale_trials(study: optuna.Study) -> None:
    """Fails (and logs) the running trials whose process stopped recording heartbeats."""
    before = {t.number for t in study.get_trials(states=[optuna.trial.TrialState.RUNNING])}
    optuna.storages.fail_stale_trials(study)
    after = {t.number for t in study.get_trials(states=[optuna.trial.TrialState.RUNNING])}
    if before - after:
        log.warning(
            "trials %s were left running by a process that died: failed, asked again",
            sorted(before - after),
        )


@contextmanager
def heartbeat(storage: RDBStorage, study: optuna.Study, numbers: Sequence[int]) -> Iterator[None]:
    """Records the heartbeats of the study's trials `numbers` while the block runs."""
    study_id = storage.get_study_id_from_name(study.study_name)
    ids = [storage.get_trial_id_from_study_id_trial_number(study_id, n) for n in numbers]
    interval = storage.get_heartbeat_interval()
    stop = threading.Event()

    def beat() -> None:
        while True:
            for trial_id in ids:
                storage.record_heartbeat(trial_id)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, name="optuna-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
