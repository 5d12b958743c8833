"""A split's log-probs computed once equal the model's own, and survive a save and load."""

from pathlib import Path

import torch

from asrlab.model.build import build_datamodule
from asrlab.tools.decoding.posteriors import Posteriors, compute_posteriors
from asrlab.training.checkpoint import load_model


def test_posteriors_match_the_model_and_round_trip(tiny_run: Path, tmp_path: Path) -> None:
    model, cfg = load_model(tiny_run / "checkpoints" / "last.ckpt")
    datamodule = build_datamodule(cfg, model.tokenizer)
    datamodule.setup("test")
    posteriors = compute_posteriors(model, datamodule, "test")
    utterances = datamodule.datasets["test"].utterances
    assert len(posteriors) == len(utterances)
    assert sorted(posteriors.seconds) == sorted(u.duration for u in utterances)

    first = datamodule.datasets["test"][0]
    index = posteriors.ids.index(first.id)
    scores, lengths = model(first.wave[None], torch.tensor([len(first.wave)]))
    torch.testing.assert_close(posteriors.scores[index], scores[0, : lengths[0]])
    assert posteriors.texts[index] == first.text

    posteriors.save(tmp_path / "test.pt")
    loaded = Posteriors.load(tmp_path / "test.pt")
    assert loaded.texts == posteriors.texts and loaded.seconds == posteriors.seconds
    padded, lengths = next(loaded.batches(batch_size=3))
    assert padded.shape[0] == 3 and lengths.tolist() == loaded.lengths[:3]
