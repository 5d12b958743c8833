import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asrlab.data.manifest import ManifestError, Problem, read_manifest, validate
from asrlab.text.tokenizer import CharTokenizer
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
            lambda d: {"audio_filepath": "utt0.wav", "duration": 0.3, "text": " ?! "},
            "empty transcript",
        ),
        (
            lambda d: {"audio_filepath": "utt0.wav", "duration": 0.3, "text": "route 66"},
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
    line = _append(manifest, {"audio_filepath": "empty.wav", "duration": 0.1, "text": "one"})
    with pytest.raises(ManifestError, match=f"{manifest}:{line}: audio file is empty"):
        validate(read_manifest(manifest), CharTokenizer())


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    manifest = write_dataset(tmp_path, ["one"])
    line = _append(manifest, '{"audio_filepath": "utt0.wav", "text": "one"}')
    with pytest.raises(ManifestError, match=f"{manifest}:{line}: not a JSON object"):
        read_manifest(manifest)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("text", None, "text must be a string, got null"),
        ("text", True, "text must be a string, got true"),
        ("text", ["a"], 'text must be a string, got \\["a"\\]'),
        ("text", 7, "text must be a string, got 7"),
        ("duration", float("nan"), "duration must be .* got NaN"),
        ("duration", float("inf"), "duration must be .* got Infinity"),
        ("duration", 1e300, "duration must be .* got 1e\\+300"),
        ("duration", -1.0, "duration must be .* got -1.0"),
        ("duration", True, "duration must be .* got true"),
        ("duration", "long", 'duration must be .* got "long"'),
    ],
)
def test_a_value_of_the_wrong_kind_names_the_line(
    tmp_path: Path, field: str, value: object, message: str
) -> None:
    manifest = write_dataset(tmp_path, ["one"])
    line = _append(
        manifest, {"audio_filepath": "utt0.wav", "duration": 0.3, "text": "one", field: value}
    )
    with pytest.raises(ManifestError, match=f"{manifest}:{line}: {message}"):
        read_manifest(manifest)


def test_a_line_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    manifest = write_dataset(tmp_path, ["one", "two"])
    with manifest.open("ab") as f:
        f.write(
            '{"audio_filepath": "utt0.wav", "duration": 0.3, "text": "caf\u00e9"}\n'.encode(
                "latin-1"
            )
        )
    with pytest.raises(ManifestError, match=f"{manifest}:3: not UTF-8 \\(byte 0xe9"):
        read_manifest(manifest)


def test_malformed_lines_can_be_collected_instead(tmp_path: Path) -> None:
    manifest = write_dataset(tmp_path, ["one", "two"])
    line = _append(manifest, {"audio_filepath": "utt0.wav", "duration": 0.3, "text": None})
    malformed: list[Problem] = []
    assert [u.text for u in read_manifest(manifest, malformed)] == ["one", "two"]
    assert malformed == [Problem(None, f"{manifest}:{line}", "text must be a string, got null")]


def test_a_duration_the_file_contradicts_is_a_bad_line(tmp_path: Path) -> None:
    manifest = write_dataset(tmp_path, ["one"])  # utt0.wav: 0.3 s
    close = _append(manifest, {"audio_filepath": "utt0.wav", "duration": 0.37, "text": "one"})
    far = _append(manifest, {"audio_filepath": "utt0.wav", "duration": 600.0, "text": "one"})
    with pytest.raises(ManifestError, match="1 bad manifest line") as err:
        validate(read_manifest(manifest), CharTokenizer())
    assert f"{manifest}:{far}: the manifest says 600.000 s but the file has 0.300 s" in str(
        err.value
    )
    assert f"{manifest}:{close}" not in str(err.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_samples_are_a_bad_line(tmp_path: Path, bad: float) -> None:
    manifest = write_dataset(tmp_path, ["one"])
    wave = np.full(1600, 0.1, dtype=np.float32)
    wave[100] = bad
    sf.write(str(tmp_path / "nan.wav"), wave, 16000, subtype="FLOAT")
    line = _append(manifest, {"audio_filepath": "nan.wav", "duration": 0.1, "text": "one"})
    with pytest.raises(ManifestError, match=f"{manifest}:{line}: audio file has 1 NaN or inf"):
        validate(read_manifest(manifest), CharTokenizer())
