import json
from pathlib import Path

import pytest

from asrlab.data.manifest import ManifestError, read_manifest, validate
from asrlab.data.tokenizer import CharTokenizer
from helpers import write_dataset


def _append(manifest: Path, entry: dict | str) -> int:
    """Append a line; returns its line number."""
    line = entry if isinstance(entry, str) else json.dumps(entry)
    with manifest.open("a") as f:
        f.write(line + "\n")
    return len(manifest.read_text().splitlines())


def test_relative_paths_resolve_against_the_manifest_folder(tmp_path: Path) -> None:
    manifest = write_dataset(tmp_path / "ds", ["one", "two"])
    utts = read_manifest(manifest)
    assert [u.audio_filepath for u in utts] == [
        str(tmp_path / "ds" / f"utt{i}.wav") for i in (0, 1)
    ]
    assert utts[1].where == f"{manifest}:2"
    validate(utts, CharTokenizer())


@pytest.mark.parametrize(
    ("make_bad", "message"),
    [
        (lambda d: {"audio_filepath": "missing.wav", "duration": 1.0, "text": "one"}, "not found"),
        (
            lambda d: (
                (d / "corrupt.wav").write_bytes(b"RIFF garbage")
                and {"audio_filepath": "corrupt.wav", "duration": 1.0, "text": "one"}
            ),
            "cannot read",
        ),
        (
            lambda d: {"audio_filepath": "utt0.wav", "duration": 1.0, "text": " ?! "},
            "empty transcript",
        ),
        (
            lambda d: {"audio_filepath": "utt0.wav", "duration": 1.0, "text": "route 66"},
            "cannot encode",
        ),
    ],
    ids=["missing", "corrupt", "empty-transcript", "unencodable"],
)
def test_bad_lines_are_reported_with_file_and_line(tmp_path: Path, make_bad, message: str) -> None:
    manifest = write_dataset(tmp_path, ["one", "two"])
    line = _append(manifest, make_bad(tmp_path))
    with pytest.raises(ManifestError, match=message) as err:
        validate(read_manifest(manifest), CharTokenizer())
    assert f"{manifest}:{line}" in str(err.value)


def test_empty_audio_file_is_reported(tmp_path: Path) -> None:
    import soundfile as sf

    manifest = write_dataset(tmp_path, ["one"])
    sf.write(str(tmp_path / "empty.wav"), [], 16000)
    line = _append(manifest, {"audio_filepath": "empty.wav", "duration": 0.0, "text": "one"})
    with pytest.raises(ManifestError, match=f"{manifest}:{line}: audio file is empty"):
        validate(read_manifest(manifest), CharTokenizer())


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    manifest = write_dataset(tmp_path, ["one"])
    line = _append(manifest, '{"audio_filepath": "utt0.wav", "text": "one"}')
    with pytest.raises(ManifestError, match=f"{manifest}:{line}: not a JSON object"):
        read_manifest(manifest)
