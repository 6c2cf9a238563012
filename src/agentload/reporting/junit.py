"""The verdict as a JUnit XML file, so any CI system shows each budget as a test case.

One `<testcase classname="budgets">` per budget, named by its label: FAIL becomes a `<failure>`,
INCONCLUSIVE becomes a `<failure>` when it fails the run (`inconclusive_fails`, the policy's
default) and a `<skipped>` otherwise, WARN passes with its message in `<system-out>` (a warning
is not a skipped check). Every reason the run is incomplete is an `<error>` test case of class
"run", because the measurements themselves are in doubt (a generator-bound run among them). The
suite's properties hold the verdict, the exit code and the generator's health line. The XML is
built with ElementTree, so names and messages are always escaped.
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from agentload.budgets.model import FAIL, INCONCLUSIVE, WARN, BudgetResult, Verdict
from agentload.formatting import format_ci, format_threshold, format_value
from agentload.recording.generator import health_line
from agentload.recording.metrics import DURATION, NUMBER
from agentload.recording.recorder import Snapshot
from agentload.reporting._atomic import write_text_atomic
from agentload.reporting.summary import incomplete_reasons


def describe(result: BudgetResult) -> str:
    """`p95(intent_inference_latency) = 1.46s [1.4s, 1.52s], budget < 800ms, 1000 samples, HIGH: FAIL`."""
    budget = result.budget
    observed = format_value(budget.metric, result.observed) if result.observed is not None else "no data"
    ci = format_ci(budget.metric, result.ci_low, result.ci_high)
    subject = (
        f"{budget.stat}({budget.series}){budget.part}"
        if budget.kind in (DURATION, NUMBER)
        else f"{budget.series}{budget.part}"
    )
    text = (
        f"{subject} = {observed}{' ' + ci if ci else ''}, "
        f"budget {format_threshold(budget.metric, budget.comparison, budget.threshold)}, "
        f"{result.samples} samples, {budget.criticality}: {result.status}"
    )
    return text + (f" ({result.text})" if result.text else "")


def _budget_case(result: BudgetResult, *, inconclusive_fails: bool) -> ET.Element:
    case = ET.Element("testcase", classname="budgets", name=result.budget.label, time="0")
    message = describe(result)
    if result.status == FAIL or (result.status == INCONCLUSIVE and inconclusive_fails):
        ET.SubElement(case, "failure", message=message, type=result.status).text = message
    elif result.status == INCONCLUSIVE:
        ET.SubElement(case, "skipped", message=message)
    else:
        ET.SubElement(case, "system-out").text = f"WARN: {message}" if result.status == WARN else message
    return case


def _incomplete_case(index: int, reason: str) -> ET.Element:
    case = ET.Element("testcase", classname="run", name=f"run complete ({index})", time="0")
    ET.SubElement(case, "error", message=reason, type="INCOMPLETE").text = reason
    return case


def build_junit(
    verdict: Verdict,
    snapshot: Snapshot | None = None,
    suite_name: str = "agentload budgets",
    *,
    inconclusive_fails: bool = True,
) -> str:
    """The JUnit XML document (with an XML declaration) for `verdict`."""
    reasons = incomplete_reasons(snapshot, verdict) if snapshot is not None else list(verdict.incomplete)
    cases = [_budget_case(r, inconclusive_fails=inconclusive_fails) for r in verdict.results]
    cases += [_incomplete_case(i, reason) for i, reason in enumerate(reasons, start=1)]
    attributes = _suite_attributes(suite_name, cases, _duration(snapshot))
    root = ET.Element("testsuites", {k: v for k, v in attributes.items() if k != "skipped"})
    suite = ET.SubElement(root, "testsuite", attributes)
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="verdict", value=verdict.status)
    ET.SubElement(properties, "property", name="exit_code", value=str(verdict.exit_code))
    if snapshot is not None:
        ET.SubElement(properties, "property", name="generator", value=health_line(snapshot.histograms))
    suite.extend(cases)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite_attributes(name: str, cases: list[ET.Element], duration: str) -> dict[str, str]:
    """name, tests, failures, errors, skipped and time, counted from the cases themselves."""
    counts = {
        tag: sum(1 for case in cases if case.find(tag) is not None) for tag in ("failure", "error", "skipped")
    }
    return {
        "name": name,
        "tests": str(len(cases)),
        "failures": str(counts["failure"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skipped"]),
        "time": duration,
    }


def _duration(snapshot: Snapshot | None) -> str:
    value = snapshot.meta.get("duration_s") if snapshot is not None else None
    finite = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return f"{float(value):.3f}" if finite and value >= 0 else "0"


def write_junit(path: str | os.PathLike[str], xml: str) -> Path:
    """Write the XML atomically to `path` (parent directories are created)."""
    return write_text_atomic(path, xml)
