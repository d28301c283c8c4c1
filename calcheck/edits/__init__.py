"""Commands' logic that changes the estate's files: text-level YAML edits that keep comments (``yamledit``),
assign/unassign/transfer/audit (``operations``), directory imports (``importing``, reading exports through
``csvinput``), Online Services assignments from tenant exports (``subscriptions``), usage reconciliation
(``reconcile``) and the repository scaffold (``init``).

May import ``calcheck.licensing``, ``calcheck.git``, ``calcheck.estate`` and ``calcheck.core``; never
``calcheck.outputs`` or ``calcheck.site``.
"""
