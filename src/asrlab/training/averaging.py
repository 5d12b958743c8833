"""Checkpoint averaging: one checkpoint whose weights are the mean of a run's `k` newest (`last`)
or `k` best by validation WER (`best`) checkpoints, loaded by every tool as any checkpoint is.

Float tensors (parameters, and buffers such as BatchNorm's running_mean and running_var) are
averaged in float64 and cast back; integer tensors (BatchNorm's num_batches_tracked) and
everything else come from the reference checkpoint: the newest (`last`) or the best (`best`).
The checkpoints must agree on the config (outside `RUN_KEYS`), the tokenizer and the weights'
names, shapes and dtypes; files are read weights-only (`asrlab.trust.pickles`).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from asrlab.storage import write_atomically
from asrlab.training.checkpoint_contents import CheckpointError, checked_contents
from asrlab.training.legacy import renamed_targets
from asrlab.trust.pickles import safe_load

RANKS = ("last", "best")
# Config keys that say how a run ran, not what it trained: they may differ between checkpoints.
RUN_KEYS = frozenset(
    (
        "task_name",
        "threads",
        "preflight",
        "ckpt_path",
        "optimized_metric",
        "trainer",
        "logger",
        "callbacks",
        "paths",
    )
)
# What only resuming needs: an averaged checkpoint is for evaluating, not for resuming.
TRAINING_STATE = ("optimizer_states", "lr_schedulers", "loops", "callbacks")
CHECKPOINT_KEYS = ("state_dict", "epoch", "global_step", "asrlab_config")
MONITOR = "val/wer"
AVERAGED = "averaged"  # the key that records, in an averaged checkpoint, what it averages


class AveragingError(ValueError):
    """Checkpoints that cannot be averaged, or too few of them."""


@dataclass(frozen=True)
class Candidate:
    """A checkpoint file of a run, with its contents (memory-mapped)."""

    path: Path
    contents: dict[str, Any]

    @property
    def step(self) -> tuple[int, int]:
        return self.contents["global_step"], self.contents["epoch"]

    @property
    def val_wer(self) -> float | None:
        """Its validation WER, as the ModelCheckpoint that saved it recorded it; None if none
        did (last.ckpt, a step checkpoint); CheckpointError if what it recorded is no number."""
        for state in self.contents.get("callbacks", {}).values():
            if isinstance(state, dict) and state.get("monitor") == MONITOR:
                kept = state.get("best_k_models")
                for name, score in kept.items() if isinstance(kept, dict) else ():
                    if Path(str(name)).name == self.path.name:
                        return _score(self.path, score)
        return None

    def record(self) -> dict[str, Any]:
        return {
            "file": self.path.name,
            "epoch": self.contents["epoch"],
            "global_step": self.contents["global_step"],
            "val_wer": self.val_wer,
        }


def _score(path: Path, score: Any) -> float:
    if isinstance(score, torch.Tensor) and score.numel() == 1:
        score = score.item()
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        return float(score)
    raise CheckpointError(
        f"{path}: its recorded {MONITOR} is a {type(score).__name__}, not a number"
    )


def candidates(folder: Path) -> list[Candidate]:
    """The checkpoints in `folder` that training wrote (not averaged ones), one per training
    step (last.ckpt and the epoch checkpoint of its step hold the same weights)."""
    found: dict[int, Candidate] = {}
    for path in sorted(folder.glob("*.ckpt")):
        contents = checked_contents(path, safe_load(path, mmap=True), CHECKPOINT_KEYS)
        candidate, step = Candidate(path, contents), contents["global_step"]
        if AVERAGED in contents:
            continue
        if step not in found or (found[step].val_wer is None and candidate.val_wer is not None):
            found[step] = candidate  # of one step's files, one with a val WER
    return list(found.values())


def choose(folder: Path, rank: str, k: int, fewer: bool = False) -> list[Candidate]:
    """The `k` newest (by step) or best (by validation WER; ties: the newer) checkpoints in
    `folder`, the reference (the newest or the best) first; with `fewer`, as many as there are
    when there are fewer (at least one)."""
    if rank not in RANKS:
        raise AveragingError(f"rank must be one of {', '.join(RANKS)}, not {rank!r}")
    if k < 1:
        raise AveragingError(f"k must be at least 1, not {k}")
    found = candidates(folder)
    if rank == "last":
        ranked = sorted(found, key=lambda c: c.step, reverse=True)
        keep = "callbacks=average (keeps the k newest) or callbacks.model_checkpoint.save_top_k=-1"
    else:
        scored = [c for c in found if c.val_wer is not None]
        ranked = sorted(scored, key=lambda c: (c.val_wer, [-s for s in c.step]))
        keep = f"callbacks.model_checkpoint.save_top_k={k} (or -1: all)"
    if len(ranked) < (1 if fewer else k):
        what = "of distinct steps" if rank == "last" else f"with a {MONITOR}"
        raise AveragingError(
            f"{folder} holds {len(ranked)} checkpoint(s) {what}, averaging the {rank} {k} needs "
            f"{k}: train with {keep}"
        )
    return ranked[:k]


def _model_config(checkpoint: dict[str, Any]) -> dict[str, Any]:
    config = renamed_targets(checkpoint["asrlab_config"])
    return {key: value for key, value in config.items() if key not in RUN_KEYS}


def _differing_keys(a: Any, b: Any, prefix: str = "") -> list[str]:
    """The dotted keys at which two plain configs differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            name
            for key in sorted(a.keys() | b.keys(), key=str)
            for name in _differing_keys(a.get(key), b.get(key), f"{prefix}{key}.")
        ]
    return [] if a == b else [prefix.rstrip(".")]


def _weight_differences(reference: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """Why two state_dicts cannot be averaged: keys one lacks, shapes, dtypes, other values."""
    differences = [f"{key} missing" for key in reference if key not in other]
    differences += [f"{key} extra" for key in other if key not in reference]
    for key in reference.keys() & other.keys():
        a, b = reference[key], other[key]
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
            if a.shape != b.shape:
                differences.append(f"{key} of shape {tuple(b.shape)}, not {tuple(a.shape)}")
            elif a.dtype != b.dtype:
                differences.append(f"{key} of dtype {b.dtype}, not {a.dtype}")
        elif isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor) or a != b:
            differences.append(f"{key} differs")
    return sorted(differences)


def check_compatible(reference: Candidate, other: Candidate) -> None:
    """Raises AveragingError naming what differs when `other` cannot be averaged with
    `reference`: config keys (outside RUN_KEYS), the tokenizer, weights' names and shapes."""
    ref, oth = reference.contents, other.contents
    problems = []
    if keys := _differing_keys(_model_config(ref), _model_config(oth)):
        problems.append(f"config differs at {', '.join(keys)}")
    if ref.get("tokenizer") != oth.get("tokenizer"):
        problems.append("tokenizer differs")
    if weights := _weight_differences(ref["state_dict"], oth["state_dict"]):
        problems.append(f"weights differ: {', '.join(weights)}")
    if problems:
        raise AveragingError(
            f"{other.path} cannot be averaged with {reference.path}: {'; '.join(problems)}"
        )


def averaged_state_dict(state_dicts: list[dict[str, Any]]) -> dict[str, Any]:
    """The mean of compatible state_dicts' float tensors (in float64, cast back); other tensors
    and values are the first's."""
    averaged = {}
    for key, value in state_dicts[0].items():
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            total = sum(s[key].to(torch.float64) for s in state_dicts)
            averaged[key] = (total / len(state_dicts)).to(value.dtype)
        else:
            averaged[key] = value
    return averaged


def average_checkpoints(chosen: list[Candidate], rank: str) -> dict[str, Any]:
    """One checkpoint: the reference's (`chosen[0]`) without its training state, the averaged
    weights, and under `averaged` the rank and the averaged files (name, epoch, step, val WER)."""
    reference = chosen[0]
    for other in chosen[1:]:
        check_compatible(reference, other)
    checkpoint = {k: v for k, v in reference.contents.items() if k not in TRAINING_STATE}
    checkpoint["state_dict"] = averaged_state_dict([c.contents["state_dict"] for c in chosen])
    checkpoint[AVERAGED] = {"rank": rank, "checkpoints": [c.record() for c in chosen]}
    return checkpoint


def write_average(
    folder: Path, rank: str, k: int, out: Path, fewer: bool = False
) -> list[dict[str, Any]]:
    """Averages the `rank` `k` checkpoints of `folder` (RUN/checkpoints) into `out`, atomically
    (`fewer`: see `choose`); returns the records of the averaged files, the reference first."""
    checkpoint = average_checkpoints(choose(folder, rank, k, fewer), rank)

    def save(temporary: Path) -> None:
        torch.save(checkpoint, temporary)

    write_atomically(out, save)
    return checkpoint[AVERAGED]["checkpoints"]
