"""The CTC head: log-probs over the vocabulary, CTC loss, decoding through its decoder."""

import torch

from asrlab.data.batch import Batch
from asrlab.decoders.greedy import GreedyDecoder
from asrlab.model.contracts import Decoder, Head
from asrlab.model.heads.ctc import CTCHead
from asrlab.text.tokenizer import CharTokenizer


def test_log_probs_loss_and_greedy_text() -> None:
    tokenizer = CharTokenizer()
    head = CTCHead(5, tokenizer, GreedyDecoder)
    assert isinstance(head, Head) and isinstance(head.decoder, Decoder)
    hidden, lengths = torch.randn(2, 7, 5), torch.tensor([7, 4])
    log_probs, out_lengths = head(hidden, lengths)
    assert log_probs.shape == (2, 7, tokenizer.vocab_size) and out_lengths is lengths
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(2, 7))

    targets = torch.tensor([tokenizer.encode("ab"), tokenizer.encode("ab" * 3)[:2]])
    batch = Batch(hidden, lengths, targets, torch.tensor([2, 2]), ["ab", "ab"], ["0", "1"])
    loss, skipped = head.loss(log_probs, lengths, batch)
    assert loss > 0 and skipped == 0

    peaked = torch.full((1, 4, tokenizer.vocab_size), -10.0)
    for frame, char in enumerate("a-b-"):
        peaked[0, frame, 0 if char == "-" else tokenizer.encode(char)[0]] = 0.0
    assert head.decode(peaked, torch.tensor([4])) == ["ab"]

    (view,) = head.probe_views(peaked, torch.tensor([3]))[0]
    assert view.name == "posteriorgram" and view.rows == tokenizer.vocab
    torch.testing.assert_close(view.values, peaked[0, :3].exp().T)
    assert view.path.tolist() == [
        [0, tokenizer.encode("a")[0]],
        [1, 0],
        [2, tokenizer.encode("b")[0]],
    ]
