"""`head.val_search`: validation decodes greedily where a head's search is costly, test decodes
with the search; `ASRModel` sends each stage to its decoding."""

from pathlib import Path

import pytest
import torch

from asrlab.model.build import build_model, build_tokenizer
from asrlab.model.heads.aed import AEDHead
from asrlab.model.heads.ctc_aed import CTCAEDHead
from asrlab.model.heads.rnnt import RNNTHead
from asrlab.text.tokenizer import CharTokenizer
from helpers import compose_train, random_head_inputs, text_batch

TOKENIZER = CharTokenizer()
ATTENTION = {"d_model": 16, "num_layers": 1, "num_heads": 2, "ffn_dim": 32, "dropout": 0.0}
TRANSDUCER = {"joint_dim": 16, "embedding_dim": 8, "prediction_dim": 16}
HEADS = {
    AEDHead: {**ATTENTION, "length_penalty": 0.0},
    CTCAEDHead: {**ATTENTION, "decode_ctc_weight": 0.5},
    RNNTHead: {**TRANSDUCER, "nbest": 1},
}


def make(kind: type, **kwargs: object) -> torch.nn.Module:
    """An untrained head that rarely chooses its blank/end symbol (else every text is empty)."""
    torch.manual_seed(0)
    head = kind(6, TOKENIZER, **{**HEADS[kind], **kwargs}).eval()
    with torch.no_grad():
        head.output.bias[TOKENIZER.blank_id] = -3.0
    return head


def greedy_of(kind: type) -> torch.nn.Module:
    """The same weights decoding greedily: beam 1 (the hybrid: on the attention decoder alone)."""
    return make(kind, beam_size=1, **({"decode_ctc_weight": 0.0} if kind is CTCAEDHead else {}))


@pytest.mark.parametrize("kind", list(HEADS))
def test_greedy_validation_is_the_greedy_search_and_beam_validation_the_test_search(
    kind: type,
) -> None:
    hidden, lengths, _ = random_head_inputs(["ab", "c", "abc", "b"], [9, 6, 4, 7])
    greedy, beam = make(kind, beam_size=4), make(kind, beam_size=4, val_search="beam")
    with torch.no_grad():
        scores, out_lengths = greedy(hidden, lengths)
        texts = greedy.validation_decode(scores, out_lengths)
        assert texts == greedy_of(kind).decode(scores, out_lengths)
        assert texts != greedy.decode(scores, out_lengths)  # so the two are told apart
        assert beam.validation_decode(scores, out_lengths) == beam.decode(scores, out_lengths)


@pytest.mark.parametrize("kind", list(HEADS))
def test_an_unknown_val_search_is_refused_naming_the_key(kind: type) -> None:
    with pytest.raises(ValueError, match=r"head.val_search must be one of \['greedy', 'beam'\]"):
        make(kind, val_search="fast")


@pytest.mark.filterwarnings("ignore:You are trying to `self.log\\(\\)`")  # no trainer attached
def test_validation_steps_use_validation_decode_and_test_steps_decode(tmp_path: Path) -> None:
    texts = ["one two", "nine"]
    overrides = ["head=ctc_aed", "encoder.hidden_size=8", "encoder.num_layers=1"]
    cfg = compose_train(overrides, tmp_path)
    model = build_model(cfg, build_tokenizer(cfg, lambda: texts), lambda: texts).eval()
    calls = []
    model.head.decode = lambda scores, lengths: calls.append("decode") or ["x"] * len(scores)
    model.head.validation_decode = lambda scores, lengths: (
        calls.append("validation_decode") or ["x"] * len(scores)
    )
    batch = text_batch(texts, torch.randn(2, 8000), torch.tensor([8000, 6000]))
    with torch.no_grad():
        model.validation_step(batch, 0)
        model.on_test_epoch_start()
        model.test_step(batch, 0)
    assert calls == ["validation_decode", "decode"]
