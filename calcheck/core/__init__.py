"""The shared vocabulary every layer may use: findings, errors, safe text, progress, atomic writes.

Nothing here knows what a CAL, an estate file or git is; it imports nothing from calcheck.
"""
