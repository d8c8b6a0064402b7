"""Hand-made results files for the unit tests, complete against their declarations."""

import numpy as np
import pandas as pd

from ksc.runtime import declarations
from ksc.runtime.results import write_results


def write_declared(results_dir, chapter: str, parameters: dict, metrics, claims=None, tables=None, **kwargs):
    """``write_results`` for a hand-made results file that holds only what a test is about: every table and column its
    declaration (``ksc/runtime/tables.csv``) asks for and the test leaves out is added, empty (NaN), with one row for
    each declared label the test's frames lack, so the file passes the check that real chapters' files must pass."""
    tables = {name: pd.DataFrame(rows) for name, rows in (tables or {}).items()}
    tables["metrics"] = pd.DataFrame(metrics)
    for declaration in declarations.of_chapter(chapter):
        frame = tables.get(declaration.table, pd.DataFrame())
        extra = []
        for column, values in declaration.labels:
            present = set(frame[column].astype(str)) if column in frame else set()
            extra += [{column: v} for v in declarations._expanded(values, parameters) if v not in present]
        frame = pd.concat([frame, pd.DataFrame(extra)], ignore_index=True) if extra else frame
        for column in declaration.columns:
            if column not in frame:
                frame[column] = np.nan
        if frame.empty and declaration.columns:
            frame = pd.DataFrame([{column: np.nan for column in declaration.columns}])
        tables[declaration.table] = frame
    metrics = tables.pop("metrics")
    return write_results(results_dir, chapter, parameters, metrics, claims=claims, tables=tables, **kwargs)
