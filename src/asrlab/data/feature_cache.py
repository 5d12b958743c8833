"""Feature cache (`data.cache=true`): each utterance's features computed once, stored in shards.

Layout, under `cache_dir/features-<config hash>/` (the hash covers the frontend config, the
sample rate and `FORMAT_VERSION`, so a changed feature config gets a new folder):

    config.json        what the hash covers, for people
    <shard>.pt         {"feats": (sum T, F) float16, "offsets": (N + 1,) int64}
    <shard>.keys       JSON list of the N file keys of the shard, in row order
    <shard>.keys.lock  flock'ed while the shard is built

A file key is a hash of an audio file's absolute path, size and mtime_ns: a rewritten file gets
a new key and is computed again. `prepare` reads every `.keys` file into an index (file key ->
shard, row), chunks the keys it misses, in manifest order, into shards of `shard_size`, and names
each shard by the hash of its keys. Any manifest that uses a file, in any order, reuses its
features; only the files missing from the cache are computed.

Concurrency: a shard is built under an exclusive `fcntl.flock` on its lock file; whoever gets the
lock second finds the `.keys` file and builds nothing. The `.pt` is written to a temporary file
renamed into place, then the `.keys` likewise, and a shard counts only once its `.keys` exists:
a reader never sees a half-written shard, and an interrupted build leaves complete shards only
(plus, after a hard kill, an unused hidden `.tmp` file). Should two processes still chunk a
shared file into different shards, it is stored twice, and either copy is exact.

Features are stored as float16 and read back as float32: relative error <= 2**-11 (values below
6.1e-5 in magnitude: absolute error <= 3e-8), far below the spread of normalised log features.
"""

import json
import logging
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import Tensor, nn
from torch.utils.data import Dataset

from asrlab.data.audio import read_audio
from asrlab.data.dataset import Example, make_example
from asrlab.data.manifest import Utterance
from asrlab.storage import content_key, digest, file_key, write_atomically, write_once
from asrlab.text.tokenizer import Tokenizer
from asrlab.trust.pickles import safe_load

log = logging.getLogger(__name__)

FORMAT_VERSION = 1  # bump when the stored features change for the same config


class CachedFeatures:
    """Features of a list of utterances, read lazily from the shards of one cache folder.

    `self[i]` is the (T, F) float32 features of utterance i. At most `max_loaded` shards are
    kept loaded (memory-mapped: address space, and the pages read are the page cache's; the least
    recently used dropped). A shuffled epoch reads the shards in turn, and reloading one costs 20
    times reading it (bench/feature_storage.py): the default keeps 1,024 (half a million
    utterances). Pickling drops them, so each DataLoader worker loads only the shards it reads.
    """

    def __init__(
        self, folder: Path, shards: list[str], locations: np.ndarray, max_loaded: int = 1024
    ) -> None:
        self.folder = folder
        self.shards = shards  # shard names
        self.locations = locations  # (N, 2) int64: shard index, row in the shard
        self.max_loaded = max_loaded
        self._loaded: OrderedDict[int, dict[str, Tensor]] = OrderedDict()

    def __len__(self) -> int:
        return len(self.locations)

    def __getitem__(self, index: int) -> Tensor:
        shard, row = (int(x) for x in self.locations[index])
        data = self._shard(shard)
        start, end = data["offsets"][row : row + 2].tolist()
        return data["feats"][start:end].float()

    def _shard(self, shard: int) -> dict[str, Tensor]:
        if shard in self._loaded:
            self._loaded.move_to_end(shard)
        else:
            path = self.folder / f"{self.shards[shard]}.pt"
            self._loaded[shard] = safe_load(path, mmap=True)
            if len(self._loaded) > self.max_loaded:
                self._loaded.popitem(last=False)
        return self._loaded[shard]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_loaded": OrderedDict()}


class FeatureCache:
    """Computes the features of utterances once per feature config and stores them in shards."""

    def __init__(
        self,
        cache_dir: str | Path,
        frontend: nn.Module,
        frontend_config: dict,
        sample_rate: int,
        shard_size: int = 512,
    ) -> None:
        self.frontend = frontend
        self.sample_rate = sample_rate
        self.shard_size = shard_size
        self.config = {
            "frontend": frontend_config,
            "sample_rate": sample_rate,
            "format": FORMAT_VERSION,
        }
        self.folder = Path(cache_dir) / f"features-{content_key(self.config, 12)}"

    def prepare(self, utterances: list[Utterance]) -> CachedFeatures:
        """Compute the shards missing for `utterances`; returns their features, in order."""
        started = time.perf_counter()
        self._write_config()
        keys = [file_key(utt.audio_filepath) for utt in utterances]
        paths = dict(zip(keys, (utt.audio_filepath for utt in utterances), strict=True))
        index = self._index()
        missing = [key for key in paths if key not in index]
        reused = len({index[key][0] for key in keys if key in index})
        log.info(
            "feature cache %s: %d of %d utterances cached (in %d shard(s)), %d to compute",
            self.folder,
            len(keys) - len(missing),
            len(keys),
            reused,
            len(missing),
        )
        if missing:
            chunks = [
                missing[i : i + self.shard_size] for i in range(0, len(missing), self.shard_size)
            ]
            built = self._build_all(chunks, paths, index)
            seconds = time.perf_counter() - started
            log.info(
                "feature cache: built %d shard(s) (%d more built meanwhile by another "
                "process) in %.1f s",
                built,
                len(chunks) - built,
                seconds,
            )
        names = sorted({index[key][0] for key in keys})
        number = {name: i for i, name in enumerate(names)}
        locations = np.array(
            [(number[index[key][0]], index[key][1]) for key in keys], dtype=np.int64
        ).reshape(-1, 2)
        return CachedFeatures(self.folder, names, locations)

    def _write_config(self) -> None:
        config_path = self.folder / "config.json"
        if not config_path.is_file():
            self.folder.mkdir(parents=True, exist_ok=True)
            text = json.dumps(self.config, indent=2, sort_keys=True) + "\n"
            write_atomically(config_path, lambda temporary: temporary.write_text(text))

    def _build_all(
        self, chunks: list[list[str]], paths: dict[str, Path], index: dict[str, tuple[str, int]]
    ) -> int:
        """Build one shard per chunk of file keys, adding them to `index`; returns how many this
        call built (the others were built meanwhile by another process)."""
        built = 0
        columns = (TextColumn("features"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        training = self.frontend.training
        self.frontend.eval()
        try:
            with Progress(*columns) as progress:
                task = progress.add_task("features", total=sum(map(len, chunks)))
                for chunk in chunks:
                    name = digest("\n".join(chunk), 16)
                    built += self._build(name, chunk, [paths[key] for key in chunk])
                    progress.advance(task, len(chunk))
                    index.update({key: (name, row) for row, key in enumerate(chunk)})
        finally:
            self.frontend.train(training)
        return built

    def _index(self) -> dict[str, tuple[str, int]]:
        """File key -> (shard name, row) for every complete shard in the folder."""
        index = {}
        for path in self.folder.glob("*.keys"):
            keys = json.loads(path.read_text())
            index.update({key: (path.stem, row) for row, key in enumerate(keys)})
        return index

    def _build(self, name: str, keys: list[str], paths: list[Path]) -> bool:
        """Write shard `name` (file `keys`, audio `paths`) unless there; True if this call did."""

        def write(keys_file: Path) -> None:
            with torch.inference_mode():
                feats = [self._features(path) for path in paths]
                offsets = torch.tensor([0] + [len(f) for f in feats]).cumsum(0)
                shard = {"feats": torch.cat(feats).half(), "offsets": offsets}
            if not torch.isfinite(shard["feats"]).all():
                raise ValueError(f"non-finite features (float16 keeps |x| <= 65504) in {paths}")
            write_atomically(self.folder / f"{name}.pt", lambda tmp: torch.save(shard, tmp))
            keys_file.write_text(json.dumps(keys))

        return write_once(self.folder / f"{name}.keys", write)

    def _features(self, path: Path) -> Tensor:
        """The frontend's (T, F) features of one audio file (call in eval and inference mode)."""
        wave = read_audio(path, self.sample_rate)
        feats, lengths = self.frontend(wave[None], torch.tensor([len(wave)]))
        return feats[0, : lengths[0]]


class CachedFeatureDataset(Dataset[Example]):
    """Like SpeechDataset, but the `wave` field of each Example holds the cached features (T, F)
    float32 instead of the waveform (S,); tokens, text and id are as in SpeechDataset."""

    def __init__(
        self, utterances: list[Utterance], tokenizer: Tokenizer, cache: CachedFeatures
    ) -> None:
        if len(cache) != len(utterances):
            raise ValueError(f"{len(cache)} cached features for {len(utterances)} utterances")
        self.utterances = utterances
        self.tokenizer = tokenizer
        self.cache = cache

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, index: int) -> Example:
        return make_example(self.utterances[index], self.tokenizer, self.cache[index])
