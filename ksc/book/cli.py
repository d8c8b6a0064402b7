"""The ``ksc`` command: build the book, check it in a browser, list the chapters' parameters, re-run or sweep one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ksc.book import parameters
from ksc.book.parameters import ParameterError

try:
    from ksc.book import build as book
    from ksc.book import runs
    from ksc.book.execute import ChapterFailed, ChapterInterrupted
    from ksc.book.notebooks import ROOT, chapter_title, chapters, load_parameter_file, notebook_parameters
except ImportError as error:  # the core install (as on Colab) has the science but not the book machinery
    book = runs = None
    ChapterFailed = ChapterInterrupted = RuntimeError
    MISSING = f"the ksc command needs the book extra (pip install 'ksc[book]'): {error}"


def _parameter_options(parser, values_help: str):
    parser.add_argument("chapter", help="chapter stem, number or name: 01_evolution, 01 or evolution")
    parser.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"), help=values_help
    )
    parser.add_argument("-f", "--parameters", help="YAML file: {name: value}, or the book's {chapter: {name: value}}")
    parser.add_argument("--runs", default="runs", help="folder that receives the run folders (default: runs)")


def _cluster_options(parser, what: str):
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help=f"run the {what} side by side on a Dask LocalCluster of N worker processes (default 1: one after another)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=f"run the {what} on the existing Dask cluster whose scheduler is at ADDRESS (tcp://host:8786)",
    )


def _parser():
    parser = argparse.ArgumentParser(prog="ksc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="execute every chapter at paper scale and render _build/html")
    build.add_argument("-f", "--parameters", help="YAML file: {chapter: {name: value}, all: {name: value}}")
    build.add_argument("--out", help="build in this folder instead of in place (the book's own results are untouched)")
    build.add_argument("--only", nargs="+", help="chapter stems to execute (default: all)")
    _cluster_options(build, "chapters (then the ledger and the Performance page, one at a time)")
    listing = sub.add_parser("list", help="the chapters and their parameters, with defaults and meanings")
    listing.add_argument("chapter", nargs="?", help="only this chapter")
    run = sub.add_parser("run", help="execute one chapter into a new folder runs/<chapter>-<time>-<hash>/")
    _parameter_options(run, "set a parameter; VALUE is read as YAML: 16, 0.5, true, [2, 4], abs")
    sweep = sub.add_parser("sweep", help="run a chapter for every combination of values, plus one metrics table")
    _parameter_options(sweep, "comma-separated values to sweep, e.g. -p k 4,8,16 (a single value is fixed)")
    _cluster_options(sweep, "points")
    check = sub.add_parser(
        "check", help="open every page of the built website in headless Chromium and report breakage"
    )
    check.add_argument("html", nargs="?", default="_build/html", help="the website's folder (default: _build/html)")
    check.add_argument("--screenshots", help="where the page screenshots go (default: screenshots/ beside the website)")
    return parser


def check_site(html: Path, screenshots: Path | None) -> int:
    """Prints each page's problems; the number of broken pages."""
    from ksc.book import browser

    report = browser.check_site(html, screenshots or html.parent / "screenshots", toc=ROOT / "_toc.yml")
    for page, problems in report.items():
        print(f"{page}: {'ok' if not problems else '; '.join(problems)}")
    return sum(bool(problems) for problems in report.values())


def list_chapters(only=None) -> str:
    """The chapters (or one) with every parameter: name, default, meaning and what is allowed
    (ksc/book/parameters.py)."""
    notebooks = [runs.find_chapter(only)] if only else chapters()
    lines = []
    for notebook in notebooks:
        lines.append(f"{notebook.stem}  {chapter_title(notebook)}")
        declared = notebook_parameters(notebook)
        settings = {name: f"{name} = {info['default']}" for name, info in declared.items()}
        width = max(map(len, settings.values()), default=0)
        for name in declared:
            rule = parameters.rule(name, notebook.stem)
            allowed = "set by ksc run, sweep and build; only plain papermill takes it" if name == "results_dir" else ""
            lines.append(f"    {settings[name]:<{width}}  {rule.meaning} [{allowed or rule.allowed()}]")
    lines.append(
        "Sizes are also bounded together: a run whose arrays would need more than half of this machine's memory "
        "is refused (ksc/book/footprint.py)."
    )
    return "\n".join(lines)


def _file_parameters(path) -> dict:
    return load_parameter_file(path) if path else {}


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if book is None:
        print(f"ksc {args.command} failed: {MISSING}", file=sys.stderr)
        return 1
    try:
        if args.command == "build":
            book.build(
                out=Path(args.out) if args.out else None,
                parameter_file=args.parameters,
                only=args.only,
                workers=args.workers,
                scheduler=args.scheduler,
            )
        elif args.command == "check":
            broken = check_site(Path(args.html), Path(args.screenshots) if args.screenshots else None)
            if broken:
                raise RuntimeError(f"{broken} page(s) with problems")
        elif args.command == "list":
            print(list_chapters(args.chapter))
        elif args.command == "run":
            notebook = runs.find_chapter(args.chapter)
            cli = {name: runs.parse_value(value) for name, value in args.parameter}
            parameters = runs.chapter_parameters(notebook, _file_parameters(args.parameters), cli)
            folder = runs.run(notebook, parameters, Path(args.runs))
            print(f"run finished: {folder}")
        elif args.command == "sweep":
            notebook = runs.find_chapter(args.chapter)
            grid = {name: [runs.parse_value(v) for v in runs.split_values(values)] for name, values in args.parameter}
            fixed = runs.chapter_parameters(
                notebook, _file_parameters(args.parameters), {n: v[0] for n, v in grid.items()}
            )
            fixed = {name: value for name, value in fixed.items() if name not in grid}
            done = runs.sweep(notebook, grid, fixed, Path(args.runs), workers=args.workers, scheduler=args.scheduler)
            for line in done.invalid + done.failed:
                print(line, file=sys.stderr)
            print(f"sweep finished: {done.ran} of {done.points} points ran; their metrics: {done.table}")
            if done.ran < done.points:
                return 1
    except ChapterInterrupted as error:
        print(f"ksc {args.command} interrupted: {error}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # between chapters, or before the first one started
        print(f"ksc {args.command} interrupted before a chapter started; nothing was written", file=sys.stderr)
        return 130
    except (ChapterFailed, ParameterError, RuntimeError) as error:
        print(f"ksc {args.command} failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
