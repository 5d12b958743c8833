"""bench/samplers.py: both samplers measured on every distribution, and its DDP check counts."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import samplers  # noqa: E402


def test_smoke_measures_both_samplers_on_every_distribution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    written = {}
    monkeypatch.setattr(
        samplers, "write_result", lambda name, result: written.update({name: result})
    )
    result = samplers.main(["--smoke"])
    assert written == {"samplers_smoke": result}
    rows = {(r["durations"], r["sampler"]): r for r in result["rows"]}
    assert set(rows) == {
        (d, s) for d in ("fsdd", "synth_digits", "librispeech") for s in ("asrlab", "lhotse")
    }
    for row in rows.values():
        assert row["same_twice"] and row["other_seed_differs"]
        assert 0 < row["padding"] < 0.1  # bucketed: random batches of 32 pad over 30% here
        ranks = row["ddp_2"]["batches_per_rank"]
        assert ranks[0] == ranks[1] and row["ddp_2"]["missing"] == 0
    assert rows["librispeech", "asrlab"]["utterances"] == 5000


def test_ddp_split_counts_repeated_and_missing_utterances() -> None:
    split = samplers.ddp_split([[[0, 1], [2]], [[2, 3]]], 5)
    assert split == {"batches_per_rank": [2, 1], "repeated": 1, "missing": 1}
