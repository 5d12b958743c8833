"""asrlab-transcribe: text and word times for audio files, from a trained checkpoint
(asrlab.tools.inference.run). Exit status 1 when a file could not be read, 2 for a bad option."""

import logging
import os
import sys

import hydra
from omegaconf import DictConfig

from asrlab.cli.quiet import quiet
from asrlab.tools.inference.run import prepare, transcribe
from asrlab.training.threads import set_threads

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path="../conf", config_name="transcribe")
def main(cfg: DictConfig) -> None:
    quiet()
    set_threads(cfg.threads)
    try:
        paths, transcriber = prepare(cfg)
    except ValueError as err:
        log.error("%s", err)
        raise SystemExit(2) from None
    try:
        failures = transcribe(cfg, paths, transcriber)
    except BrokenPipeError:  # stdout's reader stopped early (`| head`): Python's recipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
