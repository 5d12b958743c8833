"""asrlab-reproduce and asrlab-resume: rerun or continue a run from its folder alone.

Both run `asrlab-train --config-path RUN/.hydra --config-name config`: the run's composed
config, with any extra overrides after it. First they compare the environment recorded in the
run folder (`run_info.json`) with the current one and warn about each difference that could
break bit-for-bit equality, and refuse to start from an `init_from` checkpoint other than the
one recorded (its SHA-256).
"""

import argparse
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from asrlab.cli import train
from asrlab.training.init_from import InitFromChangedError, check_recorded
from asrlab.training.run_info import read_run_info, run_info, warn_on_differences
from asrlab.training.threads import set_threads

log = logging.getLogger(__name__)


def check_environment(run: Path) -> None:
    """Warns about each difference from the run's recorded environment, with torch's threads
    already set as the rerun sets them from the run's config."""
    recorded = read_run_info(run)
    threads = set_threads(OmegaConf.load(run / ".hydra" / "config.yaml").get("threads"))
    current = run_info(recorded.get("seed"), recorded.get("deterministic"), threads)
    warn_on_differences(recorded, current)


def _rerun_value(run: Path, overrides: list[str], key: str) -> Any:
    """The top-level `key` of the rerun's config: the run's, or the overrides' last for it."""
    value = OmegaConf.load(run / ".hydra" / "config.yaml").get(key)
    for override in OverridesParser.create().parse_overrides(overrides):
        if override.key_or_group == key:
            value = None if override.is_delete() else override.value()
    return value


def check_init_from(run: Path, overrides: list[str]) -> None:
    """Raises InitFromChangedError if the rerun would start from an `init_from` checkpoint
    whose SHA-256 is not the one the run recorded (a rerun with `ckpt_path` loads none)."""
    recorded = read_run_info(run).get("init_from")
    path = _rerun_value(run, overrides, "init_from")
    if (
        recorded is not None
        and path is not None
        and _rerun_value(run, overrides, "ckpt_path") is None
    ):
        check_recorded(path, recorded)


def _train(run: Path, out: Path, overrides: list[str]) -> None:
    """Runs asrlab-train on the run's saved config, writing into `out`."""
    check_environment(run)
    try:
        check_init_from(run, overrides)
    except InitFromChangedError as err:
        raise SystemExit(f"asrlab-reproduce: {err}") from None  # resume loads ckpt_path
    sys.argv = [
        "asrlab-train",
        "--config-path",
        str((run / ".hydra").resolve()),
        "--config-name",
        "config",
        f"hydra.run.dir='{out.resolve()}'",
        # The saved config has no `hydra` part, so not our conf/hydra's callbacks.
        "+hydra.callbacks.run_lock._target_=asrlab.training.run_lock.RunLock",
        *overrides,
    ]
    train.main()


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("run", type=Path, help="the run folder (holding .hydra/config.yaml)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides applied after the run's")
    return parser


def main(argv: list[str] | None = None) -> None:
    """asrlab-reproduce RUN [--out DIR] [overrides]: the same run again, in a new folder
    (default RUN/reproduce/DATE_TIME)."""
    parser = _parser("asrlab-reproduce", "Rerun a run from its folder, into a new folder.")
    parser.add_argument("--out", type=Path, help="the new run folder")
    # Intermixed: `--out DIR` may come after the run and before or among the overrides.
    args = parser.parse_intermixed_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(message)s")
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out = args.out or args.run / "reproduce" / stamp
    log.info("reproducing %s into %s", args.run, out)
    _train(args.run, out, args.overrides)


def resume(argv: list[str] | None = None) -> None:
    """asrlab-resume RUN [overrides]: continue a stopped or killed run in its own folder from its
    newest `last.ckpt`, keeping the run's `.hydra` record as it was."""
    parser = _parser("asrlab-resume", "Continue a run from its last checkpoint.")
    args = parser.parse_intermixed_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(message)s")
    _train(args.run, args.run, ["hydra.output_subdir=null", "ckpt_path=last", *args.overrides])
