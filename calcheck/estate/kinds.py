"""The kinds of document an estate holds, and the key of each kind's list of records."""

from __future__ import annotations

KINDS = (
    "config",
    "catalogue",
    "holdings",
    "people",
    "devices",
    "deployments",
    "assignments",
    "audits",
    "waivers",
)
RECORD_KEYS = {
    "holdings": "holdings",
    "people": "people",
    "devices": "devices",
    "deployments": "deployments",
    "assignments": "assignments",
    "audits": "audits",
    "waivers": "waivers",
}
