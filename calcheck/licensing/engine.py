"""The check pipeline: discover files, load, validate, build the estate, run the rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from calcheck.core.findings import Finding, Severity, sort_findings
from calcheck.estate.cache import FileCache
from calcheck.estate.loading import load_estate
from calcheck.estate.model import Estate
from calcheck.estate.schema import copies_beside, outdated_copies
from calcheck.estate.sources import EstateSource, WorkTree, display_path
from calcheck.estate.splice import replaced_files
from calcheck.estate.transfers import Timeline
from calcheck.estate.yamlload import gc_paused, locate_key
from calcheck.licensing.rules import REGISTRY, Context


@dataclass(slots=True)
class CheckResult:
    estate: Estate
    context: Context
    findings: list[Finding] = field(default_factory=list)
    waived: list[Finding] = field(default_factory=list)
    files: int = 0
    # Every finding before the estate's own rule settings and waivers: what another revision's policy would judge.
    unfiltered: list[Finding] = field(default_factory=list)
    # What reading the files found (the unreadable, unparsable or schema-invalid; not the outdated schema copies
    # beside a work tree), and the files read in order, as given to ``recheck``.
    read: tuple[list[Finding], tuple[str, ...]] | None = None


def run_rules(estate: Estate, ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    for rule in REGISTRY.values():
        if rule.check is None:
            continue
        findings.extend(
            Finding(rule.id, rule.severity, p.path, p.line, p.column, p.message, p.hint, p.records)
            for p in rule.check(estate, ctx)
        )
    return findings


def apply_config(estate: Estate, findings: list[Finding]) -> list[Finding]:
    """Drop disabled rules and apply severity overrides from the estate's config."""
    config = estate.config
    if config is None:
        return findings
    result = _rule_settings(estate)
    for finding in findings:
        if REGISTRY[finding.rule].stage == "files":
            result.append(finding)  # a broken file is always an error, whatever the settings say
            continue
        if finding.rule in config.disabled:
            continue
        override = config.severity.get(finding.rule)
        if override is not None:
            finding = finding.replace(severity=Severity.parse(override))
        result.append(finding)
    return result


def apply_waivers(estate: Estate, findings: list[Finding], as_of: dt.date) -> tuple[list[Finding], list[Finding]]:
    """Split findings into (reported, waived); only waivers in force on ``as_of`` silence anything."""
    active = [w for w in estate.index("waivers").values() if w.expires >= as_of]
    if not active:
        return findings, []
    reported: list[Finding] = []
    waived: list[Finding] = []
    for finding in findings:
        silenced = _waivable(finding) and any(
            w.rule == finding.rule and (not w.records or set(w.records) & set(finding.records)) for w in active
        )
        (waived if silenced else reported).append(finding)
    return reported, waived


def _waivable(finding: Finding) -> bool:
    """File rules, and the configuration's own findings (such as a refused rule setting), cannot be waived."""
    return REGISTRY[finding.rule].stage != "files" and finding.rule != "config"


def _rule_settings(estate: Estate) -> list[Finding]:
    """Findings about ``rules.severity`` and ``rules.disabled``: unknown rules, and file rules (never changed)."""
    config = estate.config
    assert config is not None
    named = [(rule_id, locate_key(config.source.pos, ("rules", "severity"), rule_id)) for rule_id in config.severity]
    named += [(rule_id, config.source.at("rules", "disabled", i)) for i, rule_id in enumerate(config.disabled)]
    found: list[Finding] = []
    for rule_id, where in sorted(named, key=lambda item: item[1]):
        rule = REGISTRY.get(rule_id)
        if rule is None:
            message, hint = f"rule settings name an unknown rule {rule_id!r}", "run 'calcheck rules' for the rule ids"
            found.append(Finding("config", Severity.WARNING, config.source.path, *where, message, hint))
        elif rule.stage == "files":
            message = f"rule settings would change the file rule {rule_id!r}; file rules are always errors"
            hint = "remove the setting: a file that cannot be read, or does not match its schema, is never a pass"
            found.append(Finding("config", Severity.ERROR, config.source.path, *where, message, hint))
    return found


def check(
    source: EstateSource | Path,
    as_of: dt.date,
    timeline: Timeline | Callable[[], Timeline] | None = None,
    cache: FileCache | None = None,
) -> CheckResult:
    """Run the whole check on an estate (a folder, or any other source of its files).

    With ``cache``, files whose loaded and validated result it holds are not parsed again (same result).
    """
    if isinstance(source, Path):
        source = WorkTree(source)
    with gc_paused(freeze=True):  # millions of acyclic objects: the cyclic GC would only slow things down
        estate, findings, files = load_estate(source, cache)
        read = (list(findings), tuple(source.yaml_files()))
        return _judge(estate, findings + _beside(source), files, as_of, timeline, read)


def _beside(source: EstateSource) -> list[Finding]:
    """What a work tree's check finds beside the estate: copies of calcheck's schemas that are out of date."""
    if not isinstance(source, WorkTree):
        return []
    return outdated_copies(source.root, display_path(copies_beside(source.root)))


def _judge(
    estate: Estate,
    findings: list[Finding],
    files: int,
    as_of: dt.date,
    timeline: Timeline | Callable[[], Timeline] | None,
    read: tuple[list[Finding], tuple[str, ...]] | None,
    earlier: CheckResult | None = None,
) -> CheckResult:
    """The check of a loaded estate: ``findings`` are what reading it found; ``earlier``: the check of the estate
    before an edit, whose analysis it reuses where the edit cannot change it."""
    context = Context.build(estate, as_of, timeline, (earlier.estate, earlier.context.analysis) if earlier else None)
    findings.extend(run_rules(estate, context))
    reported, waived = apply_waivers(estate, apply_config(estate, findings), as_of)
    return CheckResult(estate, context, sort_findings(reported), sort_findings(waived), files, findings, read)


def recheck(
    base: CheckResult,
    before: EstateSource,
    after: EstateSource,
    changed: list[str],
    as_of: dt.date,
    timeline: Timeline | Callable[[], Timeline] | None = None,
    cache: FileCache | None = None,
) -> CheckResult:
    """``check(after, ...)``, where ``after`` differs from ``before`` (which ``base`` checked) only in the files
    ``changed`` (relative paths): only those are read again, and the estate is ``base``'s with their records
    replaced, when both versions of each read cleanly (else every file is read again, as ``check`` does).
    """
    if base.read is None or any(finding.rule == "estate-link" for finding in base.read[0]):
        return check(after, as_of, timeline, cache)  # (a link found before may be gone after)
    findings, files = base.read
    with gc_paused(freeze=True):
        spliced = replaced_files(base.estate, files, before, after, changed, cache)
        if spliced is None:
            return check(after, as_of, timeline, cache)
        estate, now = spliced
        if cache is not None:
            cache.release()  # the edited files are read: judging the estate needs no file (memory)
        read = (list(findings), tuple(now))
        return _judge(estate, findings + _beside(after), len(now), as_of, timeline, read, base)


def judged_by(result: CheckResult, policy: Estate) -> list[Finding]:
    """``result``'s findings under another estate's rule settings and waivers (e.g. the base branch's)."""
    reported, _ = apply_waivers(policy, apply_config(policy, result.unfiltered), result.context.as_of)
    return sort_findings(reported)
