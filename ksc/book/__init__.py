"""The machinery around the chapters, the top layer: nothing in it computes a result of the book.

From the bottom up (each imports only those before it):

- ``footprint``, ``parameters``: every notebook parameter, declared once, checked with the memory its arrays need;
- ``notebooks``: the chapters' notebooks as files (titles, declared parameters, defaults, parameter files);
- ``progress``: one line per cell while a chapter runs; ``execute``: one chapter executed with papermill;
- ``chapter``: ``start()``, every chapter's first call: checks its parameters, starts its clock, writes its results;
- ``display``: the provenance table and the chapter-times table the pages show;
- ``tasks``: one execution as a task a Dask worker runs; ``cluster``: tasks on a Dask cluster;
- ``runs``: ``ksc run`` and ``ksc sweep``, a chapter re-run into a new folder of ``runs/``;
- ``build``: the whole book: every chapter, then the website with Jupyter Book 1;
- ``sweep_speed``: a sweep timed on one and on several workers (the Performance page);
- ``cells``: the setup (Colab) and provenance cells every chapter shares, and the parameter comments;
- ``browser``: every page of the built website opened in headless Chromium; ``sphinx_fix``: a Sphinx extension
  that removes scripts Jupyter Book writes twice;
- ``cli``: the ``ksc`` command.
"""
