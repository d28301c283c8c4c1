"""The compliance site: pure page generation (``pages``, ``markup``, ``charts``, ``bygroup``) and the one place that
writes its files and runs MkDocs (``build``).

May import ``calcheck.outputs``, ``calcheck.licensing``, ``calcheck.git``, ``calcheck.estate`` and
``calcheck.core``; never ``calcheck.edits`` or ``calcheck.cli``.
"""
