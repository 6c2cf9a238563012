"""JUnit XML: one test case per budget and per incomplete reason, counted consistently, always valid XML."""

import xml.etree.ElementTree as ET
from pathlib import Path

from agentload.budgets.model import FAIL, INCONCLUSIVE, PASS, WARN, Budget, BudgetResult, Verdict
from agentload.recording.recorder import Snapshot
from agentload.reporting import build_junit, write_junit


def result(status: str, metric: str = "intent_inference_latency", **fields: object) -> BudgetResult:
    budget = Budget(metric, "p95", 800.0, **fields)
    return BudgetResult(budget, status, 1460.0 if status == FAIL else 420.0, 500, 400.0, 1500.0)


def verdict(*results: BudgetResult, incomplete: tuple[str, ...] = ()) -> Verdict:
    return Verdict(FAIL, 3 if incomplete else 1, tuple(results), incomplete=incomplete)


def parse(xml: str) -> ET.Element:
    return ET.fromstring(xml.encode("utf-8"))


def cases(root: ET.Element) -> list[ET.Element]:
    return root.findall("./testsuite/testcase")


def test_one_testcase_per_budget_and_incomplete_reason() -> None:
    """Budgets become class "budgets" test cases named by label; incomplete reasons become run errors."""
    v = verdict(
        result(PASS),
        result(FAIL, "step_execution_latency", name="step p95"),
        result(WARN, "chat_response_latency"),
        incomplete=("lost worker w2",),
    )
    root = parse(
        build_junit(v, Snapshot(histograms={}, counters={}, errors={}, incomplete=("dropped stage",)))
    )
    names = [(case.get("classname"), case.get("name")) for case in cases(root)]
    assert names == [
        ("budgets", "intent_inference_latency p95"),
        ("budgets", "step p95"),
        ("budgets", "chat_response_latency p95"),
        ("run", "run complete (1)"),
        ("run", "run complete (2)"),
    ]
    assert [e.get("message") for e in root.iter("error")] == ["lost worker w2", "dropped stage"]


def test_failure_counts_match_elements() -> None:
    """FAIL is a <failure> with the observed value; suite counters equal the elements present."""
    root = parse(build_junit(verdict(result(FAIL), result(FAIL), result(PASS), incomplete=("x",))))
    suite = root.find("testsuite")
    assert suite is not None
    failures = list(root.iter("failure"))
    assert len(failures) == 2 and "1.46s" in failures[0].get("message", "")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "4",
        "2",
        "1",
        "0",
    )
    assert root.get("tests") == "4" and root.get("failures") == "2"


def test_inconclusive_follows_the_flag() -> None:
    """INCONCLUSIVE is a failure when it fails the run and a skipped case otherwise."""
    v = verdict(result(INCONCLUSIVE))
    assert parse(build_junit(v)).find(".//failure[@type='INCONCLUSIVE']") is not None
    relaxed = parse(build_junit(v, inconclusive_fails=False))
    assert relaxed.find(".//failure") is None
    assert relaxed.find(".//skipped") is not None and relaxed.find("testsuite").get("skipped") == "1"


def test_warn_passes_with_message() -> None:
    """WARN is a passing case whose system-out carries the warning."""
    root = parse(build_junit(verdict(result(WARN))))
    case = cases(root)[0]
    assert case.find("failure") is None and case.find("skipped") is None
    assert case.findtext("system-out", "").startswith("WARN: p95(intent_inference_latency) = 420ms")


def test_special_characters_are_escaped() -> None:
    """Labels and messages with XML metacharacters still produce well-formed XML."""
    weird = BudgetResult(
        Budget("error_rate", "rate", 0.01, name='a<b & "c" ]]>'), FAIL, 0.5, 10, message="<&>"
    )
    root = parse(build_junit(verdict(weird), suite_name="suite & co"))
    assert cases(root)[0].get("name") == 'a<b & "c" ]]>'
    assert root.find("testsuite").get("name") == "suite & co"
    assert root.find(".//failure").get("message").startswith("error_rate = 50.00%")


def test_suite_time_and_verdict_properties() -> None:
    """The suite time is the run duration from the snapshot meta; verdict and generator are properties."""
    snapshot = Snapshot(histograms={}, counters={}, errors={}, meta={"duration_s": 61.5})
    root = parse(build_junit(verdict(result(PASS)), snapshot))
    assert root.find("testsuite").get("time") == "61.500"
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    generator = "generator: not measured (no probe ran)"
    assert properties == {"verdict": FAIL, "exit_code": "1", "generator": generator}


def test_write_junit_creates_parents(tmp_path: Path) -> None:
    """write_junit writes the document atomically, creating missing directories."""
    target = tmp_path / "reports" / "junit.xml"
    xml = build_junit(verdict(result(PASS)))
    write_junit(target, xml)
    assert target.read_text(encoding="utf-8") == xml
    assert len(cases(ET.parse(target).getroot())) == 1
