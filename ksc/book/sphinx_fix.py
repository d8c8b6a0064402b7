"""A Sphinx extension for the book's website (listed in ``_config.yml``, ``sphinx: extra_extensions``).

Figures are numbered per chapter: Sphinx numbers them through the whole book (Fig. 1 ... Fig. 40);
we renumber each chapter's figures ``<chapter>.<n>`` in page order, the chapter being the two digits
its notebook's name starts with (Fig. 3.2 is the second figure of ``03_fair_baselines``). Other pages
number their figures from 1. Cross-references read the same numbers.

Jupyter Book 1.0.4 with Sphinx 7.4 writes the inline scripts of sphinx-thebe and sphinx-togglebutton
twice into every page (once registered with a file name of ``None``, once with ``""``); the second
``const THEBE_JS_URL`` is a JavaScript error in every reader's console. We keep the first copy.
"""


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def chapter_number(docname: str) -> tuple[int, ...]:
    """(3,) for ``notebooks/03_fair_baselines``; () for a page whose name does not start with two digits."""
    name = docname.rsplit("/", 1)[-1]
    return (int(name[:2]),) if name[:2].isdigit() and name[2:3] == "_" else ()


def _number_figures_per_chapter(app, env) -> list[str]:
    for docname, by_type in env.toc_fignumbers.items():
        for numbers in by_type.values():
            for position, figure_id in enumerate(sorted(numbers, key=numbers.get), 1):
                numbers[figure_id] = (*chapter_number(docname), position)
    return list(env.toc_fignumbers)


def setup(app):
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    # after Sphinx's own numbering (its toctree collector runs at the default priority, 500)
    app.connect("env-get-updated", _number_figures_per_chapter, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
