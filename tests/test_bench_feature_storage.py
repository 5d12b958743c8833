"""bench/feature_storage.py: ours and Lhotse's stores hold the same features, read back whole."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import feature_storage  # noqa: E402


def test_smoke_stores_and_reads_the_same_features_both_ways(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_synth: dict[str, Path]
) -> None:
    written = {}
    monkeypatch.setattr(
        feature_storage, "write_result", lambda name, result: written.update({name: result})
    )
    argv = ["--manifest", str(tiny_synth["val"]), "--workdir", str(tmp_path)]
    result = feature_storage.main(argv)
    assert written == {"feature_storage_smoke": result}
    ours, numpy_files = result["rows"]["asrlab"], result["rows"]["lhotse_numpy_files"]
    assert result["utterances"] == 8 and result["frames"] > 0
    assert numpy_files["max_abs_error"] == 0.0  # float32 as computed
    assert 0 < ours["max_abs_error"] < 0.01  # float16
    assert ours["bytes"] < numpy_files["bytes"] and ours["files"] < numpy_files["files"]
    assert ours["read_utterances_per_s"] > 0 and numpy_files["read_utterances_per_s"] > 0
    measured = {f"lhotse_{name}" for name in feature_storage.LHOTSE_WRITERS} - {
        f"lhotse_{name}" for name in result["not_measured"]
    }
    assert set(result["rows"]) == {"asrlab"} | measured  # each writer measured or said why not
    assert list(tmp_path.iterdir()) == []  # the stores are gone
