"""A Sphinx extension for the book's website (listed in ``_config.yml``, ``sphinx: extra_extensions``).

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


def setup(app):
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
