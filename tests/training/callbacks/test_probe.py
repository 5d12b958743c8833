"""The probe view: the probe set's choice, its markdown, its TensorBoard events in a real run,
with cached features and with the classifier head."""

import importlib.util
import io
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from matplotlib.image import imread
from omegaconf import open_dict
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from asrlab.data.audio import read_audio
from asrlab.data.batch import Batch
from asrlab.data.collate import collate
from asrlab.data.dataset import Example
from asrlab.data.manifest import read_manifest
from asrlab.model.build import build_datamodule, build_model, build_tokenizer
from asrlab.training.callbacks.probe import ProbeView, augmented_features, transcript_table
from asrlab.training.callbacks.probe_set import spread_by_length
from helpers import compose_train, manifest_overrides

PROBES = 4
RENDERER = Path(__file__).parents[3] / "docs" / "render_probe_view.py"
INPUTS = ("features", "augmented")
ATTENTION = ["head.d_model=16", "head.num_heads=2", "head.num_layers=1", "head.ffn_dim=32"]
RNNT = ["head.joint_dim=16", "head.embedding_dim=8", "head.prediction_dim=16"]
VIEWS = {  # a head, its tiny sizes, the pictures it logs of each probe utterance
    "rnnt": ([*RNNT, "head.max_symbols_per_frame=1"], ["alignment"]),
    "aed": (ATTENTION, ["attention"]),
}


def _image(events: EventAccumulator, tag: str, index: int = -1) -> np.ndarray:
    return imread(io.BytesIO(events.Images(tag)[index].encoded_image_string))


def _renderer() -> ModuleType:
    """docs/render_probe_view.py as a module."""
    spec = importlib.util.spec_from_file_location("render_probe_view", RENDERER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _text(events: EventAccumulator, tag: str) -> str:
    return events.Tensors(f"{tag}/text_summary")[-1].tensor_proto.string_val[0].decode()


def test_spread_by_length_takes_evenly_spaced_ranks() -> None:
    durations = [3.0, 1.0, 2.0, 5.0, 4.0, 2.0]
    # By duration (ties by index): 1, 2, 5, 0, 4, 3.
    assert spread_by_length(durations, 3) == [1, 5, 3]
    assert spread_by_length(durations, 1) == [0]
    assert spread_by_length(durations, 10) == [1, 2, 5, 0, 4, 3]


def test_transcript_table_marks_substitutions_insertions_and_deletions() -> None:
    texts = ["one two three four", "five six"]
    batch = Batch(torch.zeros(2, 1), torch.ones(2), torch.zeros(2, 1), torch.ones(2), texts, [])
    batch = batch._replace(ids=["data/val.jsonl:3", "data/val.jsonl:7"])
    table = transcript_table(batch, ["one too three", "five six seven"], [1.25, 0.5])
    first, second = table.splitlines()[-2:]
    assert first == "| 0 | val.jsonl:3 | 1.25 | one ~~two~~→**too** three ~~four~~ | 1 | 0 | 1 |"
    assert second == "| 1 | val.jsonl:7 | 0.50 | five six **seven** | 0 | 1 | 0 |"


def test_tiny_run_logs_the_probe_view(tiny_run: Path, tiny_synth: dict[str, Path]) -> None:
    events = EventAccumulator(str(tiny_run / "tensorboard"), size_guidance={"images": 0}).Reload()
    tags = events.Tags()
    utterances = read_manifest(tiny_synth["val"])
    probes = [utterances[i] for i in spread_by_length([u.duration for u in utterances], PROBES)]

    table = _text(events, "probe/transcripts")
    assert [row.split(" | ")[1] for row in table.splitlines()[4:]] == [
        Path(u.where).name for u in probes
    ]
    for k, utterance in enumerate(probes):
        assert {f"probe/{k}/{name}" for name in ("features", "augmented", "posteriorgram")} <= set(
            tags["images"]
        )
        # The posteriorgram every validation epoch (2), the unchanging inputs once.
        assert len(events.Images(f"probe/{k}/posteriorgram")) == 2
        features = _image(events, f"probe/{k}/features")
        augmented = _image(events, f"probe/{k}/augmented")
        assert features.shape == augmented.shape and features.shape[0] == 80  # mel bins
        assert not np.array_equal(features, augmented)  # SpecAugment's masks
        (audio,) = events.Audio(f"probe/{k}/audio")
        assert audio.sample_rate == 16000
        assert audio.length_frames == len(read_audio(utterance.audio_filepath, 16000))


def test_augmented_features_are_seeded_and_leave_the_random_state_alone(tiny_model) -> None:
    model, _ = tiny_model
    waves = [torch.randn(16000), torch.randn(12000)]
    batch = collate([Example(w, torch.tensor([1]), "a", str(i)) for i, w in enumerate(waves)])
    state = torch.get_rng_state()
    first, lengths = augmented_features(model, batch, seed=0)
    again, _ = augmented_features(model, batch, seed=0)
    other, _ = augmented_features(model, batch, seed=1)
    clean, clean_lengths = model.features(batch.waves, batch.wave_lengths)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert torch.equal(lengths, clean_lengths) and not torch.equal(first, clean)
    assert not model.augment.training  # back in eval mode


def test_cached_features_give_the_view_without_audio(tiny_model, validate, tmp_path: Path) -> None:
    model, cfg = tiny_model
    with open_dict(cfg):
        cfg.data.cache = True
        cfg.data.cache_dir = str(tmp_path / "features")
    events = validate(model, build_datamodule(cfg, model.tokenizer), [ProbeView(PROBES)])
    tags = events.Tags()
    assert not tags["audio"]
    for k in range(PROBES):
        assert {f"probe/{k}/features", f"probe/{k}/augmented", f"probe/{k}/posteriorgram"} <= set(
            tags["images"]
        )
    assert len(_text(events, "probe/transcripts").splitlines()) == 4 + PROBES


def test_classifier_head_gets_transcripts_but_no_posteriorgram(
    tiny_synth: dict[str, Path], validate, tmp_path: Path
) -> None:
    overrides = manifest_overrides(tiny_synth) + ["head=classifier", "encoder.hidden_size=8"]
    cfg = compose_train(overrides, tmp_path)
    tokenizer = build_tokenizer(cfg)
    model = build_model(cfg, tokenizer)
    events = validate(model, build_datamodule(cfg, tokenizer), [ProbeView(2)])
    images = set(events.Tags()["images"])
    assert {"probe/0/features", "probe/1/augmented"} <= images
    assert not any(tag.endswith("posteriorgram") for tag in images)
    assert len(events.Tags()["audio"]) == 2
    assert len(_text(events, "probe/transcripts").splitlines()) == 4 + 2


@pytest.mark.parametrize("name", VIEWS)
def test_every_head_logs_its_pictures_after_a_training_step(
    name: str, tiny_synth: dict[str, Path], fit, tmp_path: Path
) -> None:
    sizes, views = VIEWS[name]
    overrides = manifest_overrides(tiny_synth) + [f"head={name}", "encoder.hidden_size=8", *sizes]
    cfg = compose_train(overrides, tmp_path)
    tokenizer = build_tokenizer(cfg)
    events = fit(build_model(cfg, tokenizer), build_datamodule(cfg, tokenizer), [ProbeView(2)])
    pictures = {tag for tag in events.Tags()["images"] if tag.split("/")[-1] not in INPUTS}
    assert pictures == {f"probe/{k}/{view}" for k in range(2) for view in views}
    for tag in pictures:
        assert _image(events, tag).shape[1] == 720  # 8 inches at 90 dpi
    assert len(_renderer().render(tmp_path, 2).axes) == 2 * 3  # features, augmented, picture


def test_readme_renderer_draws_a_run(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "view.png"
    args = [sys.executable, str(RENDERER), str(tiny_run), "--out", str(out), "--probes", "2"]
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    width, height = Image.open(out).size
    assert (width, height) == (1400, 720)  # 14 x 3.6 inches per probe, at 100 dpi
    missing = subprocess.run([*args[:2], str(tmp_path)], capture_output=True, text=True)
    assert missing.returncode != 0 and "give the folder of a run" in missing.stderr
