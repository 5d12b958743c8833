"""asrlab's LibriSpeech and Speech Commands recipes against `lhotse.recipes`, offline.

Corpora: generated in the published layouts (tones of 0.1-0.3 s; no download). LibriSpeech:
`--utterances` utterances in chapters of 20 over 4 subsets; Speech Commands (v0.02's single
archive): 3 words, the clips of one speaker in each list. Per recipe: seconds to prepare (ours
without its manifest cache), whether both give the same utterances (ids, texts, durations) per
split, and what each does with two bad inputs: a transcript line whose audio is missing and a
transcript line without text (ours: a named error, `file:line`; Lhotse's: see the result).

    python bench/recipes.py [--utterances N] [--workdir DIR]
"""

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from lhotse.recipes import prepare_librispeech, prepare_speechcommands

from asrlab.data.audio import write_audio
from asrlab.data.datasets.cache import DatasetError
from asrlab.data.datasets.librispeech import LibriSpeech
from asrlab.data.datasets.speech_commands import SpeechCommands
from common import write_result

RATE = 16000
SUBSETS = {"train": "train-clean-100", "val": "dev-clean", "test": "test-clean"}
SPLITS_OF_LHOTSE = {"train": "train", "val": "valid", "test": "test"}
Rows = dict[str, tuple[str, float]]
"""utterance id -> (text, seconds)"""


def tone(number: int) -> torch.Tensor:
    seconds = 0.1 + 0.01 * (number % 20)
    return 0.1 * torch.sin(torch.arange(int(seconds * RATE)) * 0.2)


def write_librispeech(root: Path, utterances: int) -> None:
    """`utterances` split over the subsets of SUBSETS, a chapter of 20 per speaker."""
    for n in range(utterances):
        subset = list(SUBSETS.values())[n % len(SUBSETS)]
        speaker, chapter = str(100 + n // 60), str(1000 + n // 60)
        folder = root / subset / speaker / chapter
        folder.mkdir(parents=True, exist_ok=True)
        utt_id = f"{speaker}-{chapter}-{n:04d}"
        write_audio(folder / f"{utt_id}.flac", tone(n), RATE)
        with (folder / f"{speaker}-{chapter}.trans.txt").open("a") as f:
            f.write(f"{utt_id} WORDS OF {n}\n")


def write_speech_commands(root: Path) -> None:
    """v0.02's archive: word folders, `_background_noise_`, the val and test lists."""
    for n, (word, speaker) in enumerate(
        (w, s) for w in ("yes", "no", "dog") for s in ("0a7c2a8d", "1b4c9b89", "2c6d5e11")
    ):
        (root / word).mkdir(parents=True, exist_ok=True)
        write_audio(root / word / f"{speaker}_nohash_0.wav", tone(n), RATE)
    (root / "_background_noise_").mkdir()
    write_audio(root / "_background_noise_" / "running_tap.wav", tone(0), RATE)
    for name, speaker in (("validation_list.txt", "1b4c9b89"), ("testing_list.txt", "2c6d5e11")):
        lines = [f"{w}/{speaker}_nohash_0.wav" for w in ("yes", "no", "dog")]
        (root / name).write_text("\n".join(lines) + "\n")


def ours(manifests: dict[str, Path]) -> dict[str, Rows]:
    splits = {}
    for split, path in manifests.items():
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        splits[split] = {r["id"]: (r["text"], round(r["duration"], 4)) for r in lines}
    return splits


def lhotse_rows(parts: dict[str, dict]) -> Rows:
    supervisions = parts["supervisions"]
    return {s.recording_id: (s.text, round(s.duration, 4)) for s in supervisions}


def timed(prepare: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    return prepare(), round(time.perf_counter() - start, 3)


def outcome(prepare: Any, count: Any) -> str:
    """What a preparer does with bad input: its error, or how many utterances it gave."""
    try:
        return f"{count(prepare())} utterances, no error"
    except DatasetError as error:
        return f"error: {error}"
    except Exception as error:  # noqa: BLE001 - what Lhotse raises is what is measured
        return f"{type(error).__name__}: {error}"


def librispeech(workdir: Path, utterances: int) -> dict[str, Any]:
    root = workdir / "LibriSpeech"
    write_librispeech(root, utterances)
    our_rows, our_seconds = timed(lambda: ours(fresh(root, workdir, "manifests").prepare()))
    parts, lhotse_seconds = timed(
        lambda: prepare_librispeech(root, dataset_parts=list(SUBSETS.values()))
    )
    theirs = {split: lhotse_rows(parts[subset]) for split, subset in SUBSETS.items()}
    transcript = next(root.glob("dev-clean/*/*/*.trans.txt"))
    text = transcript.read_text()
    transcript.write_text(text + f"{text.split()[0]}\n")  # its id again, without text
    no_text = {
        "asrlab": outcome(lambda: fresh(root, workdir, "no_text").prepare(), len),
        "lhotse": outcome(
            lambda: prepare_librispeech(root, dataset_parts=["dev-clean"]), count_lhotse
        ),
    }
    transcript.write_text(text)
    sorted(transcript.parent.glob("*.flac"))[0].unlink()
    missing = {
        "asrlab": outcome(lambda: fresh(root, workdir, "missing").prepare(), len),
        "lhotse": outcome(
            lambda: prepare_librispeech(root, dataset_parts=["dev-clean"]), count_lhotse
        ),
    }
    return {
        "utterances": utterances,
        "asrlab_seconds": our_seconds,
        "lhotse_seconds": lhotse_seconds,
        "same_utterances": our_rows == theirs,
        "missing_audio": missing,
        "line_without_text": no_text,
    }


def fresh(root: Path, workdir: Path, name: str) -> LibriSpeech:
    """Our recipe with a manifest cache of its own, so that nothing is reused."""
    return LibriSpeech(str(root), str(workdir / name), *([s] for s in SUBSETS.values()))


def count_lhotse(parts: dict[str, dict]) -> int:
    return sum(len(p["supervisions"]) for p in parts.values())


def speech_commands(workdir: Path) -> dict[str, Any]:
    root = workdir / "speech_commands"
    write_speech_commands(root)
    our_rows, our_seconds = timed(
        lambda: ours(SpeechCommands(str(root), str(workdir / "sc_manifests")).prepare())
    )
    # Lhotse's reads CORPUS/speech_commands_v0.02 and the separately published test set
    # CORPUS/speech_commands_test_set_v0.02; given the archive alone, it stops at the second.
    (workdir / "sc").mkdir()
    (workdir / "sc" / "speech_commands_v0.02").symlink_to(root)
    lhotse = outcome(lambda: prepare_speechcommands("2", workdir / "sc"), count_lhotse)
    return {
        "utterances": {split: len(rows) for split, rows in our_rows.items()},
        "asrlab_seconds": our_seconds,
        "lhotse_on_the_archive": lhotse,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=2000, help="LibriSpeech's size")
    parser.add_argument("--workdir", type=Path, help="where the corpora go (default: a temp dir)")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # Lhotse's progress and warnings; outcomes are recorded
    with tempfile.TemporaryDirectory(dir=args.workdir) as folder:
        result = {
            "librispeech": librispeech(Path(folder), args.utterances),
            "speech_commands": speech_commands(Path(folder)),
        }
    logging.disable(logging.NOTSET)
    write_result("recipes" if args.utterances == 2000 else "recipes_smoke", result)
    return result


if __name__ == "__main__":
    main()
