"""Decoders compared on one trained model's test log-probs: real-time factor and WER.

The acoustic model runs once over the run's validation and test splits. The LM (estimated from
the run's training transcripts) has its weight and word score picked on validation from a small
grid; then greedy, beam and beam with the LM decode the same test log-probs. Real-time factor =
decode seconds / audio seconds. Writes bench/results/decoding-NAME.json per run folder.

    python bench/decoding.py RUN_DIR [RUN_DIR ...] [--lm-order 3] [--beam-size 20]
"""

import argparse
import functools
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torchmetrics.text import WordErrorRate

from asrlab.data.source import training_texts
from asrlab.decoders.beam import BeamDecoder
from asrlab.decoders.greedy import GreedyDecoder
from asrlab.decoders.lm import build_arpa
from asrlab.model.build import build_datamodule
from asrlab.training.checkpoint import load_model
from common import write_result

LM_WEIGHTS = (0.25, 0.5, 1.0)
WORD_SCORES = (-1.0, 0.0, 1.0)


class Split(NamedTuple):
    batches: list[tuple[torch.Tensor, torch.Tensor]]  # log-probs (B, T, V), lengths (B,)
    refs: list[str]
    seconds: float


@torch.no_grad()
def log_probs(run_dir: Path) -> tuple[dict[str, Split], Any, Any]:
    """The val and test splits' log-probs from the run's best checkpoint; tokenizer, config."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    model, cfg = load_model(run_dir / metrics["best_checkpoint"])
    datamodule = build_datamodule(cfg, model.tokenizer)
    datamodule.setup("validate")
    datamodule.setup("test")
    splits = {}
    loaders = {"val": datamodule.val_dataloader(), "test": datamodule.test_dataloader()}
    for name, loader in loaders.items():
        batches, refs = [], []
        for batch in loader:
            batches.append(model(batch.waves, batch.wave_lengths))
            refs += batch.texts
        seconds = sum(u.duration for u in datamodule.datasets[name].utterances)
        splits[name] = Split(batches, refs, seconds)
    return splits, model.tokenizer, cfg


def evaluate(decoder, split: Split) -> dict[str, float]:
    start = time.perf_counter()
    hyps = [h for lp, lengths in split.batches for h in decoder.decode(lp, lengths)]
    elapsed = time.perf_counter() - start
    wer = float(WordErrorRate()(hyps, split.refs))
    rtf = elapsed / split.seconds
    return {"wer": round(wer, 4), "rtf": round(rtf, 5), "seconds": round(elapsed, 2)}


def main(args: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--lm-order", type=int, default=3)
    parser.add_argument("--beam-size", type=int, default=20)
    options = parser.parse_args(args)
    for run_dir in options.runs:
        splits, tokenizer, cfg = log_probs(run_dir)
        with tempfile.TemporaryDirectory() as tmp:
            lm = Path(tmp) / "lm.arpa"
            model = build_arpa(training_texts(cfg), lm, order=options.lm_order)
            with_lm = functools.partial(
                BeamDecoder, tokenizer, beam_size=options.beam_size, lm=str(lm)
            )

            grid = {
                (w, s): evaluate(with_lm(lm_weight=w, word_score=s), splits["val"])["wer"]
                for w, s in itertools.product(LM_WEIGHTS, WORD_SCORES)
            }
            weight, score = min(grid, key=grid.get)
            decoders = {
                "greedy": GreedyDecoder(tokenizer),
                "beam": BeamDecoder(tokenizer, beam_size=options.beam_size),
                "beam_lm": with_lm(lm_weight=weight, word_score=score),
            }
            if torch.cuda.is_available():  # torchaudio's cuda_ctc_decoder
                decoders["beam_cuda"] = BeamDecoder(
                    tokenizer, beam_size=options.beam_size, device="cuda"
                )
            results = {name: evaluate(d, splits["test"]) for name, d in decoders.items()}
        write_result(
            f"decoding-{run_dir.name}",
            {
                "run": run_dir.name,
                "encoder": cfg.encoder._target_.rsplit(".", 1)[-1],
                "test_utterances": len(splits["test"].refs),
                "test_audio_seconds": round(splits["test"].seconds, 1),
                "lm": {"order": model.order, "unit": "word", "weight": weight, "word_score": score},
                "val_wer_of_lm_grid": {f"{w},{s}": v for (w, s), v in grid.items()},
                "decoders": results,
                "beam_lm_not_worse_than_greedy": results["beam_lm"]["wer"]
                <= results["greedy"]["wer"],
            },
        )


if __name__ == "__main__":
    main(sys.argv[1:])
