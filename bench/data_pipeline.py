"""Does the data pipeline keep the model fed, and how much padding does bucketing save?

1. Loader throughput (audio seconds per second, features included, with the configured
   workers) over training throughput of the default model on the same batches: target >= 5.
2. Padding fraction of bucketed versus random batches on FSDD's durations: target < 10%.

    python bench/data_pipeline.py [HYDRA OVERRIDES...]
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate

from asrlab.data.audio import audio_info
from asrlab.data.sampler import BucketBatchSampler, padding_fraction
from asrlab.model.build import build_datamodule, build_model
from common import REPO, compose_train, write_result

BATCHES = 30
FSDD = REPO.parent / "shared" / "data" / "fsdd" / "recordings"


def loader_throughput(datamodule, frontend) -> tuple[float, list]:
    """Audio seconds per wall second delivered by the train loader, features computed."""
    batches, audio, start = [], 0.0, time.perf_counter()
    for batch in datamodule.train_dataloader():
        with torch.inference_mode():
            frontend(batch.waves, batch.wave_lengths)
        audio += batch.wave_lengths.sum().item() / datamodule.sample_rate
        batches.append(batch)
        if len(batches) == BATCHES:
            break
    return audio / (time.perf_counter() - start), batches


def training_throughput(model, batches: list, sample_rate: int) -> float:
    """Audio seconds per wall second consumed by forward, backward and optimizer steps."""
    optimizer = model.optimizer_factory(model.parameters())
    model.train()
    model.compute_objectives(batches[0])[0].backward()  # warm-up
    audio, start = 0.0, time.perf_counter()
    for batch in batches[1:]:
        optimizer.zero_grad()
        model.compute_objectives(batch)[0].backward()
        optimizer.step()
        audio += batch.wave_lengths.sum().item() / sample_rate
    return audio / (time.perf_counter() - start)


def fsdd_padding(batch_size: int = 32, seed: int = 0) -> dict[str, float] | None:
    files = sorted(FSDD.glob("*.wav"))
    if not files:
        return None
    frames = np.array([round(audio_info(f).duration * 100) for f in files])
    bucketed = list(BucketBatchSampler(frames, batch_size=batch_size, seed=seed))
    order = np.random.default_rng(seed).permutation(len(frames))
    random = [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    return {
        "fsdd_files": len(files),
        "padding_bucketed": round(padding_fraction(bucketed, frames), 4),
        "padding_random": round(padding_fraction(random, frames), 4),
    }


def main(overrides: list[str]) -> None:
    with tempfile.TemporaryDirectory() as run_dir:
        cfg = compose_train(overrides, Path(run_dir))
        torch.manual_seed(cfg.seed)
        tokenizer = instantiate(cfg.tokenizer)
        datamodule = build_datamodule(cfg, tokenizer)
        datamodule.prepare_data()
        datamodule.setup("fit")
        model = build_model(cfg, tokenizer)
        loader, batches = loader_throughput(datamodule, model.frontend)
        train = training_throughput(model, batches, datamodule.sample_rate)
    result = {
        "overrides": overrides,
        "num_workers": cfg.data.num_workers,
        "torch_threads": torch.get_num_threads(),
        "batches": len(batches),
        "loader_audio_s_per_s": round(loader, 1),
        "train_audio_s_per_s": round(train, 1),
        "loader_over_train": round(loader / train, 2),
        "target_loader_over_train": 5.0,
    }
    padding = fsdd_padding()
    result.update(padding or {"fsdd": f"skipped: {FSDD} not found"})
    write_result("data_pipeline", result)


if __name__ == "__main__":
    main(sys.argv[1:])
