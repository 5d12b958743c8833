"""asrlab-transcribe's output formats: a JSON object per file, or `path<TAB>text` lines."""

import json
from collections.abc import Callable

from asrlab.tools.inference.transcriber import Transcript

# Times are written to the millisecond.
DECIMALS = 3


def jsonl_line(transcript: Transcript) -> str:
    """path, duration (s), sample_rate (the file's), text and words [{word, start, end}] (s;
    null when the text could not be aligned)."""
    words = transcript.words
    entry = {
        "path": str(transcript.path),
        "duration": round(transcript.duration, DECIMALS),
        "sample_rate": transcript.sample_rate,
        "text": transcript.text,
        "words": None
        if words is None
        else [
            {"word": w.word, "start": round(w.start, DECIMALS), "end": round(w.end, DECIMALS)}
            for w in words
        ],
    }
    return json.dumps(entry, ensure_ascii=False)


def text_line(transcript: Transcript) -> str:
    return f"{transcript.path}\t{transcript.text}"


FORMATS: dict[str, Callable[[Transcript], str]] = {"jsonl": jsonl_line, "text": text_line}
