"""The hybrid CTC/attention head: weighted loss, joint CTC/attention beam search, guards."""

from pathlib import Path

import pytest
import torch

from asrlab.decoders.ctc_prefix import CTCPrefixScorer
from asrlab.decoders.lm import build_arpa
from asrlab.model.contracts import Head
from asrlab.model.heads.aed import AEDHead
from asrlab.model.heads.ctc_aed import CTCAEDHead
from asrlab.text.tokenizer import CharTokenizer
from helpers import (
    assert_head_config_lists_every_default,
    assert_overfits_and_reloads,
    random_head_inputs,
)

TOKENIZER = CharTokenizer()
TINY = {"d_model": 16, "num_layers": 1, "num_heads": 2, "ffn_dim": 32, "dropout": 0.0}


def head(**kwargs: float) -> CTCAEDHead:
    torch.manual_seed(0)
    return CTCAEDHead(6, TOKENIZER, **{**TINY, **kwargs}).eval()


def test_keeps_the_head_contract_and_its_config_lists_every_default() -> None:
    hybrid = head()
    assert isinstance(hybrid, Head)
    hidden, lengths, _ = random_head_inputs(["ab"], [5])
    memory, out_lengths = hybrid(hidden, lengths)
    assert memory.shape == (1, 5, 16) and out_lengths is lengths
    assert_head_config_lists_every_default("ctc_aed")


@pytest.mark.parametrize("key", ["ctc_weight", "decode_ctc_weight"])
@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_a_weight_outside_zero_one_is_refused_naming_its_key(key: str, weight: float) -> None:
    with pytest.raises(ValueError, match=rf"head\.{key} must be within \[0, 1\], not {weight}"):
        head(**{key: weight})


def test_the_loss_weighs_ctc_against_attention() -> None:
    hidden, lengths, few = random_head_inputs(["ab", "c"], [6, 4])
    losses = {w: head(ctc_weight=w).loss(*head()(hidden, lengths), few)[0] for w in (0, 0.3, 1)}
    torch.testing.assert_close(losses[0.3], 0.3 * losses[1] + 0.7 * losses[0])
    attention = AEDHead(6, TOKENIZER, **TINY)
    attention.load_state_dict(head().state_dict(), strict=False)
    torch.testing.assert_close(losses[0], attention.loss(*attention(hidden, lengths), few)[0])


def test_without_ctc_the_joint_search_finds_the_attention_beam_result() -> None:
    hidden, lengths, _ = random_head_inputs(["a", "b", "c"], [9, 6, 4])
    hybrid = head(decode_ctc_weight=0.0, beam_size=4, max_length_ratio=0.5)
    attention = AEDHead(6, TOKENIZER, **TINY, beam_size=4, length_penalty=0.0, max_length_ratio=0.5)
    attention.load_state_dict(hybrid.state_dict(), strict=False)
    memory, _ = hybrid(hidden, lengths)
    joint, beam = hybrid.nbest(memory, lengths), attention.eval().nbest(memory, lengths)
    assert [h[0][0] for h in joint] == [h[0][0] for h in beam]
    for ours, theirs in zip(joint, beam, strict=True):
        assert ours[0][1] == pytest.approx(theirs[0][1], abs=1e-4)


@torch.no_grad()
def _greedy(hybrid: CTCAEDHead, memory: torch.Tensor, length: int, limit: int) -> list[int]:
    """The hybrid's greedy decoding, spelled out: append the token of the best joint score
    (1 - w) log p_att(c | g) + w (log psi(g + c) - log psi(g)) until <eos> or the limit."""
    w, eos = hybrid.decode_ctc_weight, hybrid.sos_eos
    log_probs = hybrid.ctc_log_probs(memory[None, :length])[0]
    tokens: list[int] = []
    for _ in range(limit):
        inputs = torch.tensor([[eos, *tokens]])
        attention = hybrid.next_log_probs(inputs, memory[None, :length], torch.zeros(1, length) > 0)
        ctc = {c: _log_psi(log_probs, [*tokens, c], eos) for c in range(TOKENIZER.vocab_size)}
        before = _log_psi(log_probs, tokens, None)
        joint = [(1 - w) * float(attention[0, c]) + w * (ctc[c] - before) for c in ctc]
        best = max(range(len(joint)), key=joint.__getitem__)
        if best == eos:
            break
        tokens.append(best)
    return tokens


def _log_psi(log_probs: torch.Tensor, labels: list[int], eos: int | None) -> float:
    """log psi(g), one label at a time (eos last: log p(g | X))."""
    scorer = CTCPrefixScorer(log_probs, eos=-1 if eos is None else eos)
    state = scorer.initial_state()
    for label in labels:
        log_psi, r = scorer.extend([state], torch.tensor([[label]]))
        if label == eos:
            return float(log_psi)
        state = type(state)(r[:, :, 0, 0], float(log_psi), label)
    return state.log_psi


def test_beam_of_one_is_greedy_and_the_nbest_is_sorted_with_the_beam_result_first() -> None:
    hidden, lengths, _ = random_head_inputs(["a", "b", "c"], [9, 6, 4])
    greedy = head(beam_size=1, max_length_ratio=0.5, decode_ctc_weight=0.5)
    memory, _ = greedy(hidden, lengths)
    limits = greedy.max_tokens(lengths).tolist()
    expected = [_greedy(greedy, m, n, k) for m, n, k in zip(memory, lengths, limits, strict=True)]
    assert [h[0][0] for h in greedy.nbest(memory, lengths)] == expected
    beam = head(beam_size=4, max_length_ratio=0.5)
    texts = beam.decode(memory, lengths)
    for hypotheses, text in zip(beam.nbest(memory, lengths), texts, strict=True):
        scores = [score for _, score in hypotheses]
        assert scores == sorted(scores, reverse=True) and len(hypotheses) >= 2
        assert TOKENIZER.decode(hypotheses[0][0]) == text


@pytest.mark.parametrize("beam_size", [1, 3])
def test_loss_and_hypotheses_ignore_padding(beam_size: int) -> None:
    hybrid = head(beam_size=beam_size)
    hidden, lengths, padded = random_head_inputs(["abc", "b"], [7, 4])
    loss, skipped = hybrid.loss(*hybrid(hidden, lengths), padded)
    hyps = hybrid.decode(*hybrid(hidden, lengths))
    hidden[1, 4:] = 100.0
    assert hybrid.loss(*hybrid(hidden, lengths), padded) == (loss, skipped)
    assert hybrid.decode(*hybrid(hidden, lengths)) == hyps
    assert hyps[1] == hybrid.decode(*hybrid(hidden[1:, :4], lengths[1:]))[0]


def test_overfits_a_few_utterances_and_reloads_to_decode_identically() -> None:
    assert_overfits_and_reloads(head, [8, 7, 6], steps=80)


def test_an_lm_joins_the_search_by_shallow_fusion_and_a_missing_one_is_named(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match="head.lm=.*no such file"):
        head(lm=str(tmp_path / "missing.arpa"))
    build_arpa(["a b", "a"], tmp_path / "lm.arpa", order=2, unit="char")
    hidden, lengths, _ = random_head_inputs(["a", "b"], [6, 5])
    plain = head(max_length_ratio=0.5)
    fused = head(max_length_ratio=0.5, lm=str(tmp_path / "lm.arpa"), lm_weight=5.0)
    memory, _ = plain(hidden, lengths)
    for ours, theirs in zip(
        fused.nbest(memory, lengths), plain.nbest(memory, lengths), strict=True
    ):
        assert set("".join(map(TOKENIZER.decode, [h[0] for h in ours]))) <= set("ab ")
        assert ours != theirs


def test_a_word_lm_or_an_lm_weight_without_lm_is_refused(tmp_path: Path) -> None:
    build_arpa(["one two", "three"], tmp_path / "words.arpa", order=2, unit="word")
    with pytest.raises(ValueError, match=r"head.lm=.*words.arpa: none of its units.*--unit char"):
        head(lm=str(tmp_path / "words.arpa"), lm_weight=1.0)
    with pytest.raises(ValueError, match=r"head.lm_weight=0.5 but no head.lm"):
        head(lm_weight=0.5)


def test_probe_view_shows_the_attention_map_and_the_ctc_posteriorgram() -> None:
    hybrid = head()
    hidden, lengths, _ = random_head_inputs(["a", "b"], [7, 4])
    memory, _ = hybrid(hidden, lengths)
    views = hybrid.probe_views(memory, lengths)
    log_probs = hybrid.ctc_log_probs(memory)
    for (attention, posteriors), ctc, frames in zip(views, log_probs, [7, 4], strict=True):
        assert attention.name == "attention" and attention.values.shape[1] == frames
        assert posteriors.name == "posteriorgram" and posteriors.rows == TOKENIZER.vocab
        torch.testing.assert_close(posteriors.values, ctc[:frames].exp().T)
