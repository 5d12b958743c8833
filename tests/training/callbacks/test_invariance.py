"""The padding-invariance check passes for the GRU and for every head, and catches encoders and
heads (their forward or their loss) that leak padding."""

from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from asrlab.data.batch import Batch
from asrlab.data.dataset import Example
from asrlab.model.build import build_datamodule, build_model, build_tokenizer
from asrlab.model.module import ASRModel
from asrlab.training.callbacks.invariance import (
    PaddingInvariance,
    PaddingInvarianceError,
    compare_alone_and_batched,
)
from helpers import TINY_HEADS, compose_train, manifest_overrides

PROBES = 4
BATCH = 8  # the tiny val split's size: the probe utterances and the 4 longest others
TINY = ["encoder.hidden_size=32", "encoder.num_layers=1", "encoder.dropout=0.0"]
HEADS = {"ctc": ["head=ctc"], "classifier": ["head=classifier"], **TINY_HEADS}


class PaddingLeak(nn.Module):
    """Wraps an encoder and adds `leak` (H,) to every output frame, scaled by the utterance's
    fraction of padded frames (the mean over all frames, padding included, of a padding flag)."""

    def __init__(self, encoder: nn.Module, leak: Tensor) -> None:
        super().__init__()
        self.encoder = encoder
        self.register_buffer("leak", leak)
        self.output_dim, self.stride = encoder.output_dim, encoder.stride

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        hidden, lengths = self.encoder(x, lengths)
        padded = 1.0 - lengths.to(hidden.dtype) / hidden.size(1)
        return hidden + padded[:, None, None] * self.leak, lengths


class MeanLeak(nn.Module):
    """Wraps an encoder and adds its output's mean over all frames, padding included."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.output_dim, self.stride = encoder.output_dim, encoder.stride

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        hidden, lengths = self.encoder(x, lengths)
        return hidden + hidden.mean(dim=1, keepdim=True), lengths


class PooledOverPadding(nn.Module):
    """Wraps a head: its input gets the encoder states' mean over all frames, padding included."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head

    def forward(self, hidden: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        return self.head(hidden + hidden.mean(dim=1, keepdim=True), lengths)

    def loss(self, scores: Tensor, lengths: Tensor, batch: Batch) -> tuple[Tensor, Tensor]:
        return self.head.loss(scores, lengths, batch)

    def decode(self, scores: Tensor, lengths: Tensor) -> list[str]:
        return self.head.decode(scores, lengths)

    def validation_decode(self, scores: Tensor, lengths: Tensor) -> list[str]:
        return self.head.validation_decode(scores, lengths)


class LossOverPadding(PooledOverPadding):
    """Wraps a head: its loss takes every frame as valid; its scores and decoding are the head's."""

    def forward(self, hidden: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        return self.head(hidden, lengths)

    def loss(self, scores: Tensor, lengths: Tensor, batch: Batch) -> tuple[Tensor, Tensor]:
        return self.head.loss(scores, torch.full_like(lengths, scores.size(1)), batch)


def untrained(
    head: str, tiny_synth: dict[str, Path], tmp_path: Path
) -> tuple[ASRModel, list[Example], list[Example]]:
    """A tiny untrained model with `head` (eval mode), the two shortest validation utterances
    and, to pad them, the longest."""
    cfg = compose_train(manifest_overrides(tiny_synth) + TINY + HEADS[head], tmp_path)
    tokenizer = build_tokenizer(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, tokenizer).eval()
    datamodule = build_datamodule(cfg, tokenizer)
    datamodule.setup("validate")
    dataset = datamodule.datasets["val"]
    by_length = sorted(range(len(dataset)), key=lambda i: dataset.utterances[i].duration)
    return model, [dataset[i] for i in by_length[:2]], [dataset[by_length[-1]]]


def leak_towards(model: nn.Module, token: str, logit: float = 100.0) -> PaddingLeak:
    """A PaddingLeak whose full-padding vector raises `token`'s logit by `logit` (and no other):
    padded utterances then decode to that token."""
    weight = model.head.linear.weight.detach()  # (V, H)
    target = torch.zeros(len(weight))
    target[model.tokenizer.vocab.index(token)] = logit
    return PaddingLeak(model.encoder, torch.linalg.pinv(weight) @ target)


def test_gru_outputs_match_alone_and_batched(tiny_model, validate) -> None:
    model, cfg = tiny_model
    check = PaddingInvariance(PROBES, BATCH, on_mismatch="error", atol=1e-4)
    events = validate(model, build_datamodule(cfg, model.tokenizer), [check])  # raises if not
    (diff,) = events.Scalars("val/padding_max_diff")
    assert 0.0 <= diff.value < 1e-4
    (loss_diff,) = events.Scalars("val/padding_loss_diff")
    assert 0.0 <= loss_diff.value < 1e-4
    assert len(check.examples) == PROBES and len(check.fillers) == BATCH - PROBES
    longest = max(len(e.wave) for e in check.examples + check.fillers)
    assert sum(len(e.wave) < longest for e in check.examples) >= PROBES - 1  # padded


def test_compare_names_the_padded_utterance(tiny_model) -> None:
    model, cfg = tiny_model
    datamodule = build_datamodule(cfg, model.tokenizer)
    datamodule.setup("validate")
    dataset = datamodule.datasets["val"]
    by_length = sorted(range(len(dataset)), key=lambda i: dataset.utterances[i].duration)
    short, long = dataset[by_length[0]], dataset[by_length[-1]]
    model.encoder = leak_towards(model, "q")
    (comparison,) = compare_alone_and_batched(model, [short], [long])
    assert comparison.id == short.id
    assert comparison.batched == "q" != comparison.alone
    assert comparison.max_diff > 1.0
    # Alone, an utterance has no padding: the leak is off and the model decodes as before.
    model.encoder = model.encoder.encoder
    assert (
        comparison.alone == model.transcribe(short.wave[None], torch.tensor([len(short.wave)]))[0]
    )


@pytest.mark.parametrize(
    ("leak", "atol"),
    [(lambda model: leak_towards(model, "q"), None), (lambda model: MeanLeak(model.encoder), 1e-3)],
    ids=["changes-transcripts", "changes-log-probs"],
)
def test_leaking_encoder_warns_or_raises(tiny_model, validate, leak, atol) -> None:
    model, cfg = tiny_model
    model.encoder = leak(model)
    datamodule = build_datamodule(cfg, model.tokenizer)
    with pytest.warns(UserWarning, match=rf"padding changes the output of \d of {PROBES} probe"):
        events = validate(model, datamodule, [PaddingInvariance(PROBES, BATCH, atol=atol)])
    assert events.Scalars("val/padding_max_diff")[0].value > 1e-3
    with pytest.raises(PaddingInvarianceError, match=r"val\.jsonl:\d+: alone .*, batched "):
        validate(
            model, datamodule, [PaddingInvariance(PROBES, BATCH, on_mismatch="error", atol=atol)]
        )


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="on_mismatch must be one of"):
        PaddingInvariance(on_mismatch="ignore")
    with pytest.raises(ValueError, match=r"batch_size \(4\) must exceed num_utterances \(4\)"):
        PaddingInvariance(num_utterances=4, batch_size=4)


@pytest.mark.parametrize("head", list(HEADS))
def test_every_head_scores_decodes_and_loses_alike_alone_and_batched(
    head: str, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    model, examples, fillers = untrained(head, tiny_synth, tmp_path)
    comparisons = compare_alone_and_batched(model, examples, fillers)
    assert [c.id for c in comparisons] == [e.id for e in examples]
    for c in comparisons:
        assert c.alone == c.batched
        assert c.max_diff < 1e-5 and c.loss_diff < 1e-5, c


@pytest.mark.parametrize("head", list(TINY_HEADS))
def test_a_head_pooling_over_padding_is_caught(
    head: str, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    model, examples, fillers = untrained(head, tiny_synth, tmp_path)
    model.head = PooledOverPadding(model.head)
    for c in compare_alone_and_batched(model, examples, fillers):
        assert c.max_diff > 1e-2 and c.loss_diff > 1e-4, c


@pytest.mark.parametrize("head", list(TINY_HEADS))
def test_a_loss_over_padded_frames_is_caught_though_scores_match(
    head: str, tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    model, examples, fillers = untrained(head, tiny_synth, tmp_path)
    model.head = LossOverPadding(model.head)
    for c in compare_alone_and_batched(model, examples, fillers):
        assert c.alone == c.batched and c.max_diff < 1e-5
        assert c.loss_diff > 1e-4, c


def test_the_callback_names_a_loss_that_padding_changes(
    tiny_synth: dict[str, Path], validate, tmp_path: Path
) -> None:
    model, _, _ = untrained("ctc_aed", tiny_synth, tmp_path)
    model.head = LossOverPadding(model.head)
    cfg = compose_train(manifest_overrides(tiny_synth) + TINY + HEADS["ctc_aed"], tmp_path)
    datamodule = build_datamodule(cfg, model.tokenizer)
    check = PaddingInvariance(PROBES, BATCH, atol=1e-3)
    with pytest.warns(UserWarning, match=r"max score difference .*, loss difference \d"):
        events = validate(model, datamodule, [check])
    assert events.Scalars("val/padding_loss_diff")[0].value > 1e-3
    assert events.Scalars("val/padding_max_diff")[0].value < 1e-5
