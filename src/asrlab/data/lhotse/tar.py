"""Tar files as Lhotse's Shar writer makes them, read member by member without `tarfile`.

A tar is a sequence of 512-byte headers (name, octal size, type), each followed by its data
padded to 512 bytes, and two zero blocks at the end. `tarfile` parses every field of every
header, which costs more than decoding the audio of a short cut; here only the name and the size
are read (and a PAX header's `path` and `size`, written for names over 100 bytes)."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

BLOCK = 512
READ_BUFFER = 1 << 20
"""Bytes a shard is read by, at a time."""
REGULAR = (b"0", b"\0")
"""Type flags of a regular file."""


class TarError(ValueError):
    """A tar file cut short or not a tar."""


def members(path: str | Path, data: bool = True) -> Iterator[tuple[str, bytes]]:
    """Each regular member of the tar `path`: its name and bytes (`data=False`: no bytes read,
    the data skipped over). Raises TarError naming the file when it ends early."""
    with open(path, "rb", buffering=READ_BUFFER) as f:
        end = os.fstat(f.fileno()).st_size
        pax: dict[str, str] = {}
        while header := _read(f, BLOCK, path):
            if header == bytes(BLOCK):
                return
            kind = header[156:157]
            size = int(pax.pop("size", None) or _octal(header[124:136], path))
            name = pax.pop("path", None) or _name(header)
            padded = -(-size // BLOCK) * BLOCK
            if kind == b"x":
                pax = _pax(_read(f, padded, path)[:size])
            elif data and kind in REGULAR:
                yield name, _read(f, padded, path)[:size]
            else:
                if f.seek(padded, 1) > end:
                    raise TarError(f"{path} ends inside member {name}")
                if kind in REGULAR:
                    yield name, b""
    raise TarError(f"{path} ends without its end-of-archive blocks")


def _read(f: BinaryIO, size: int, path: str | Path) -> bytes:
    block = f.read(size)
    if len(block) < size and (block or size != BLOCK):
        raise TarError(f"{path} ends inside a member ({len(block)} of {size} bytes)")
    return block


def _octal(field: bytes, path: str | Path) -> int:
    try:
        return int(field.strip(b"\0 ") or b"0", 8)
    except ValueError:
        raise TarError(f"{path}: not a tar (header size field {field!r})") from None


def _name(header: bytes) -> str:
    name = header[:100].split(b"\0", 1)[0].decode()
    if header[257:262] == b"ustar" and (prefix := header[345:500].split(b"\0", 1)[0]):
        return f"{prefix.decode()}/{name}"
    return name


def _pax(records: bytes) -> dict[str, str]:
    """A PAX extended header's `length key=value\\n` records."""
    fields, at = {}, 0
    while at < len(records):
        length, _, rest = records[at:].partition(b" ")
        key, _, value = rest[: int(length) - len(length) - 1].rstrip(b"\n").partition(b"=")
        fields[key.decode()] = value.decode()
        at += int(length)
    return fields
