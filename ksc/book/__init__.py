"""The machinery around the chapters: nothing in it computes a result of the book.

- ``build``: execute the chapters with papermill and render the website with Jupyter Book 1;
- ``runs``: ``ksc run`` and ``ksc sweep``, a chapter re-run into a new folder of ``runs/``;
- ``cli``: the ``ksc`` command;
- ``progress``: one line per cell while a chapter runs;
- ``chapter``: ``start()``, every chapter's first call: checks its parameters, starts its clock, writes its results;
- ``cells``: the setup (Colab) and provenance cells every chapter shares, and the parameter comments;
- ``display``: the provenance table and the chapter-times table the pages show;
- ``browser``: every page of the built website opened in headless Chromium;
- ``sphinx_fix``: a Sphinx extension that removes scripts Jupyter Book writes twice.

The science modules in ``ksc`` never import this package.
"""
