"""asrlab-transcribe: text and word times for audio files, from a trained checkpoint.

One line per file, in input order (format=jsonl: a JSON object; format=text: path<TAB>text),
to stdout or `out`, with a progress bar on stderr. A file that cannot be read is logged and
skipped, and makes the exit status 1; inputs that match nothing, or a bad checkpoint or option,
stop it with status 2 before any file is read.
"""

import contextlib
import logging
import pickle
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from asrlab.tools.inference.decoding import choose_decoder
from asrlab.tools.inference.inputs import find_audio
from asrlab.tools.inference.output import FORMATS
from asrlab.tools.inference.transcriber import Failure, Transcriber
from asrlab.training.checkpoint import load_model
from asrlab.trust.configs import UntrustedTargetError
from asrlab.trust.pickles import UnsafeCheckpointError

log = logging.getLogger(__name__)


def prepare(cfg: DictConfig) -> tuple[list[Path], Transcriber]:
    """The files to transcribe and the transcriber; raises ValueError naming a bad option."""
    if missing := [key for key in ("ckpt_path", "inputs") if OmegaConf.is_missing(cfg, key)]:
        raise ValueError(
            f"give {' and '.join(missing)}: asrlab-transcribe "
            "ckpt_path=RUN/checkpoints/NAME.ckpt inputs=[FILE,FOLDER,...]"
        )
    if cfg.format not in FORMATS:
        raise ValueError(f"format={cfg.format} is not one of {', '.join(FORMATS)}")
    inputs = [cfg.inputs] if isinstance(cfg.inputs, str) else list(cfg.inputs)
    paths = find_audio(inputs)
    ckpt = Path(cfg.ckpt_path)
    if not ckpt.is_file():
        raise ValueError(f"ckpt_path={ckpt}: no such file (give RUN/checkpoints/NAME.ckpt)")
    try:
        model, model_cfg = load_model(ckpt)
    except (UnsafeCheckpointError, UntrustedTargetError) as err:  # they start with the path
        raise ValueError(f"ckpt_path={err}") from err
    except (KeyError, RuntimeError, EOFError, OSError, pickle.UnpicklingError) as err:
        raise ValueError(f"ckpt_path={ckpt} is not an asrlab checkpoint: {err!r}") from err
    decoder = choose_decoder(model, cfg.get("decoder"), ckpt, model_cfg)
    transcriber = Transcriber(
        model,
        decoder,
        sample_rate=model_cfg.data.sample_rate,
        chunk_seconds=cfg.chunk_seconds,
        overlap_seconds=cfg.overlap_seconds,
        batch_size=cfg.batch_size,
        device=cfg.device,
    )
    return paths, transcriber


@contextlib.contextmanager
def open_output(out: str | None) -> Iterator[TextIO]:
    """`out` for writing (its folder made), or stdout when None."""
    if out is None:
        yield sys.stdout
        return
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as file:
        yield file


def transcribe(cfg: DictConfig, paths: list[Path], transcriber: Transcriber) -> list[Failure]:
    """Writes a line per transcribed file to `cfg.out` (stdout when null) as each is done;
    returns the files that could not be read."""
    format_line = FORMATS[cfg.format]
    failures: list[Failure] = []
    seconds, start = 0.0, time.perf_counter()
    columns = (TextColumn("transcribe"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    progress = Progress(*columns, console=Console(stderr=True))
    with open_output(cfg.out) as out, progress:
        task = progress.add_task("transcribe", total=len(paths))
        for result in transcriber(paths):
            if isinstance(result, Failure):
                log.error("skipped: %s", result.error)
                failures.append(result)
            else:
                out.write(format_line(result) + "\n")
                out.flush()
                seconds += result.duration
            progress.advance(task)
    elapsed = time.perf_counter() - start
    log.info(
        "transcribed %d files, %.1f s of audio, in %.1f s%s",
        len(paths) - len(failures),
        seconds,
        elapsed,
        f" into {cfg.out}" if cfg.out else "",
    )
    if failures:
        log.error(
            "%d of %d files could not be read: %s",
            len(failures),
            len(paths),
            ", ".join(str(f.path) for f in failures),
        )
    return failures
