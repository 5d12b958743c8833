"""What does asrlab's Lightning training cost over a plain PyTorch loop?

The same precomputed training batches, trained for --steps optimizer steps from the same seed,
twice: by the real `pl.Trainer` with asrlab's callbacks and logger (what `asrlab-train` runs,
minus validation), and by a hand-written loop (forward, the head's loss, backward, clip,
optimizer and scheduler steps). The two alternate after a warm-up pair, each pair in the other
order, since a shared machine is noisy. Reports each one's median throughput (audio seconds per
second), the median over pairs of asrlab / plain (target >= 0.90), and that ratio for the best
runs and for CPU time. Writes bench/results/train_overhead.json.

    python bench/train_overhead.py [--steps N] [--repeats R] [--encoder NAME] [--threads T]
        [-- HYDRA OVERRIDES]    (on a GPU: -- trainer=gpu trainer.precision=bf16-mixed)
"""

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from asrlab.data.batch import Batch
from asrlab.model.build import build_datamodule, build_model, build_tokenizer, build_trainer
from asrlab.model.module import ASRModel
from asrlab.text.tokenizer import Tokenizer
from common import compose_train, write_result

TARGET = 0.90
KINDS = ("lightning", "plain")
# The precisions the plain loop mirrors, with its autocast dtype (None: none).
PLAIN_PRECISIONS = {"32-true": None, "32": None, "bf16-mixed": torch.bfloat16}
CPU = torch.device("cpu")


def check_plain_loop_matches(cfg: DictConfig) -> None:
    """The plain loop does what the trainer config does (one device), and no more."""
    trainer = cfg.trainer
    unsupported = {
        "trainer.accelerator": trainer.accelerator not in ("cpu", "gpu"),
        "trainer.devices": trainer.devices != 1,
        "trainer.precision": str(trainer.precision) not in PLAIN_PRECISIONS,
        "trainer.accumulate_grad_batches": trainer.get("accumulate_grad_batches", 1) != 1,
        "trainer.gradient_clip_algorithm": trainer.get("gradient_clip_algorithm") == "value",
    }
    bad = [key for key, differs in unsupported.items() if differs]
    if bad:
        raise SystemExit(
            "the plain loop mirrors one CPU or GPU at 32-true or bf16-mixed precision only; "
            f"drop the overrides: {bad}"
        )


def training_batches(cfg: DictConfig, tokenizer: Tokenizer, steps: int) -> list[Batch]:
    """`steps` batches from the training loader (its epochs repeated if it has fewer)."""
    datamodule = build_datamodule(cfg, tokenizer)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return list(itertools.islice(itertools.cycle(datamodule.train_dataloader()), steps))


def fresh_model(cfg: DictConfig, tokenizer: Tokenizer) -> ASRModel:
    """The config's model, initialised from its seed (the same weights on every call)."""
    pl.seed_everything(cfg.seed, verbose=False)
    return build_model(cfg, tokenizer)


def plain_loss(model: ASRModel, batch: Batch) -> torch.Tensor:
    """Forward and the head's loss, written out: scores (CTC: log-probs (B, T', V)) -> loss ()."""
    scores, lengths = model(batch.waves, batch.wave_lengths)
    loss, _ = model.head.loss(scores, lengths, batch)
    return loss


def as_is(batch: Batch) -> Batch:
    return batch


def batch_loader(batches: list[Batch]) -> DataLoader:
    """The batches as they are, through the DataLoader that Lightning needs (a list would be
    taken for several loaders); both loops iterate it, so it draws the same seed in both."""
    return DataLoader(batches, batch_size=None, collate_fn=as_is)


def on_device(batch: Batch, device: torch.device) -> Batch:
    return Batch(*(x.to(device) if isinstance(x, torch.Tensor) else x for x in batch))


def train_plain(
    model: ASRModel,
    batches: list[Batch],
    clip: float | None,
    device: torch.device = CPU,
    autocast: torch.dtype | None = None,
) -> torch.Tensor:
    """One step per batch in a plain loop on `device`, under autocast to that dtype if given;
    returns the last loss."""
    model.to(device).train()
    optimizer = model.optimizer_factory(model.parameters())
    scheduler = model.scheduler_factory(optimizer, total_steps=len(batches))
    for batch in batch_loader(batches):
        optimizer.zero_grad()
        with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
            loss = plain_loss(model, on_device(batch, device))
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        scheduler.step()
    return loss.detach()


def train_lightning(
    cfg: DictConfig, model: ASRModel, batches: list[Batch], run_dir: Path
) -> torch.Tensor:
    """One epoch over the batches with asrlab's trainer, writing into `run_dir` (set as
    `cfg.paths.output_dir`); returns the last logged training loss."""
    cfg.paths.output_dir = str(run_dir)
    trainer = build_trainer(cfg, max_epochs=1, max_steps=-1, limit_val_batches=0)
    trainer.fit(model, train_dataloaders=batch_loader(batches))
    return trainer.callback_metrics["train/loss"]


def timed(train: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process's threads) of one call, its GPU work done."""
    wall, cpu = time.perf_counter(), time.process_time()
    train()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - wall, time.process_time() - cpu


def pair_ratios(seconds: dict[str, list[float]]) -> list[float]:
    """asrlab / plain throughput of each pair of runs (plain seconds / Lightning seconds)."""
    return [round(p / a, 3) for a, p in zip(seconds["lightning"], seconds["plain"], strict=True)]


def main(args: list[str]) -> None:
    split = args.index("--") if "--" in args else len(args)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="optimizer steps per run")
    parser.add_argument("--repeats", type=int, default=4, help="timed pairs of runs")
    parser.add_argument("--warmup-steps", type=int, default=5, help="steps of the untimed pair")
    parser.add_argument("--encoder", default="gru", help="a conf/encoder option")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    options, overrides = parser.parse_args(args[:split]), args[split + 1 :]
    if options.threads:
        torch.set_num_threads(options.threads)
    overrides = [f"encoder={options.encoder}", *overrides]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose_train(overrides, Path(tmp))
        check_plain_loop_matches(cfg)
        tokenizer = build_tokenizer(cfg)
        batches = training_batches(cfg, tokenizer, options.steps)
        clip = cfg.trainer.gradient_clip_val
        device = torch.device("cuda" if cfg.trainer.accelerator == "gpu" else "cpu")
        autocast = PLAIN_PRECISIONS[str(cfg.trainer.precision)]

        def run(kind: str, subset: list[Batch], name: str) -> tuple[float, float]:
            model = fresh_model(cfg, tokenizer)
            if kind == "plain":
                return timed(lambda: train_plain(model, subset, clip, device, autocast))
            return timed(lambda: train_lightning(cfg, model, subset, Path(tmp) / name))

        for kind in KINDS:
            run(kind, batches[: options.warmup_steps], "warmup")
        times: dict[str, list[tuple[float, float]]] = {kind: [] for kind in KINDS}
        for i in range(options.repeats):
            for kind in KINDS if i % 2 == 0 else KINDS[::-1]:
                times[kind].append(run(kind, batches, f"run{i}"))
    audio = sum(b.wave_lengths.sum().item() for b in batches) / cfg.data.sample_rate
    wall = {kind: [w for w, _ in runs] for kind, runs in times.items()}
    cpu = {kind: [c for _, c in runs] for kind, runs in times.items()}
    write_result(
        "train_overhead",
        {
            "overrides": overrides,
            "steps": options.steps,
            "repeats": options.repeats,
            "utterances_per_run": sum(len(b.texts) for b in batches),
            "audio_seconds_per_run": round(audio, 1),
            "torch_threads": torch.get_num_threads(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            **{f"{k}_audio_s_per_s": round(audio / statistics.median(wall[k]), 2) for k in KINDS},
            **{f"{k}_runs_audio_s_per_s": [round(audio / s, 2) for s in wall[k]] for k in KINDS},
            "pair_ratios": pair_ratios(wall),
            "asrlab_over_plain": round(statistics.median(pair_ratios(wall)), 3),
            "asrlab_over_plain_best_runs": round(min(wall["plain"]) / min(wall["lightning"]), 3),
            "asrlab_over_plain_cpu_time": round(statistics.median(pair_ratios(cpu)), 3),
            "target_asrlab_over_plain": TARGET,
        },
    )


if __name__ == "__main__":
    main(sys.argv[1:])
