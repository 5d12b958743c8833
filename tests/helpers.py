"""Test helpers: small audio, manifests and run folders written on the fly."""

import inspect
import itertools
import json
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
from hydra.utils import get_class
from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet
from omegaconf import DictConfig, OmegaConf
from torch.utils.tensorboard import SummaryWriter
from torchmetrics.text import CharErrorRate, WordErrorRate

import asrlab
from asrlab.data.audio import write_audio
from asrlab.data.batch import Batch
from asrlab.model.build import build_datamodule
from asrlab.model.frontends import LogMel
from asrlab.model.module import ASRModel
from asrlab.text.tokenizer import CharTokenizer
from asrlab.tools.decoding.run import decode
from asrlab.training.compose import compose_config

SAMPLE_RATE = 16000
FRAMES_OF = LogMel().output_frames
"""Feature frames of samples by the default frontend, for data modules built without a config."""
GRU = "asrlab.model.encoders.gru.GRUEncoder"
LSTM = "asrlab.model.encoders.lstm.LSTMEncoder"
TINY_ATTENTION = ["head.d_model=32", "head.num_layers=1", "head.ffn_dim=64"]
TINY_HEADS = {
    "rnnt": ["head=rnnt", "head.joint_dim=32", "head.prediction_dim=32", "head.ctc_weight=0.3"],
    "aed": ["head=aed", *TINY_ATTENTION, "head.max_length_ratio=0.1"],
    "ctc_aed": ["head=ctc_aed", *TINY_ATTENTION, "head.max_length_ratio=0.1", "head.beam_size=2"],
}
"""Overrides of tiny heads other than CTC; untrained, the attention heads decode a few tokens."""


class RecordingHandler(logging.Handler):
    """Keeps the formatted messages of the records it handles."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def tone(seconds: float, freq: float = 440.0, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    t = torch.arange(int(seconds * sample_rate)) / sample_rate
    return 0.3 * torch.sin(2 * math.pi * freq * t)


def ctc_label_probs(log_probs: torch.Tensor, blank: int = 0) -> dict[tuple[int, ...], float]:
    """CTC log-probs (T, V) -> every label sequence's probability, by brute force: the sum over
    all V^T alignments that collapse to it (keep T and V tiny)."""
    probs: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(log_probs.shape[1]), repeat=len(log_probs)):
        labels = tuple(k for i, k in enumerate(path) if k != blank and (i == 0 or path[i - 1] != k))
        p = math.exp(sum(float(log_probs[t, k]) for t, k in enumerate(path)))
        probs[labels] = probs.get(labels, 0.0) + p
    return probs


def write_recordings(
    folder: Path,
    speakers: Sequence[str] = ("anna", "ben", "carl"),
    digits: Sequence[int] = (0, 7),
    takes: Sequence[int] = range(11),
    sample_rate: int = 8000,
) -> None:
    """FSDD's layout, {digit}_{speaker}_{take}.wav: a tone per digit, longer with each take."""
    folder.mkdir(parents=True, exist_ok=True)
    for speaker in speakers:
        for digit in digits:
            for take in takes:
                wave = tone(0.05 + 0.01 * take, freq=300 + 50 * digit, sample_rate=sample_rate)
                write_audio(folder / f"{digit}_{speaker}_{take}.wav", wave, sample_rate)


def write_chapter(
    folder: Path, speaker: str, chapter: str, texts: tuple[str, ...], seconds: float = 0.1
) -> Path:
    """LibriSpeech's layout: tones (the n-th `seconds` + 0.05 n long) and the transcript of
    one chapter under `folder` (a subset); returns the .trans.txt."""
    folder = folder / speaker / chapter
    folder.mkdir(parents=True)
    lines = []
    for number, text in enumerate(texts):
        utt_id = f"{speaker}-{chapter}-{number:04d}"
        write_audio(folder / f"{utt_id}.flac", tone(seconds + 0.05 * number), SAMPLE_RATE)
        lines.append(f"{utt_id} {text}\n")
    transcript = folder / f"{speaker}-{chapter}.trans.txt"
    transcript.write_text("".join(lines))
    return transcript


def speech_commands_clips(words: Sequence[str], speaker: str, clips: int) -> list[str]:
    """The clips `<word>/<speaker>_nohash_<n>.wav` of one speaker, n < clips."""
    return [f"{word}/{speaker}_nohash_{n}.wav" for word in words for n in range(clips)]


def write_speech_commands(
    root: Path, words: Sequence[str], speakers: Sequence[str], clips: int, seconds: float = 0.1
) -> None:
    """Speech Commands' layout: tones of `seconds` for every word, speaker and clip number; the
    last speaker but one in validation_list.txt, the last in testing_list.txt; a background
    noise folder and a LICENSE, which are not clips."""
    for speaker in speakers:
        for clip in speech_commands_clips(words, speaker, clips):
            (root / clip).parent.mkdir(exist_ok=True)
            write_audio(root / clip, tone(seconds), SAMPLE_RATE)
    (root / "_background_noise_").mkdir()
    write_audio(root / "_background_noise_" / "white_noise.wav", tone(0.5), SAMPLE_RATE)
    for name, speaker in [
        ("validation_list.txt", speakers[-2]),
        ("testing_list.txt", speakers[-1]),
    ]:
        (root / name).write_text("\n".join(speech_commands_clips(words, speaker, clips)) + "\n")
    (root / "LICENSE").write_text("CC BY 4.0\n")


def write_dataset(folder: Path, texts: list[str], name: str = "train.jsonl") -> Path:
    """Tones of increasing length with the given transcripts, and a manifest with relative paths."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, text in enumerate(texts):
        wave = tone(0.3 + 0.1 * i, freq=200 + 50 * i)
        write_audio(folder / f"utt{i}.wav", wave, SAMPLE_RATE)
        entry = {"audio_filepath": f"utt{i}.wav", "duration": len(wave) / SAMPLE_RATE, "text": text}
        lines.append(json.dumps(entry))
    manifest = folder / name
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def write_cuts(folder: Path, texts: list[str | None], speaker: str = "ann") -> Path:
    """Tones with these transcripts as a cuts manifest (a None text: a supervision without)."""
    manifest = write_dataset(folder, [t or "x" for t in texts])
    recordings, supervisions = [], []
    for i, (line, text) in enumerate(zip(manifest.read_text().splitlines(), texts, strict=True)):
        recording = Recording.from_file(folder / json.loads(line)["audio_filepath"], f"utt{i}")
        recordings.append(recording)
        supervisions.append(
            SupervisionSegment(
                f"utt{i}", f"utt{i}", 0, recording.duration, text=text, speaker=speaker
            )
        )
    cuts = CutSet.from_manifests(
        RecordingSet.from_recordings(recordings), SupervisionSet(supervisions)
    )
    cuts.to_file(folder / "cuts_train.jsonl.gz")
    return folder / "cuts_train.jsonl.gz"


def shar_of(cuts: Path, shard_size: int) -> Path:
    """The cuts manifest `cuts` as a Shar folder beside it (audio as FLAC, `shard_size` cuts a
    shard)."""
    shar = cuts.parent / "shar"
    shar.mkdir()
    CutSet.from_file(cuts).to_shar(shar, fields={"recording": "flac"}, shard_size=shard_size)
    return shar


def compose_train(overrides: list[str], run_dir: Path) -> DictConfig:
    """The real train config with overrides, its run folder and data cache under `run_dir`."""
    return compose_config(overrides, run_dir, root_dir=run_dir, data_dir=run_dir / "data")


def manifest_overrides(manifests: dict[str, Path]) -> list[str]:
    """Point data=manifest at the given split manifests."""
    return ["data=manifest"] + [f"data.source.{split}={path}" for split, path in manifests.items()]


def config_yaml(name: str, encoder: dict[str, Any], lr: float) -> str:
    """A trimmed composed config: where a run wrote (paths, hydra) differs in every run."""
    config = {
        "task_name": "train",
        "seed": 1234,
        "data": {"sample_rate": 16000, "root": "${paths.data_dir}"},
        "features": {"sample_rate": "${data.sample_rate}", "n_features": 80},
        "encoder": encoder,
        "optimizer": {"_target_": "torch.optim.AdamW", "lr": lr, "betas": [0.9, 0.98]},
        "paths": {"data_dir": "data", "output_dir": f"outputs/{name}"},
        "hydra": {"job": {"num": name}},
    }
    return json.dumps(config)  # JSON is YAML


def write_run(
    folder: Path,
    encoder: dict[str, Any],
    lr: float,
    metrics: dict[str, Any] | None,
    val_wer: list[float],
    error: str | None = None,
) -> None:
    """A fake run folder: config, overrides, metrics.json or error.json, val WER per epoch."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text(config_yaml(folder.name, encoder, lr))
    overrides = [f"encoder={encoder['_target_'].split('.')[-2]}", f"optimizer.lr={lr}"]
    (folder / ".hydra" / "overrides.yaml").write_text(json.dumps(overrides))
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics))
    if error is not None:
        (folder / "error.json").write_text(json.dumps({"error": error, "type": "RuntimeError"}))
    writer = SummaryWriter(str(folder / "tensorboard"))
    for epoch, wer in enumerate(val_wer):
        step = 10 * (epoch + 1) - 1
        writer.add_scalar("epoch", epoch, step)
        writer.add_scalar("val/wer", wer, step)
        writer.add_scalar("train/loss", 1.0 / (epoch + 1), step)
    writer.close()


def run_metrics(test_wer: float, best_val_wer: float | None, params: int, seconds: float) -> dict:
    """A metrics.json as a run writes it."""
    return {
        "test_wer": test_wer,
        "best_val_wer": best_val_wer,
        "num_params": params,
        "train_seconds": seconds,
    }


def write_sweep(root: Path) -> Path:
    """Three finished runs of a multirun under `root` and, one level deeper, a failed one."""
    gru = {"_target_": GRU, "hidden": 64}
    write_run(root / "0_gru", gru, 1e-3, run_metrics(0.20, 0.15, 50_000, 30.0), [0.5, 0.3, 0.15])
    lstm = {"_target_": LSTM, "hidden": 64, "bidirectional": True}
    write_run(root / "1_lstm", lstm, 1e-3, run_metrics(0.10, 0.25, 2_000_000, 90.0), [0.6, 0.25])
    # No best_val_wer (no checkpoint): the curve's minimum, 0.05, stands in.
    big = {"_target_": GRU, "hidden": 128}
    write_run(root / "2_gru", big, 3e-3, run_metrics(0.30, None, 400_000, 60.0), [0.4, 0.05, 0.1])
    failed = root / "sweep" / "3_gru"
    write_run(failed, gru, 1e-1, None, [0.9], error="loss is NaN at step 12")
    return root


def text_batch(texts: list[str], hidden: torch.Tensor, lengths: torch.Tensor) -> Batch:
    """A Batch of encoder states `hidden` (B, T, H) and `lengths` (B,) whose targets are `texts`,
    encoded by the char tokenizer and padded with blank (0)."""
    ids = [torch.tensor(CharTokenizer().encode(text)) for text in texts]
    targets = torch.nn.utils.rnn.pad_sequence(ids, batch_first=True)
    target_lengths = torch.tensor([len(i) for i in ids])
    return Batch(hidden, lengths, targets, target_lengths, texts, texts)


def assert_head_config_lists_every_default(name: str) -> None:
    """conf/head/NAME.yaml lists its head's constructor arguments, in order, with their defaults
    (all but input_dim and tokenizer, which the build gives)."""
    config = OmegaConf.load(Path(asrlab.__file__).parent / "conf" / "head" / f"{name}.yaml")
    parameters = inspect.signature(get_class(config._target_)).parameters
    assert list(config)[1:] == list(parameters)[2:]
    for key in list(config)[1:]:
        assert config[key] == parameters[key].default, key


def random_head_inputs(
    texts: list[str], frames: list[int], width: int = 6
) -> tuple[torch.Tensor, torch.Tensor, Batch]:
    """Seeded random encoder states (B, max frames, width), their lengths (B,) and a Batch of
    the texts: what a head's loss and decoding take."""
    torch.manual_seed(1)
    hidden, lengths = torch.randn(len(texts), max(frames), width), torch.tensor(frames)
    return hidden, lengths, text_batch(texts, hidden, lengths)


def assert_overfits_and_reloads(
    make_head: Callable[..., torch.nn.Module], frames: list[int], steps: int
) -> None:
    """A head from `make_head(label_smoothing=0.0)`, trained `steps` Adam steps on fixed random
    encoder states of three texts: its loss falls below 5% of the first, it decodes every text,
    and a fresh `make_head()` given its weights decodes them alike."""
    texts = ["one", "two", "oh"]
    hidden, lengths, few = random_head_inputs(texts, frames)
    head = make_head(label_smoothing=0.0).train()
    optimizer = torch.optim.Adam(head.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        loss, _ = head.loss(*head(hidden, lengths), few)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    head.eval()
    assert losses[-1] < 0.05 * losses[0]
    assert head.decode(*head(hidden, lengths)) == texts
    reloaded = make_head()
    reloaded.load_state_dict(head.state_dict())
    assert reloaded.decode(*reloaded(hidden, lengths)) == texts


def decode_checkpoint(checkpoint: Path, overrides: list[str], run_dir: Path) -> dict[str, Any]:
    """asrlab-decode's metrics for `checkpoint` with `overrides`, its run in `run_dir`."""
    cfg = compose_config([f"ckpt_path={checkpoint}", *overrides], run_dir, config_name="decode")
    return decode(cfg)


def check_test_scores(model: ASRModel, cfg: DictConfig, metrics: dict) -> list[str]:
    """Asserts that `metrics`' test WER and CER are those of `model` transcribing the audio of the
    test split of `cfg`'s data; returns its hypotheses."""
    datamodule = build_datamodule(cfg, model.tokenizer)
    datamodule.setup("test")
    hyps, refs = [], []
    for batch in datamodule.eval_dataloader("test"):
        hyps += model.transcribe(batch.waves, batch.wave_lengths)
        refs += batch.texts
    assert len(refs) == metrics["utterances"]
    assert metrics["test_wer"] == pytest.approx(float(WordErrorRate()(hyps, refs)), abs=1e-7)
    assert metrics["test_cer"] == pytest.approx(float(CharErrorRate()(hyps, refs)), abs=1e-7)
    return hyps
