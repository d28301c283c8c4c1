"""Where the estate's files come from and what they mean: sources (a folder or a git tree), YAML with
positions (libyaml and the fast lane), JSON Schemas, the kinds of document, the model records built from them,
and the plain transfer records the 90-day rule reads.

May import ``calcheck.core`` only.
"""
