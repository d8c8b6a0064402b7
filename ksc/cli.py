"""The ``ksc`` command: ``ksc build`` executes every chapter and renders the website."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import book
from .params import ParameterError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="ksc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="execute every chapter at paper scale and render _build/html")
    build.add_argument("-f", "--parameters", help="YAML file: {chapter: {name: value}, all: {name: value}}")
    build.add_argument("--out", help="build in this folder instead of in place (the book's own results are untouched)")
    build.add_argument("--only", nargs="+", help="chapter stems to execute (default: all)")
    args = parser.parse_args(argv)
    try:
        book.build(out=Path(args.out) if args.out else None, parameter_file=args.parameters, only=args.only)
    except (book.ChapterFailed, ParameterError, RuntimeError) as error:
        print(f"ksc build failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
