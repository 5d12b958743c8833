"""Alignments through a transducer lattice: the best path and the node occupancy, against a
brute-force enumeration of every alignment of a toy lattice."""

import itertools

import torch

from asrlab.model.heads.rnnt_alignment import best_path, occupancy


def alignments(frames: int, tokens: int) -> list[list[tuple[int, int, bool]]]:
    """Every alignment as its moves (t, u, emits), the final blank included."""
    paths = []
    for emits in itertools.combinations(range(frames + tokens - 1), tokens):
        t = u = 0
        moves = []
        for step in range(frames + tokens):
            moves.append((t, u, step in emits))
            t, u = (t, u + 1) if step in emits else (t + 1, u)
        paths.append(moves)
    return paths


def test_best_path_and_occupancy_match_every_alignment_of_a_toy() -> None:
    torch.manual_seed(2)
    frames, tokens = 4, 2
    log_probs = torch.randn(frames, tokens + 1, 3).log_softmax(dim=-1)
    blank, emit = log_probs[..., 0], log_probs[:, :-1, 1]
    paths = alignments(frames, tokens)
    assert len(paths) == 10
    scores = torch.stack(
        [sum((emit if e else blank)[t, u] for t, u, e in moves) for moves in paths]
    ).double()
    best = paths[int(scores.argmax())]
    path = best_path(blank, emit)
    assert path.tolist() == [[t, u] for t, u, _ in best]
    assert path[0].tolist() == [0, 0] and path[-1].tolist() == [frames - 1, tokens]
    assert len(path) == frames + tokens
    steps = path.diff(dim=0)
    assert ((steps == torch.tensor([1, 0])) | (steps == torch.tensor([0, 1]))).all(dim=1).all()

    expected = torch.zeros(frames, tokens + 1, dtype=torch.float64)
    for moves, probability in zip(paths, scores.softmax(dim=0), strict=True):
        for t, u, _ in moves:
            expected[t, u] += probability
    torch.testing.assert_close(occupancy(blank, emit), expected)


def test_no_tokens_is_one_row_of_blanks() -> None:
    blank = torch.randn(5, 1, 3).log_softmax(dim=-1)[..., 0]
    emit = torch.zeros(5, 0)
    assert best_path(blank, emit).tolist() == [[t, 0] for t in range(5)]
    torch.testing.assert_close(occupancy(blank, emit), torch.ones(5, 1, dtype=torch.float64))
