"""The utterance classifier head: labels, pooling over valid frames only, loss, decoding."""

import pytest
import torch

from asrlab.data.batch import Batch
from asrlab.model.contracts import Head
from asrlab.model.heads.classifier import ClassifierHead
from asrlab.text.tokenizer import CharTokenizer

LABELS = ["Seven", "zero", "one"]


def head(pooling: str = "mean") -> ClassifierHead:
    torch.manual_seed(0)
    return ClassifierHead(4, CharTokenizer(), LABELS, pooling=pooling, dropout=0.0).eval()


def batch(texts: list[str]) -> Batch:
    empty = torch.zeros(len(texts), 1)
    return Batch(empty, torch.ones(len(texts)), empty, torch.ones(len(texts)), texts, texts)


def test_keeps_the_head_contract() -> None:
    assert isinstance(head(), Head)


def test_labels_are_normalised_sorted_and_distinct() -> None:
    assert ClassifierHead(4, CharTokenizer(), [*LABELS, "ONE"]).labels == ["one", "seven", "zero"]
    with pytest.raises(ValueError, match="at least two labels"):
        ClassifierHead(4, CharTokenizer(), ["one", "One"])
    with pytest.raises(ValueError, match="pooling"):
        ClassifierHead(4, CharTokenizer(), LABELS, pooling="first")


@pytest.mark.parametrize("pooling", ["mean", "max", "last"])
@torch.no_grad()
def test_pooling_ignores_padding(pooling: str) -> None:
    classifier = head(pooling)
    hidden = torch.randn(2, 6, 4)
    lengths = torch.tensor([6, 3])
    hidden[1, 3:] = 100.0
    logits, _ = classifier(hidden, lengths)
    alone, _ = classifier(hidden[1:, :3], lengths[1:])
    torch.testing.assert_close(logits[1], alone[0])
    assert logits.shape == (2, 3)


def test_last_pooling_takes_the_last_valid_frame() -> None:
    hidden = torch.arange(2 * 5 * 4, dtype=torch.float).view(2, 5, 4)
    pooled = head("last").pool(hidden, torch.tensor([5, 2]))
    torch.testing.assert_close(pooled, torch.stack([hidden[0, 4], hidden[1, 1]]))


def test_loss_ignores_texts_outside_the_labels_and_decode_names_labels() -> None:
    classifier = head()
    logits = torch.tensor([[0.0, 5.0, 0.0], [5.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    loss, unknown = classifier.loss(logits, torch.ones(3), batch(["seven", "one", "nine"]))
    expected = torch.nn.functional.cross_entropy(logits[:2], torch.tensor([1, 0]))
    torch.testing.assert_close(loss, expected)
    assert unknown == 1
    loss, unknown = classifier.loss(logits[:1], torch.ones(1), batch(["nine"]))
    assert loss == 0 and unknown == 1
    assert classifier.decode(logits, torch.ones(3)) == ["seven", "one", "zero"]


def test_labels_travel_in_the_state_dict() -> None:
    state = head().state_dict()
    assert state["_extra_state"] == {"labels": ["one", "seven", "zero"]}
    head().load_state_dict(state)
    other = ClassifierHead(4, CharTokenizer(), ["two", "three", "four"])
    with pytest.raises(ValueError, match="labels"):
        other.load_state_dict(state)


def test_probe_view_has_no_pictures() -> None:
    assert head().probe_views(torch.zeros(2, 3), torch.tensor([5, 4])) == [[], []]
