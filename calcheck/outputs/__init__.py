"""Views of a result, as text: findings as text, JSON, GitHub annotations, SARIF, JUnit and Markdown (``reporters``,
``ci``, ``formats``), the ELP report (``report``) and its share per department or cost centre (``bygroup``), the
auditor's CSV/XLSX bundle (``export``), and the rendering of a diff and of the change log (``diffview``,
``historyview``). Pure functions: the CLI writes.

May import ``calcheck.licensing``, ``calcheck.git``, ``calcheck.estate`` and ``calcheck.core``; never
``calcheck.edits`` or ``calcheck.site``.
"""
