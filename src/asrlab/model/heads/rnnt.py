"""Transducer (RNN-T) head: a prediction network over the previous tokens, a joint network with
the encoder states, `torchaudio.functional.rnnt_loss`; greedy or beam search into text."""

import torch
import torchaudio.functional as AF
from torch import Tensor, nn

from asrlab.data.batch import Batch
from asrlab.model.ctc import ctc_loss
from asrlab.model.heads.rnnt_alignment import best_path, occupancy
from asrlab.model.heads.rnnt_search import Hypothesis, PredictorState, greedy_search, search
from asrlab.model.heads.val_search import check_val_search
from asrlab.model.probe import ProbeMatrix
from asrlab.text.tokenizer import Tokenizer

RNNS = {"lstm": nn.LSTM, "gru": nn.GRU}


class JointTooLargeError(ValueError):
    """A batch's joint tensor (B x T' x U+1 x V float32) would exceed head.max_joint_bytes."""


def rnnt_losses(
    logits: Tensor, frame_lengths: Tensor, targets: Tensor, target_lengths: Tensor, blank: int
) -> Tensor:
    """logits (B, T', U+1, V) of the joint, frame_lengths (B,), targets (B, U) padded,
    target_lengths (B,) -> (B,) the negative log-probability of each transcript (fp32).
    Frames and tokens past the longest are cut (torchaudio wants the cut logits contiguous)."""
    frames, tokens = int(frame_lengths.max()), int(target_lengths.max())
    return AF.rnnt_loss(
        logits[:, :frames, : tokens + 1].float().contiguous(),
        targets[:, :tokens].int(),
        frame_lengths.int(),
        target_lengths.int(),
        blank=blank,
        reduction="none",
    )


class RNNTHead(nn.Module):
    """Encoder states projected to the joint width J; a prediction network (embedding, then an
    LSTM or GRU) over the tokens so far, projected to J; joint = linear(tanh(sum)) -> V logits.

    Args:
        input_dim: encoder output width H.
        tokenizer: the run's tokenizer; V = tokenizer.vocab_size, its blank (0) is the
            transducer's blank and the prediction network's start token.
        joint_dim: J, the width of the joint network.
        embedding_dim: the prediction network's token embedding width.
        prediction_dim: the prediction network's recurrent width.
        prediction_layers: its recurrent layers.
        prediction_rnn: "lstm" or "gru".
        dropout: dropout on the embedding and the prediction network's output.
        ctc_weight: weight of an auxiliary CTC loss on the projected encoder states (0: none).
        beam_size: 1 decodes greedily, more with a time-synchronous beam search.
        nbest: hypotheses `search` returns per utterance (at most beam_size).
        max_symbols_per_frame: tokens a search may emit at one encoder frame.
        max_joint_bytes: the largest joint tensor a training batch may need (see
            `check_joint_size`).
        val_search: how validation decodes: "greedy", cheap, for checkpoint selection and
            pruning, or "beam", the search of `decode` (test, eval and transcription).
    """

    def __init__(
        self,
        input_dim: int,
        tokenizer: Tokenizer,
        joint_dim: int = 256,
        embedding_dim: int = 128,
        prediction_dim: int = 256,
        prediction_layers: int = 1,
        prediction_rnn: str = "lstm",
        dropout: float = 0.1,
        ctc_weight: float = 0.0,
        beam_size: int = 1,
        nbest: int = 1,
        max_symbols_per_frame: int = 5,
        max_joint_bytes: int = 2**31,
        val_search: str = "greedy",
    ) -> None:
        super().__init__()
        check_val_search(val_search)
        if prediction_rnn not in RNNS:
            raise ValueError(
                f"head.prediction_rnn must be one of {list(RNNS)}, got {prediction_rnn!r}"
            )
        if not 1 <= nbest <= beam_size:
            raise ValueError(
                f"head.nbest must be between 1 and head.beam_size={beam_size}, got {nbest}"
            )
        if not 0 <= ctc_weight <= 1:
            raise ValueError(f"head.ctc_weight must be within [0, 1], not {ctc_weight}")
        if max_symbols_per_frame < 1:
            raise ValueError(
                f"head.max_symbols_per_frame must be at least 1, got {max_symbols_per_frame}"
            )
        vocab = tokenizer.vocab_size
        self.tokenizer = tokenizer
        self.blank_id = tokenizer.blank_id
        self.encoder_proj = nn.Linear(input_dim, joint_dim)
        self.embedding = nn.Embedding(vocab, embedding_dim)
        self.rnn = RNNS[prediction_rnn](
            embedding_dim, prediction_dim, num_layers=prediction_layers, batch_first=True
        )
        self.dropout = nn.Dropout(dropout)
        self.prediction_proj = nn.Linear(prediction_dim, joint_dim)
        self.output = nn.Linear(joint_dim, vocab)
        self.ctc = nn.Linear(joint_dim, vocab) if ctc_weight > 0 else None
        self.ctc_weight = ctc_weight
        self.beam_size = beam_size
        self.nbest = nbest
        self.max_symbols = max_symbols_per_frame
        self.max_joint_bytes = max_joint_bytes
        self.val_search = val_search

    def forward(self, hidden: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """hidden (B, T', H), lengths (B,) -> encoder states in the joint space (B, T', J)
        float32, lengths (B,)."""
        return self.encoder_proj(hidden).float(), lengths

    def prediction(
        self, tokens: Tensor, state: PredictorState = None
    ) -> tuple[Tensor, PredictorState]:
        """tokens (B, U) -> outputs (B, U, J) in the joint space, the recurrent state after them."""
        out, state = self.rnn(self.dropout(self.embedding(tokens)), state)
        return self.prediction_proj(self.dropout(out)), state

    def joint(self, frame: Tensor, prediction: Tensor) -> Tensor:
        """frame (..., J), prediction (..., J), broadcast -> token logits (..., V)."""
        return self.output(torch.tanh(frame + prediction))

    def start(self) -> tuple[Tensor, PredictorState]:
        return self.predict(self.blank_id, None)

    def predict(self, token: int, state: PredictorState) -> tuple[Tensor, PredictorState]:
        tokens = torch.tensor([[token]], device=self.output.weight.device)
        out, state = self.prediction(tokens, state)
        return out[0, 0], state

    def loss(self, scores: Tensor, lengths: Tensor, batch: Batch) -> tuple[Tensor, Tensor]:
        """Mean over utterances of the transducer loss divided by the label length (plus
        `ctc_weight` times the CTC loss); the number of utterances the CTC loss skipped."""
        targets, target_lengths = batch.targets, batch.target_lengths
        self.check_joint_size(*scores.shape[:2], targets.shape[1])
        start = torch.full_like(targets[:, :1], self.blank_id)
        predictions, _ = self.prediction(torch.cat([start, targets], dim=1))
        logits = self.joint(scores[:, :, None], predictions[:, None].float())
        losses = rnnt_losses(logits, lengths, targets, target_lengths, self.blank_id)
        loss = (losses / target_lengths.clamp(min=1)).mean()
        if self.ctc is None:
            return loss, torch.zeros((), dtype=torch.long, device=loss.device)
        log_probs = self.ctc(scores).float().log_softmax(dim=-1)
        ctc, skipped = ctc_loss(log_probs, lengths, targets, target_lengths, self.blank_id)
        return loss + self.ctc_weight * ctc, skipped

    def check_joint_size(self, batch_size: int, frames: int, tokens: int) -> None:
        """Raises JointTooLargeError if B x T' x (U+1) x V float32 exceeds max_joint_bytes."""
        size = batch_size * frames * (tokens + 1) * self.tokenizer.vocab_size * 4
        if size > self.max_joint_bytes:
            raise JointTooLargeError(
                f"the RNN-T joint tensor of a batch ({batch_size} utterances x {frames} frames x "
                f"{tokens + 1} token positions x {self.tokenizer.vocab_size} tokens, float32) "
                f"takes {size / 2**30:.2f} GiB > head.max_joint_bytes={self.max_joint_bytes}: "
                "lower data.batch_size or data.max_frames_per_batch, use a smaller BPE "
                "vocabulary (tokenizer.vocab_size), or raise head.max_joint_bytes"
            )

    @torch.no_grad()
    def search(
        self, scores: Tensor, lengths: Tensor, beam_size: int | None = None
    ) -> list[list[Hypothesis]]:
        """scores (B, T', J), lengths (B,) -> per utterance its `nbest` hypotheses, best first,
        from a beam of `beam_size` (default head.beam_size; 1 is the greedy search)."""
        beam = beam_size or self.beam_size
        return [
            search(self, frames[:length], beam, self.nbest, self.max_symbols)
            for frames, length in zip(scores, lengths.tolist(), strict=True)
        ]

    @torch.no_grad()
    def decode(self, scores: Tensor, lengths: Tensor, beam_size: int | None = None) -> list[str]:
        """scores (B, T', J), lengths (B,) -> the best transcript per utterance."""
        return [
            self.tokenizer.decode(list(nbest[0].tokens))
            for nbest in self.search(scores, lengths, beam_size)
        ]

    def validation_decode(self, scores: Tensor, lengths: Tensor) -> list[str]:
        """`decode` with the greedy search under val_search greedy, else with the beam."""
        return self.decode(scores, lengths, 1 if self.val_search == "greedy" else None)

    @torch.no_grad()
    def lattice(self, frames: Tensor, tokens: list[int]) -> tuple[Tensor, Tensor]:
        """frames (T', J) of one utterance, its U tokens -> at every node of the lattice, the
        log-probs of blank (T', U+1) and of the next token (T', U), float32."""
        prefix = torch.tensor([[self.blank_id, *tokens]], device=frames.device)
        predictions, _ = self.prediction(prefix)
        log_probs = self.joint(frames[:, None], predictions.float()).float().log_softmax(dim=-1)
        following = torch.tensor(tokens, dtype=torch.long, device=frames.device)
        emit = log_probs[:, :-1].gather(2, following.expand(len(frames), -1)[..., None])
        return log_probs[..., self.blank_id], emit[..., 0]

    @torch.no_grad()
    def probe_views(self, scores: Tensor, lengths: Tensor) -> list[list[ProbeMatrix]]:
        """scores (B, T', J), lengths (B,) -> per utterance the lattice of its greedy hypothesis:
        the probability that an alignment passes each node, (U+1, T') with row u after u
        tokens, and the best alignment's path."""
        views = []
        for frames, length in zip(scores, lengths.tolist(), strict=True):
            tokens = list(greedy_search(self, frames[:length], self.max_symbols).tokens)
            blank, emit = self.lattice(frames[:length], tokens)
            rows = ["<start>", *(self.tokenizer.vocab[i] for i in tokens)]
            nodes = occupancy(blank, emit).T.float().cpu()
            views.append(
                [ProbeMatrix("alignment", nodes, rows, best_path(blank, emit), "tokens so far")]
            )
        return views
