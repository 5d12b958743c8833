"""What the dataset recipes share: their error, name checks and manifests cached by content.

A recipe scans its folder into rows (without durations) per split and hands them to
`cached_manifests`, which names the cache folder `<recipe>-<hash>` from the recipe's parameters and
every row, so that a changed option, or a file added or removed, gives another folder, while an
unchanged dataset reuses its manifests without reading a single audio header.
"""

import json
import logging
from collections.abc import Iterable
from pathlib import Path

from asrlab.data.audio import audio_info
from asrlab.data.manifest import write_manifest
from asrlab.storage import content_key, write_atomically

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
_FORMAT_VERSION = 1  # bump when the manifest lines change for the same rows


class DatasetError(ValueError):
    """A dataset folder or option that cannot give manifests; the message says what to fix."""


def require_known(kind: str, named: Iterable[str], found: Iterable[str], where: Path) -> None:
    """Raise DatasetError when a name in `named` is not among those `found` in `where`."""
    found = sorted(found)
    unknown = sorted(set(named) - set(found))
    if unknown:
        raise DatasetError(
            f"{kind}(s) {', '.join(unknown)} not found in {where}; "
            f"{kind}s found there: {', '.join(found) or 'none'}"
        )


def cached_manifests(
    recipe: str, manifest_dir: Path, params: dict, splits: dict[str, list[dict]]
) -> dict[str, Path]:
    """One JSONL manifest per split in `manifest_dir/<recipe>-<hash>/`, written unless there.

    `splits` maps each split to its rows: `audio_filepath` (absolute), `text` and any id fields.
    The `duration` of each is read from the audio header when the manifests are written, each to a
    temporary file renamed into place, so that a manifest is either whole or absent.
    """
    counts = {split: len(splits.get(split, ())) for split in SPLITS}
    total = sum(len(rows) for rows in splits.values())
    if empty := [split for split, count in counts.items() if not count]:
        raise DatasetError(
            f"{recipe}: no utterances for the {' and '.join(empty)} split(s) (of {total} found) "
            f"with {params}; change the split options"
        )
    key = content_key({"format": _FORMAT_VERSION, "params": params, "splits": splits}, 10)
    folder = manifest_dir / f"{recipe}-{key}"
    paths = {split: folder / f"{split}.jsonl" for split in SPLITS}
    if all(path.is_file() for path in paths.values()):
        log.info(
            "%s: using the manifests in %s (utterances: %s)",
            recipe,
            folder,
            ", ".join(f"{split} {count}" for split, count in counts.items()),
        )
        return paths

    folder.mkdir(parents=True, exist_ok=True)
    log.info("%s: reading the headers of %d audio files", recipe, total)
    hours = {}
    for split, path in paths.items():
        lines = [
            {
                "audio_filepath": row["audio_filepath"],
                "duration": audio_info(row["audio_filepath"]).duration,
                **row,
            }
            for row in splits[split]
        ]
        write_atomically(path, lambda temporary, lines=lines: write_manifest(temporary, lines))
        hours[split] = sum(line["duration"] for line in lines) / 3600
    summary = {"recipe": recipe, "params": params, "utterances": counts}
    write_atomically(
        folder / "params.json",
        lambda temporary: temporary.write_text(json.dumps(summary, indent=2) + "\n"),
    )
    log.info(
        "%s: wrote manifests in %s: %s",
        recipe,
        folder,
        ", ".join(f"{split} {counts[split]} utts {hours[split]:.2f} h" for split in SPLITS),
    )
    return paths
