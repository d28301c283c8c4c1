"""The licensing computation: the catalogue's rules about who reaches what and which CALs that requires (``access``),
which assignment covers each need (``coverage``; Online Services and CAL Suite Bridges in ``subscriptions``), the
Effective License Position (``elp``), per-subject explanations (``explain``), the rules (``rules/``), the engine
that runs them with the estate's configuration and waivers, and the comparison of two results (``diff``).

May import ``calcheck.estate`` and ``calcheck.core``; knows nothing of git (transfers arrive as records).
"""
