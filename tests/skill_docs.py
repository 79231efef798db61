"""Read the agent skill's documents as data: front matter, fenced blocks, commands, examples, expected outputs.

The skill tests share this so that what they check is exactly what the documents say.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SKILL_DIR = REPO / "skill"
SKILL_MD = SKILL_DIR / "SKILL.md"
EXAMPLES_MD = SKILL_DIR / "EXAMPLES.md"

_FENCE = re.compile(r"^```(.*)$")
_EXAMPLE_HEADING = re.compile(r"^## Example (\d+): (.+)$")
_EXIT = re.compile(r"^\[exit (\d+)\]$")
# A command ends at a shell separator; `;`, `&&`, `||`, `|` and a trailing `&` split a line into commands.
_SEPARATORS = re.compile(r"\s*(?:;|&&|\|\||\||&\s*$)\s*")


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    first_line: int  # 1-based line of the opening fence
    last_line: int  # 1-based line of the closing fence


@dataclass(frozen=True)
class Step:
    commands: tuple[str, ...]
    expected: tuple[str, ...]  # output lines, `...` a wildcard
    exit_code: int
    line: int


@dataclass(frozen=True)
class Example:
    number: int
    title: str
    first_line: int  # the heading
    last_line: int  # the last non-blank line before the next heading of its level
    steps: tuple[Step, ...]


def split_front_matter(text: str) -> tuple[dict, str]:
    """The YAML front matter as a dict, and the body after it."""
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.S)
    if not match:
        raise ValueError("no YAML front matter; expected the file to start with ---")
    return yaml.safe_load(match.group(1)), match.group(2)


def blocks(text: str) -> list[Block]:
    """Every fenced code block, with its language and line numbers."""
    found, lang, start, body = [], None, 0, []
    for number, line in enumerate(text.splitlines(), start=1):
        fence = _FENCE.match(line)
        if fence and lang is None:
            lang, start, body = fence.group(1).strip(), number, []
        elif fence and lang is not None:
            found.append(Block(lang, "\n".join(body), start, number))
            lang = None
        elif lang is not None:
            body.append(line)
    return found


def command_lines(text: str) -> list[str]:
    """Shell commands in a block: continuation lines joined, comments and blanks dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    lines = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def harness_invocations(text: str, program: str = "backfill-harness") -> list[list[str]]:
    """Each ``backfill-harness ...`` (or ``pytest ...``) call in text, as argv after the program name."""
    calls = []
    for line in command_lines(text):
        for part in _SEPARATORS.split(line):
            words = _words(part)
            while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
                words = words[1:]  # VAR=value prefixes
            if words and words[0] == program:
                calls.append(words[1:])
    return calls


def inline_code(text: str) -> list[str]:
    """Single-backtick spans (commands quoted in prose)."""
    return re.findall(r"(?<!`)`([^`\n]+)`(?!`)", text)


def all_invocations(path: Path, program: str = "backfill-harness") -> list[list[str]]:
    """Every call of ``program`` in path's code blocks and inline code."""
    text = path.read_text(encoding="utf-8")
    calls = []
    for block in blocks(text):
        calls += harness_invocations(block.text, program)
    outside = _without_blocks(text)
    for span in inline_code(outside):
        if span.startswith(f"{program} ") and "..." not in span:
            calls += harness_invocations(span, program)
    return calls


def examples(text: str) -> list[Example]:
    """The ``## Example N: title`` sections with their steps (a bash block and the text block after it)."""
    lines = text.splitlines()
    headings = [(i + 1, m) for i, line in enumerate(lines) if (m := _EXAMPLE_HEADING.match(line))]
    ends = [number - 1 for number, _ in headings[1:]]
    ends.append(_next_heading(lines, headings[-1][0]) if headings else 0)
    found = []
    all_blocks = blocks(text)
    for (first, match), end in zip(headings, ends):
        last = end
        while last > first and not lines[last - 1].strip():
            last -= 1
        inside = [b for b in all_blocks if first < b.first_line <= last]
        found.append(Example(int(match.group(1)), match.group(2).strip(), first, last, _steps(inside, lines)))
    return found


def _next_heading(lines: list[str], after: int) -> int:
    for number in range(after + 1, len(lines) + 1):
        if re.match(r"^#{1,2} ", lines[number - 1]):
            return number - 1
    return len(lines)


def _steps(inside: list[Block], lines: list[str]) -> tuple[Step, ...]:
    steps = []
    for index, block in enumerate(inside):
        if block.lang != "bash":
            continue
        expected: tuple[str, ...] = ()
        exit_code = 0
        following = inside[index + 1] if index + 1 < len(inside) else None
        between = lines[block.last_line:following.first_line - 1] if following else []
        if following and following.lang == "text" and not any(line.strip() for line in between):
            outputs = [line for line in following.text.splitlines() if line.strip()]
            codes = [int(m.group(1)) for line in outputs if (m := _EXIT.match(line.strip()))]
            exit_code = codes[-1] if codes else 0
            expected = tuple(line for line in outputs if not _EXIT.match(line.strip()))
        steps.append(Step(tuple(command_lines(block.text)), expected, exit_code, block.first_line))
    return tuple(steps)


def matches(expected: str, output: str) -> bool:
    """True when some line of output matches the expected line (`...` is any text; runs of spaces are one)."""
    parts = [re.escape(_squash(part)) for part in expected.split("...")]
    pattern = re.compile(".*".join(parts))
    return any(pattern.search(_squash(line)) for line in output.splitlines())


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip())


def _words(part: str) -> list[str]:
    try:
        return shlex.split(part, comments=True)
    except ValueError:
        return part.split()


def _without_blocks(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
