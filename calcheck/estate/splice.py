"""An estate read again after a few files changed: the unchanged files' records are kept, the changed files' read.

``load_estate`` builds an estate by reading every file in order and appending each file's records; an estate whose
files differ only in a few, each read cleanly before and after (no unreadable, unparsable or schema-invalid
record, no configuration), is the old estate with those files' records replaced in file order. Anything else
(a file with a finding, the configuration, a file added or removed besides those named) is not spliced: the caller
reads every file again.
"""

from __future__ import annotations

from calcheck.estate import build
from calcheck.estate.cache import FileCache, reads_cleanly
from calcheck.estate.loading import load_all, load_checked
from calcheck.estate.model import Estate
from calcheck.estate.sources import EstateSource

COLLECTIONS = ("products", "cals", "holdings", "people", "devices", "deployments", "assignments", "audits", "waivers")


def replaced_files(
    estate: Estate,
    files: tuple[str, ...],
    before: EstateSource,
    after: EstateSource,
    changed: list[str],
    cache: FileCache | None = None,
) -> tuple[Estate, list[str]] | None:
    """``estate`` (read from ``files`` of ``before``) as ``after`` reads, where only ``changed`` differ (added,
    edited or removed); with the files ``after`` has, in order. None when splicing would not give exactly what
    reading ``after`` gives."""
    now = after.yaml_files()
    present = set(now)
    removed = {relative for relative in changed if relative not in present}
    if (
        after.links()
        or present != (set(files) | set(changed)) - removed
        or len(set(changed)) != len(changed)
        or any(before.display(relative) != after.display(relative) for relative in files)
    ):
        return None
    scratch = Estate(after.label)
    if not all(_read_cleanly(before, relative, cache) for relative in changed if relative in files):
        return None
    for loaded, checked in load_all(after, [relative for relative in changed if relative not in removed], cache):
        if not reads_cleanly(loaded, checked):
            return None
        for doc, (kind, _) in zip(loaded.documents, checked, strict=True):
            assert kind is not None
            build.add_document(scratch, loaded.path, kind, doc, after.inspect)
    order = {after.display(relative): i for i, relative in enumerate(now)}
    replaced = {after.display(relative) for relative in changed}
    if not _same_proofs(estate, replaced, after):
        return None
    spliced = Estate(
        after.label,
        estate.config,
        list(estate.configs),
        invalid_ids={kind: set(ids) for kind, ids in estate.invalid_ids.items()},
    )
    for name in COLLECTIONS:
        records, added = getattr(estate, name), getattr(scratch, name)
        kept = [r for r in records if r.source.path not in replaced]
        if added:  # in file order, as reading every file appends them (the sort is stable; built-ins first)
            kept = sorted(kept + added, key=lambda r: order.get(r.source.path, -1))
        setattr(spliced, name, kept)
    return spliced, now


def changed_between(before: EstateSource, after: EstateSource) -> list[str]:
    """The YAML files whose content differs between two sources (or that one lacks, or cannot read): what
    ``replaced_files`` is given to turn the estate ``before`` holds into the one ``after`` holds."""
    files = sorted(set(before.yaml_files()) | set(after.yaml_files()))
    changed = []
    for relative in files:
        ours = before.blob_id(relative)
        if ours is None or ours != after.blob_id(relative):
            changed.append(relative)
    return changed


def _same_proofs(estate: Estate, replaced: set[str], after: EstateSource) -> bool:
    """Whether every proof-of-purchase file the kept holdings name is as ``after`` has it (present, and with the
    same content): a holding records what it found when its file was read."""
    return all(
        after.inspect(proof.file) == (proof.file_state, proof.actual_sha256)
        for holding in estate.holdings
        if holding.source.path not in replaced
        for proof in holding.proofs
        if proof.file is not None
    )


def _read_cleanly(source: EstateSource, relative: str, cache: FileCache | None) -> bool:
    """Whether a file reads cleanly, from ``cache`` when it knows (an edit's memo keeps that of a file's version
    before the edit, without the version itself), else by reading it."""
    if cache is not None:
        try:
            raw = source.read(relative)
        except OSError:
            return False  # unreadable: a finding
        known = cache.clean(cache.key(source.display(relative), relative, raw))
        if known is not None:
            return known
    return reads_cleanly(*load_checked(source, relative, cache))
