"""bench/recipes.py: ours and Lhotse's LibriSpeech preparers agree, and the bad inputs differ."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import recipes  # noqa: E402


def test_smoke_compares_both_recipes_on_generated_corpora(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    written = {}
    monkeypatch.setattr(
        recipes, "write_result", lambda name, result: written.update({name: result})
    )
    result = recipes.main(["--utterances", "12", "--workdir", str(tmp_path)])
    assert written == {"recipes_smoke": result}
    libri = result["librispeech"]
    assert libri["same_utterances"]
    assert libri["missing_audio"]["asrlab"].startswith("error: ")
    assert libri["missing_audio"]["lhotse"] == "3 utterances, no error"  # of dev-clean's 4
    assert "no transcript after the id" in libri["line_without_text"]["asrlab"]
    assert result["speech_commands"]["utterances"] == {"train": 3, "val": 3, "test": 3}
    assert "speech_commands_test_set" in result["speech_commands"]["lhotse_on_the_archive"]
    assert list(tmp_path.iterdir()) == []
