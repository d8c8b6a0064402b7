"""What the pages show about a chapter's run: its provenance table, and every chapter's wall time."""

from __future__ import annotations

import html
from pathlib import Path

from ksc.runtime.results import chapter_results, read_results


def provenance_table(record: dict) -> str:
    """HTML: what ran a chapter and for how long, from its results record."""
    prov = record["provenance"]
    rows = [
        ("wall time", f"{prov['wall_seconds']:.1f} s"),
        ("device", prov["device"]),
        ("Keras", f"{prov['keras_version']}, {prov['keras_backend']} backend {prov.get('backend_version') or ''}"),
        ("ksc, Python", f"{prov['ksc_version']}, {prov['python']}"),
        ("platform", prov["platform"]),
        ("seeds", ", ".join(map(str, prov["seeds"])) or "none"),
        ("finished (UTC)", prov["finished_at"]),
        ("results file", f"{record['chapter']}.json: the parameters, every metric row and the claims"),
    ]
    body = "".join(f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>" for name, value in rows)
    return f'<p><strong>How this page was computed.</strong></p><table class="ksc-provenance">{body}</table>'


def show_provenance(chapter):
    """Displays the provenance a chapter has just written into its results file (``chapter``: a ``Chapter``)."""
    from IPython.display import HTML, display

    display(HTML(provenance_table(read_results(chapter.results_file))))


def chapter_times(results_dir: Path, stems) -> str:
    """A MyST table of each chapter's measured wall time and machine, read from its results file."""
    rows, total = [], 0.0
    for stem in stems:
        record = chapter_results(results_dir, stem, missing_ok=True)
        if record is None:
            continue
        prov = record["provenance"]
        total += prov["wall_seconds"]
        finished = prov["finished_at"][:16].replace("T", " ")
        rows.append(
            f"| {{doc}}`{stem} <../notebooks/{stem}>` | {prov['wall_seconds']:.1f} | {prov['device']} | "
            f"{prov['keras_backend']} {prov.get('backend_version') or ''} | {finished} |"
        )
    head = ["| chapter | wall time (s) | device | Keras backend | finished (UTC) |", "|---|--:|---|---|---|"]
    return "\n".join(head + rows + [f"| **all chapters** | **{total:.1f}** | | | |"]) + "\n"
