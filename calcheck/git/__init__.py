"""The one door to git (``repo``: the only module that runs git), the estate's change log in licensing
terms (``history``) and the transfers the 90-day rule needs (``timeline``).

May import ``calcheck.estate`` and ``calcheck.core``; knows nothing of the licensing computation.
"""
