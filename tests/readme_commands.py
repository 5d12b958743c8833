"""The shell commands in the fenced ```bash blocks of Markdown files, as a user would type them.

A command is one line of a block, with its backslash continuations joined and a trailing
`# comment` removed; blank and comment-only lines are not commands.
"""

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

_FENCE = re.compile(r"^\s*```(\S*)")


class Command(NamedTuple):
    file: Path
    line: int  # 1-based line of the command's first line
    text: str

    def __str__(self) -> str:
        return f"{self.file.name}:{self.line}: {self.text}"


def strip_comment(line: str) -> str:
    """`line` without a trailing shell comment: a `#` that starts a word, outside quotes."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].strip()
    return line.strip()


def commands(files: Iterable[Path]) -> Iterator[Command]:
    """Every command of every ```bash block of `files`, in order."""
    for path in files:
        in_bash, pending, start = None, "", 0
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            fence = _FENCE.match(line)
            if fence:
                in_bash = None if in_bash is not None else fence.group(1) == "bash"
                continue
            if not in_bash:
                continue
            if not pending:
                start = number
            code = strip_comment(line)
            if code.endswith("\\"):
                pending += code[:-1].rstrip() + " "
                continue
            text = (pending + code).strip()
            pending = ""
            if text:
                yield Command(path, start, text)


def markdown_files(root: Path) -> list[Path]:
    """The README and the pages under docs/ of the repository at `root`."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]
