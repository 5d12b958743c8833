"""A small ctypes binding (POSIX) to the espeak-ng library and voices of the espeakng_loader wheel.

One process holds one engine (`get_espeak()`), in synchronous mode: `synthesize` returns the
whole waveform. espeak-ng keeps internal state between utterances (static variables such as the
pitch-flutter phase, and libc's `rand()`), so the same text can come out slightly different
depending on what was said before. `restart()` reloads the library for a pristine state; used
together with `seed()`, synthesis is reproducible. To make reloading reliable even when another
component of the process loaded espeak-ng too, the engine runs a private copy of the library.
"""

import _ctypes
import ctypes
import os
import shutil
import tempfile
from pathlib import Path

import espeakng_loader
import numpy as np

from asrlab.storage import digest, file_key, locked, staged_folder

SAMPLE_RATE = 22050
"""The native output rate of espeak-ng."""

# espeak-ng keeps its data path in a 160-byte buffer and builds file names from it; a longer
# path makes it fail to start (or exit the process, without the don't-exit option).
_MAX_DATA_PATH_BYTES = 100

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_DONT_EXIT = 0x8000
_BUFFER_MS = 200
_RATE = 1
_PITCH = 3
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PHONEMES_IPA = 0x02  # espeak_TextToPhonemes' phonememode bit 1
_EE_OK = 0

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class EspeakError(RuntimeError):
    """espeak-ng cannot be loaded or initialised, or a voice does not exist."""


def data_path() -> Path:
    """The espeak-ng data folder shipped in the wheel."""
    return Path(espeakng_loader.get_data_path())


def variants(data: Path | None = None) -> list[str]:
    """Names of the voice variants (timbres such as `m1` or `f3`) in the data folder."""
    folder = (data or data_path()) / "voices" / "!v"
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def _fits(data: Path) -> bool:
    """Whether espeak-ng can use this data path as it is."""
    return str(data).isascii() and len(os.fsencode(data)) <= _MAX_DATA_PATH_BYTES


def _private_copies(library: Path, data: Path) -> tuple[Path, Path]:
    """A private copy of the library, and a data folder whose path espeak-ng can hold.

    Both live in a folder of the temp directory named from the wheel's files, built once (into
    a sibling, then renamed into place) and shared by later processes. The check and the build
    hold a lock: synthesis workers starting together would otherwise each find the folder
    missing, and one's clean-up could delete the folder another had just published and loads.
    """
    key = digest(f"{file_key(library)}:{data}", 12)
    folder = Path(tempfile.gettempdir()) / f"asrlab-espeak-{key}"
    private_data = data if _fits(data) else folder / "espeak-ng-data"
    if not _fits(private_data):
        raise EspeakError(
            f"espeak-ng data path too long or not ASCII even in the temp directory: "
            f"{private_data}; point TMPDIR to a short folder"
        )
    private_library = folder / library.name
    with locked(folder.with_name(f"{folder.name}.lock")):
        if not (private_library.is_file() and private_data.is_dir()):
            shutil.rmtree(folder, ignore_errors=True)  # left incomplete by a temp-folder cleaner
            with staged_folder(folder) as staging:
                shutil.copy(library, staging / library.name)
                if private_data != data:
                    shutil.copytree(data, staging / private_data.name)
    return private_library, private_data


class Espeak:
    """An espeak-ng engine in synchronous mode. Create it through `get_espeak()`."""

    def __init__(self) -> None:
        self._data = data_path()
        self._variants = set(variants(self._data))
        library = Path(espeakng_loader.get_library_path())
        self._library, self._data_arg = _private_copies(library, self._data)
        self._chunks: list[np.ndarray] = []
        self._callback = _SynthCallback(self._collect)
        self._libc = ctypes.CDLL(None)
        self._lib = self._load()

    @property
    def sample_rate(self) -> int:
        """The rate of `synthesize`'s output (22050 Hz)."""
        return SAMPLE_RATE

    def _load(self) -> ctypes.CDLL:
        try:
            lib = ctypes.CDLL(str(self._library))
        except OSError as err:
            raise EspeakError(f"cannot load the espeak-ng library {self._library}: {err}") from err
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None
        lib.espeak_TextToPhonemes.argtypes = [
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
        ]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, os.fsencode(self._data_arg), _DONT_EXIT
        )
        if rate != SAMPLE_RATE:
            raise EspeakError(
                f"espeak-ng failed to initialise with data {self._data_arg} (returned {rate})"
            )
        lib.espeak_SetSynthCallback(self._callback)
        return lib

    def _collect(self, wave: "ctypes._Pointer[ctypes.c_short]", count: int, _: object) -> int:
        if wave and count > 0:
            self._chunks.append(np.ctypeslib.as_array(wave, shape=(count,)).copy())
        return 0

    def restart(self) -> None:
        """Reload the library, so that the next utterance does not depend on earlier ones.

        Voice, rate and pitch go back to their defaults.
        """
        self._lib.espeak_Terminate()
        # ctypes never unloads a library; without dlclose its static state would survive.
        _ctypes.dlclose(self._lib._handle)
        self._lib = self._load()

    def seed(self, seed: int) -> None:
        """Seed the random generators espeak-ng uses (its own one and libc's `rand()`)."""
        seed %= 2**31
        self._lib.espeak_ng_SetRandSeed(seed)
        self._libc.srand(seed)

    def set_voice(self, name: str) -> None:
        """A base voice, optionally with a variant: `en-us`, `en-us+f3`."""
        base, _, variant = name.partition("+")
        if variant and variant not in self._variants:
            raise EspeakError(f"espeak-ng has no voice variant {variant!r} (in {name!r})")
        if self._lib.espeak_SetVoiceByName(name.encode()) != _EE_OK:
            raise EspeakError(f"espeak-ng has no voice {base!r} (in {name!r})")

    def set_rate(self, words_per_minute: int) -> None:
        if not 80 <= words_per_minute <= 450:
            raise ValueError(f"speaking rate must be 80..450 words/min, got {words_per_minute}")
        self._lib.espeak_SetParameter(_RATE, words_per_minute, 0)

    def set_pitch(self, pitch: int) -> None:
        if not 0 <= pitch <= 100:
            raise ValueError(f"pitch must be 0..100, got {pitch}")
        self._lib.espeak_SetParameter(_PITCH, pitch, 0)

    def phonemes(self, text: str) -> str:
        """The IPA phonemes the current voice says for `text` (one clause); a switch to another
        language's rules shows as `(en)`."""
        pointer = ctypes.c_char_p(text.encode())
        phonemes = self._lib.espeak_TextToPhonemes(
            ctypes.byref(pointer), _CHARS_UTF8, _PHONEMES_IPA
        )
        return phonemes.decode() if phonemes else ""

    def synthesize(self, text: str) -> np.ndarray:
        """Speak `text` with the current settings; returns float32 samples in [-1, 1]."""
        self._chunks = []
        encoded = text.encode()
        status = self._lib.espeak_Synth(
            encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        if status != _EE_OK:
            raise EspeakError(f"espeak-ng failed to synthesise {text!r} (status {status})")
        if not self._chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self._chunks).astype(np.float32) / 32768.0


_ENGINE: Espeak | None = None


def get_espeak() -> Espeak:
    """This process's engine, created on first use."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Espeak()
    return _ENGINE
