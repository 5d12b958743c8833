import json
from pathlib import Path

import pytest

from asrlab.cli.lm import main
from asrlab.decoders.lm import BOS, EOS, UNK, read_arpa


def test_builds_an_arpa_file_from_text_and_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "extra.txt").write_text("The cat sat.\n\nA dog sat\n", encoding="utf-8")
    lines = [{"audio_filepath": "a.wav", "duration": 1.0, "text": "the dog ate"}]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "lm" / "lm.arpa"
    main(
        [
            "--order",
            "2",
            "--out",
            str(out),
            str(tmp_path / "extra.txt"),
            str(tmp_path / "train.jsonl"),
        ]
    )
    lm = read_arpa(out)
    assert sorted(lm.vocab) == sorted([BOS, EOS, UNK, "the", "cat", "sat", "a", "dog", "ate"])
    assert ("dog", "ate") in lm.log10_probs[1]
    printed = capsys.readouterr().out
    assert "1-grams: 9" in printed and "2-grams:" in printed and str(out) in printed


def test_char_unit_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "text.txt"
    text.write_text("ab ba\n", encoding="utf-8")
    main(["--unit", "char", "--order", "3", "--out", str(tmp_path / "c.arpa"), str(text)])
    assert "|" in read_arpa(tmp_path / "c.arpa").vocab
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "x.arpa"), str(tmp_path / "missing.txt")])
    (tmp_path / "bad.jsonl").write_text('{"txt": "a"}\n', encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "x.arpa"), str(tmp_path / "bad.jsonl")])
    assert "bad.jsonl:1" in capsys.readouterr().err
