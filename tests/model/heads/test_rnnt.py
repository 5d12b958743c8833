"""The RNN-T head: the transducer loss, greedy and beam search, n-best, padding, the joint bound,
training through `train()` and reloading its checkpoint."""

import itertools
from pathlib import Path

import pytest
import torch

from asrlab.model.contracts import Head
from asrlab.model.heads.rnnt import JointTooLargeError, RNNTHead, rnnt_losses
from asrlab.model.heads.rnnt_search import beam_search, greedy_search
from asrlab.text.tokenizer import CharTokenizer
from asrlab.tools.evaluation.inputs import load_checkpoint
from asrlab.training.checkpoint import load_model
from asrlab.training.run import train
from helpers import (
    assert_head_config_lists_every_default,
    compose_train,
    manifest_overrides,
    text_batch,
)

TOKENIZER = CharTokenizer()


def tiny_head(**kwargs: object) -> RNNTHead:
    torch.manual_seed(0)
    sizes = {"joint_dim": 16, "embedding_dim": 8, "prediction_dim": 16}
    return RNNTHead(6, TOKENIZER, **{**sizes, **kwargs}).eval()  # type: ignore[arg-type]


def test_config_lists_every_constructor_default() -> None:
    assert_head_config_lists_every_default("rnnt")


def test_loss_is_the_sum_over_alignments_of_a_toy() -> None:
    """3 frames, 2 tokens: every path of 3 blanks and 2 tokens that ends with a blank."""
    torch.manual_seed(1)
    frames, labels, vocab = 3, [1, 3], 4
    logits = torch.randn(1, frames, len(labels) + 1, vocab)
    log_probs = logits[0].log_softmax(dim=-1)
    paths = []
    for token_steps in itertools.combinations(range(frames + len(labels) - 1), len(labels)):
        t = u = 0
        score = torch.tensor(0.0)
        for step in range(frames + len(labels)):
            if step in token_steps:
                score, u = score + log_probs[t, u, labels[u]], u + 1
            else:
                score, t = score + log_probs[t, u, 0], t + 1
        paths.append(score)
    assert len(paths) == 6
    loss = rnnt_losses(logits, torch.tensor([frames]), torch.tensor([labels]), torch.tensor([2]), 0)
    torch.testing.assert_close(loss, -torch.logsumexp(torch.stack(paths), 0)[None])


def test_keeps_the_head_contract_and_a_ctc_weight_adds_a_loss() -> None:
    head = tiny_head()
    assert isinstance(head, Head)
    hidden, lengths = torch.randn(2, 7, 6), torch.tensor([7, 4])
    scores, out_lengths = head(hidden, lengths)
    assert scores.shape == (2, 7, 16) and scores.dtype == torch.float32 and out_lengths is lengths
    batch = text_batch(["ab", "c"], hidden, lengths)
    loss, skipped = head.loss(scores, lengths, batch)
    assert loss > 0 and skipped == 0

    with_ctc = tiny_head(ctc_weight=0.5)
    ctc_loss, _ = with_ctc.loss(*with_ctc(hidden, lengths), batch)
    assert ctc_loss > loss  # same seed, same transducer weights: the CTC term is added
    assert len(head.decode(scores, lengths)) == 2


def test_beam_of_one_is_greedy_and_the_nbest_is_sorted() -> None:
    head = tiny_head(beam_size=4, nbest=3)
    scores, lengths = head(torch.randn(1, 9, 6) * 3, torch.tensor([9]))
    frames = scores[0]
    assert beam_search(head, frames, 1, 3) == [greedy_search(head, frames, 3)]
    (nbest,) = head.search(scores, lengths)
    assert len(nbest) == 3 and len({h.tokens for h in nbest}) == 3
    assert [h.score for h in nbest] == sorted((h.score for h in nbest), reverse=True)
    assert nbest[0] == beam_search(head, frames, 4, 5)[0]
    assert head.decode(scores, lengths) == [TOKENIZER.decode(list(nbest[0].tokens))]


def test_padding_changes_neither_loss_nor_hypotheses() -> None:
    head = tiny_head(beam_size=2)
    hidden, lengths = torch.randn(2, 8, 6), torch.tensor([8, 5])
    batch = text_batch(["abc", "d"], hidden, lengths)
    scores, _ = head(hidden, lengths)
    hyps = head.decode(scores, lengths)
    alone = text_batch(["d"], hidden[1:, :5], lengths[1:])
    alone_scores, _ = head(alone.waves, alone.wave_lengths)
    assert head.decode(alone_scores, alone.wave_lengths) == hyps[1:]
    start = torch.zeros_like(batch.targets[:, :1])
    predictions, _ = head.prediction(torch.cat([start, batch.targets], dim=1))
    losses = rnnt_losses(
        head.joint(scores[:, :, None], predictions[:, None]),
        lengths,
        batch.targets,
        batch.target_lengths,
        0,
    )
    loss_alone, _ = head.loss(alone_scores, alone.wave_lengths, alone)
    torch.testing.assert_close(losses[1:], loss_alone[None])  # "d": one token, loss per token


def test_frames_and_tokens_padded_beyond_the_longest_are_ignored() -> None:
    """A batch padded past its longest utterance and target (one row of a larger batch)."""
    head = tiny_head()
    hidden, lengths = torch.randn(1, 8, 6), torch.tensor([5])
    batch = text_batch(["ab"], hidden, lengths)
    loss, _ = head.loss(*head(hidden[:, :5], lengths), batch)
    padded = batch._replace(targets=torch.nn.functional.pad(batch.targets, (0, 3)))
    torch.testing.assert_close(head.loss(*head(hidden, lengths), padded)[0], loss)


def test_a_joint_beyond_max_joint_bytes_is_a_named_error() -> None:
    head = tiny_head(max_joint_bytes=1000)
    hidden, lengths = torch.randn(2, 8, 6), torch.tensor([8, 5])
    with pytest.raises(JointTooLargeError, match="head.max_joint_bytes=1000: lower data.batch"):
        head.loss(*head(hidden, lengths), text_batch(["abc", "d"], hidden, lengths))


@pytest.mark.parametrize("weight", [1.5, -1.0, float("nan")])
def test_a_ctc_weight_outside_zero_one_is_a_named_error(weight: float) -> None:
    with pytest.raises(
        ValueError, match=rf"^head.ctc_weight must be within \[0, 1\], not {weight}"
    ):
        tiny_head(ctc_weight=weight)


def test_overfits_three_utterances() -> None:
    """Trained on fixed encoder states, the loss falls and greedy and beam decode every text."""
    head = tiny_head(beam_size=3).train()
    hidden, lengths = torch.randn(3, 10, 6), torch.tensor([10, 8, 6])
    texts = ["abc", "ba", "cab"]
    batch = text_batch(texts, hidden, lengths)
    optimizer = torch.optim.Adam(head.parameters(), lr=0.02)
    losses = []
    for _ in range(150):
        loss, _ = head.loss(*head(hidden, lengths), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0]
    scores, out_lengths = head.eval()(hidden, lengths)
    assert head.decode(scores, out_lengths) == texts
    assert [
        TOKENIZER.decode(list(greedy_search(head, s[:n], 5).tokens))
        for s, n in zip(scores, lengths.tolist(), strict=True)
    ] == texts


def test_trains_with_train_and_its_checkpoint_decodes_identically(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    """`head=rnnt debug=fast` end to end on tiny data; the reloaded model decodes the same."""
    overrides = manifest_overrides(tiny_synth) + [
        "head=rnnt",
        "debug=fast",
        "encoder.hidden_size=32",
        "encoder.num_layers=1",
        "head.joint_dim=32",
        "head.prediction_dim=32",
    ]
    metrics = train(compose_train(overrides, tmp_path))
    assert metrics["global_step"] == 1 and metrics["test_loss"] > 0
    model, _ = load_model(tmp_path / "checkpoints" / "last.ckpt")
    assert isinstance(model.head, RNNTHead)
    again, _ = load_model(tmp_path / "checkpoints" / "last.ckpt")
    waves, lengths = torch.randn(2, 16000) * 0.1, torch.tensor([16000, 9000])
    assert model.transcribe(waves, lengths) == again.transcribe(waves, lengths)

    loaded, _ = load_checkpoint(tmp_path / "checkpoints" / "last.ckpt")  # asrlab-eval reads it
    assert loaded.transcribe(waves, lengths) == model.transcribe(waves, lengths)


def test_training_refuses_a_joint_beyond_max_joint_bytes(
    tiny_synth: dict[str, Path], tmp_path: Path
) -> None:
    overrides = manifest_overrides(tiny_synth) + ["head=rnnt", "head.max_joint_bytes=1000000"]
    with pytest.raises(JointTooLargeError, match=r"32 utterances x \d+ frames x"):
        train(compose_train(overrides, tmp_path))


def test_probe_view_is_the_lattice_of_the_greedy_hypothesis_with_its_best_path() -> None:
    head = tiny_head()
    hidden, lengths = torch.randn(2, 7, 6) * 3, torch.tensor([7, 4])
    scores, _ = head(hidden, lengths)
    hyps = head.decode(scores, lengths)
    views = head.probe_views(scores, lengths)
    alone = head.probe_views(*head(hidden[1:, :4], lengths[1:]))
    for (view,), hyp, frames in zip(views, hyps, lengths.tolist(), strict=True):
        assert view.name == "alignment" and view.rows == ["<start>", *hyp]
        assert view.values.shape == (len(hyp) + 1, frames)
        assert view.values.min() >= 0 and view.values.max() <= 1 + 1e-6
        path = view.path
        assert len(path) == frames + len(hyp)
        assert path[0].tolist() == [0, 0] and path[-1].tolist() == [frames - 1, len(hyp)]
        assert (path.diff(dim=0).sum(dim=1) == 1).all() and (path.diff(dim=0) >= 0).all()
    torch.testing.assert_close(alone[0][0].values, views[1][0].values)
    assert torch.equal(alone[0][0].path, views[1][0].path)
