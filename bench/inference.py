"""Inference speed on the CPU: asrlab-transcribe's real-time factor with greedy and with beam
decoding, and the acoustic model under ONNX Runtime against PyTorch.

Real-time factor (RTF) = wall seconds / audio seconds, over the test split of a trained run
(default: its best checkpoint), files read from disk as asrlab-transcribe reads them. The ONNX
comparison runs the same batches through the exported file (onnxruntime, as many threads as
torch) and the PyTorch model, alternated `--repeats` times, each pair in turn starting with the
other; `onnx_over_torch` is the ratio of their median times (below 1: onnxruntime is faster), with
each pair's ratio and the load average beside it. Writes bench/results/inference-NAME.json.

    python bench/inference.py RUN_DIR [--files 200] [--repeats 5] [--threads 2]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from torch.nn.utils.rnn import pad_sequence

from asrlab.data.audio import read_audio
from asrlab.data.manifest import read_manifest
from asrlab.tools.exporting.acoustic import AcousticModel
from asrlab.tools.exporting.bundle import noise_batch
from asrlab.tools.exporting.formats import load_onnx, save_onnx
from asrlab.tools.inference.decoding import choose_decoder
from asrlab.tools.inference.transcriber import Transcriber, Transcript
from asrlab.training.checkpoint import load_model
from common import compose_train, write_result

Batch = tuple[torch.Tensor, torch.Tensor]


def transcribe_rtf(transcriber: Transcriber, paths: list[Path], audio: float) -> dict[str, Any]:
    start = time.perf_counter()
    results = list(transcriber(paths))
    seconds = time.perf_counter() - start
    assert all(isinstance(r, Transcript) for r in results)
    return {"seconds": round(seconds, 2), "rtf": round(seconds / audio, 5)}


def batches(paths: list[Path], sample_rate: int, size: int) -> list[Batch]:
    """The files' waveforms in padded batches of `size`, sorted by length."""
    waves = sorted((read_audio(p, sample_rate) for p in paths), key=len)
    return [
        (pad_sequence(chunk, batch_first=True), torch.tensor([len(w) for w in chunk]))
        for chunk in (waves[i : i + size] for i in range(0, len(waves), size))
    ]


def timed(run: Callable[[torch.Tensor, torch.Tensor], Batch], data: list[Batch]) -> float:
    start = time.perf_counter()
    with torch.inference_mode():
        for waves, lengths in data:
            run(waves, lengths)
    return time.perf_counter() - start


def main(args: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a trained run folder (metrics.json, checkpoints/)")
    parser.add_argument("--files", type=int, default=200, help="test files to transcribe")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    options = parser.parse_args(args)
    torch.set_num_threads(options.threads)

    metrics = json.loads((options.run / "metrics.json").read_text())
    checkpoint = options.run / (metrics.get("best_checkpoint") or "checkpoints/last.ckpt")
    model, cfg = load_model(checkpoint)
    test = read_manifest(instantiate(cfg.data.source).prepare()["test"])[: options.files]
    paths = [Path(u.audio_filepath) for u in test]
    audio = sum(u.duration for u in test)
    rate = cfg.data.sample_rate

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("greedy", "beam"):
            decoder_cfg = compose_train([f"decoder={name}"], Path(tmp)).decoder
            decoder = choose_decoder(model, decoder_cfg, checkpoint, cfg)
            transcriber = Transcriber(model, decoder, rate, batch_size=options.batch_size)
            transcribe_rtf(transcriber, paths[:8], audio)  # warm-up
            results[f"transcribe_{name}"] = transcribe_rtf(transcriber, paths, audio)

        acoustic = AcousticModel(model)
        onnx_path = Path(tmp) / "model.onnx"
        save_onnx(acoustic, noise_batch((1.0, 0.6), rate), onnx_path)
        runners = {"pytorch": acoustic, "onnxruntime": load_onnx(onnx_path, options.threads)}
        data = batches(paths, rate, options.batch_size)
        times: dict[str, list[float]] = {name: [] for name in runners}
        for run in runners.values():
            timed(run, data[:2])  # warm-up
        load_before = os.getloadavg()
        for repeat in range(options.repeats):
            order = list(runners) if repeat % 2 == 0 else list(reversed(runners))
            for name in order:
                times[name].append(timed(runners[name], data))
    medians = {name: statistics.median(t) for name, t in times.items()}
    results["acoustic"] = {
        name: {"median_seconds": round(m, 3), "rtf": round(m / audio, 5)}
        for name, m in medians.items()
    }
    results["onnx_over_torch"] = round(medians["onnxruntime"] / medians["pytorch"], 3)
    results["onnx_over_torch_pairs"] = [
        round(o / p, 3) for o, p in zip(times["onnxruntime"], times["pytorch"], strict=True)
    ]
    results["load_average_before"] = [round(x, 2) for x in load_before]
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    write_result(
        f"inference-{options.run.name}",
        {
            "run": options.run.name,
            "checkpoint": checkpoint.name,
            "encoder": cfg.encoder._target_.rsplit(".", 1)[-1],
            "files": len(paths),
            "audio_seconds": round(audio, 1),
            "threads": torch.get_num_threads(),
            "batch_size": options.batch_size,
            **results,
        },
    )


if __name__ == "__main__":
    main(sys.argv[1:])
