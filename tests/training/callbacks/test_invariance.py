"""The padding-invariance check passes for the GRU and catches encoders that leak padding."""

import pytest
import torch
from torch import Tensor, nn

from asrlab.model.build import build_datamodule
from asrlab.training.callbacks.invariance import (
    PaddingInvariance,
    PaddingInvarianceError,
    compare_alone_and_batched,
)

PROBES = 4
BATCH = 8  # the tiny val split's size: the probe utterances and the 4 longest others


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
