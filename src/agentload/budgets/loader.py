"""Read budgets.yaml into a `BudgetFile`, or explain in one line exactly what is wrong and where.

The budget file decides whether a release ships, so a typo must never be ignored or guessed at:
unknown keys, unknown metrics, statistics that do not fit the metric, and units that do not fit
the metric (`threshold: 800` is 800 ms on a latency, but `1` is refused as a rate) are errors. The
YAML is composed into nodes with PyYAML's SafeLoader, never constructed, so every error can name
the 1-based line of the offending node, and hostile input (aliases, deep nesting, huge numbers,
explicit Python tags) is refused before it can cost memory or time.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from agentload.recording.journeys import JOURNEY, journey_metrics, journey_of
from agentload.recording.labels import BOUNDS, UNBOUNDED
from agentload.recording.metrics import (
    BUILTIN,
    COUNT,
    DURATION,
    KINDS,
    METRICS,
    NUMBER,
    RATE,
    SCHEDULED_SUFFIX,
    parent_metric,
    scheduled_twin,
)

from .errors import BudgetError
from .model import CRITICALITIES, Budget, BudgetFile, Policy
from .part import label_values
from .units import parse_count, parse_duration, parse_margin, parse_number, parse_rate, quote

TREND_STATS = ("p50", "p90", "p95", "p99", "avg", "min", "med", "max")
"""Statistics a budget may ask of a duration or number metric; `med` is another name for p50."""

MAX_CHARS = 1_000_000
MAX_DEPTH = 32
_MAX_NAME = 200
_MAX_SUGGEST = 100  # difflib is quadratic: no suggestions for absurdly long words
_TOP_KEYS = ("budgets", "metrics", "policy")
BUDGET_KEYS = (
    "metric",
    "stat",
    "threshold",
    "criticality",
    "warn_margin",
    "min_samples",
    "comparison",
    "name",
    "stage",
    "after",
    "before",
)
"""A budget's keys; the labels samples may carry (`labels.BOUNDS`, such as `turn`) are keys too."""
_POLICY_BOOLEANS = (
    "inconclusive_fails",
    "shed_counts_as_error",
    "fail_on_5xx",
    "lost_workers_fail",
    "regression_fails",
)
_POLICY_KEYS = ("fail_on", *_POLICY_BOOLEANS, "regression_margin")
_YAML = "tag:yaml.org,2002:"
_TEXT_TAGS = {_YAML + t for t in ("str", "int", "float", "timestamp")}
_SCALAR_TAGS = _TEXT_TAGS | {_YAML + "bool", _YAML + "null"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_THRESHOLDS: dict[str, tuple[Callable[[str], float], str]] = {
    DURATION: (parse_duration, "a duration like 800ms"),
    NUMBER: (parse_number, "a number like 20"),
    RATE: (parse_rate, "a rate like 1%"),
    COUNT: (parse_count, "a whole number like 0"),
}

Entries = dict[str, tuple[ScalarNode, Node]]


def load_budgets(path: str | Path) -> BudgetFile:
    """Read and check the budgets file at `path`; every problem is a one-line `BudgetError`."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        message = f"cannot read file: {exc.strerror or exc}"
        raise BudgetError(name, None, message) from None
    if len(data) > MAX_CHARS:
        raise BudgetError(name, None, f"file too large ({len(data)} bytes, at most {MAX_CHARS})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        raise BudgetError(name, line, message) from None
    return parse_budgets(text, name)


def parse_budgets(text: str, path: str = "budgets.yaml") -> BudgetFile:
    """Check budgets YAML `text`; `path` is only used to name the file in error messages."""
    path = str(path)
    if len(text) > MAX_CHARS:
        raise BudgetError(path, None, f"file too large ({len(text)} characters, at most {MAX_CHARS})")
    root = _compose(text, path)
    if root is None or (isinstance(root, ScalarNode) and root.tag == _YAML + "null" and not root.value):
        raise BudgetError(path, None, 'empty file (expected a mapping with a "budgets" list)')
    return _Parser(path).parse(root)


class _Refused(Exception):
    """Raised from inside the composer for input we will not compose (0-based line)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (no alias bombs) and nesting deeper than MAX_DEPTH."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            message = f"YAML aliases are not supported (got {quote('*' + str(event.anchor))})"
            raise _Refused(event.start_mark.line, message)
        if self._depth >= MAX_DEPTH:
            raise _Refused(event.start_mark.line, f"nested more than {MAX_DEPTH} levels deep")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _compose(text: str, path: str) -> Node | None:
    """The YAML node tree of `text` (None for an empty document), or a BudgetError."""
    try:
        return yaml.compose(text, Loader=_GuardedLoader)
    except _Refused as exc:
        raise BudgetError(path, exc.line + 1, exc.message) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = f"invalid YAML: {_printable(exc.problem or exc.context or 'syntax error')}"
        raise BudgetError(path, line, message) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        message = f"invalid YAML: unacceptable character #x{exc.character:04x}: {exc.reason}"
        raise BudgetError(path, line, message) from None
    except yaml.YAMLError as exc:
        raise BudgetError(path, None, f"invalid YAML: {_printable(str(exc))}") from None
    except RecursionError:
        raise BudgetError(path, None, "invalid YAML: nested too deeply") from None


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _got(node: Node) -> str:
    """What the user wrote, for the `(got ...)` part of a message."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list" if node.value else "an empty list"
    if node.tag == _YAML + "null" and not node.value:
        return "nothing"
    return quote(node.value)


def _key_path(parent: str, key: str) -> str:
    name = key if _IDENTIFIER.fullmatch(key) else quote(key)
    return f"{parent}.{name}" if parent else name


class _Parser:
    """Walks the node tree; every check raises a BudgetError naming the node's line and key path."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.declared: dict[str, str] = {}
        self.known: dict[str, str] = dict(METRICS)

    def error(self, node: Node, key_path: str, message: str) -> BudgetError:
        text = f"{key_path}: {message}" if key_path else message
        return BudgetError(self.path, node.start_mark.line + 1, text)

    def parse(self, root: Node) -> BudgetFile:
        entries = self.mapping(root, "", _TOP_KEYS, 'a mapping with a "budgets" list')
        if "budgets" not in entries:
            raise self.error(root, "budgets", "missing, expected a list of budgets")
        if "metrics" in entries:
            self.metrics(entries["metrics"][1])
        budgets = self.budgets(entries["budgets"][1])
        policy_node = entries.get("policy", (None, None))[1]
        policy = self.policy(policy_node) if policy_node is not None else Policy()
        return BudgetFile(budgets=budgets, policy=policy, path=self.path, metrics=dict(self.declared))

    def metrics(self, node: Node) -> None:
        """`metrics: {name: kind}`: metrics a locustfile produces without declaring them in Python."""
        self.check_tag(node, "metrics")
        if not isinstance(node, MappingNode):
            expected = "a mapping of metric names to kinds"
            raise self.error(node, "metrics", f"must be {expected} (got {_got(node)})")
        expected = f"one of {', '.join(KINDS)} or {JOURNEY}"
        for key_node, value_node in node.value:
            name = self.scalar(key_node, "metrics", "a metric name")
            key_path = _key_path("metrics", name)
            if len(name) > _MAX_NAME or not name.strip():
                raise self.error(key_node, key_path, f"must be a name of 1 to {_MAX_NAME} characters")
            if name in self.declared:
                raise self.error(key_node, key_path, "duplicate key")
            kind = self.scalar(value_node, key_path, expected)
            if kind == JOURNEY:
                self.journey(name, key_node, key_path)
                continue
            if kind not in KINDS:
                raise self.error(value_node, key_path, f"must be {expected} (got {quote(kind)})")
            known = self.known.get(name)
            if known is not None and known != kind:
                raise self.error(value_node, key_path, f"is already a {known} metric (got {quote(kind)})")
            self.declared[name] = self.known[name] = kind
            twin = scheduled_twin(name, kind)
            if twin:
                self.known.setdefault(twin, DURATION)

    def journey(self, name: str, node: Node, key_path: str) -> None:
        """`name: journey` declares the journey's three metrics (see recording/journeys.py)."""
        if not name.isidentifier():
            message = f"a journey name must be a word like book_table (got {quote(name)})"
            raise self.error(node, key_path, message)
        for metric, kind in zip(journey_metrics(name), (DURATION, DURATION, RATE), strict=True):
            known = self.known.get(metric)
            if known is not None and known != kind:
                raise self.error(node, key_path, f"journey metric {metric} is already a {known} metric")
            self.known[metric] = kind
        self.declared[name] = JOURNEY

    # -- structure ---------------------------------------------------------------------------

    def check_tag(self, node: Node, key_path: str) -> None:
        if isinstance(node, ScalarNode):
            allowed = node.tag in _SCALAR_TAGS
        else:
            allowed = node.tag in (_YAML + "map", _YAML + "seq")
        if not allowed:
            raise self.error(node, key_path, f"unsupported YAML tag {quote(node.tag)}")

    def mapping(self, node: Node, key_path: str, allowed: tuple[str, ...], expected: str) -> Entries:
        """The entries of a mapping node, refusing unknown, duplicate and non-text keys."""
        self.check_tag(node, key_path)
        if not isinstance(node, MappingNode):
            raise self.error(node, key_path, f"must be {expected} (got {_got(node)})")
        entries: Entries = {}
        for key_node, value_node in node.value:
            self.check_tag(key_node, key_path)
            if not isinstance(key_node, ScalarNode) or key_node.tag != _YAML + "str":
                raise self.error(
                    key_node, key_path, f"keys must be words like {allowed[0]} (got {_got(key_node)})"
                )
            key = key_node.value
            sub_path = _key_path(key_path, key)
            if key in entries:
                raise self.error(key_node, sub_path, "duplicate key")
            if key not in allowed:
                raise self.error(key_node, sub_path, _unknown_key(key, allowed))
            self.check_tag(value_node, sub_path)
            entries[key] = (key_node, value_node)
        return entries

    def sequence(self, node: Node, key_path: str, expected: str) -> list[Node]:
        self.check_tag(node, key_path)
        if not isinstance(node, SequenceNode) or not node.value:
            raise self.error(node, key_path, f"must be {expected} (got {_got(node)})")
        return list(node.value)

    def scalar(self, node: Node, key_path: str, expected: str, tags: set[str] = _TEXT_TAGS) -> str:
        """The source text of a scalar node whose tag is one of `tags`."""
        if not isinstance(node, ScalarNode) or node.tag not in tags:
            raise self.error(node, key_path, f"must be {expected} (got {_got(node)})")
        return node.value

    def convert(self, node: Node, key_path: str, parse: Callable[[str], Any], expected: str) -> Any:
        """`parse` applied to a scalar's text, its ValueError turned into a BudgetError."""
        text = self.scalar(node, key_path, expected)
        try:
            return parse(text)
        except ValueError as exc:
            raise self.error(node, key_path, str(exc)) from None

    # -- budgets -----------------------------------------------------------------------------

    def budgets(self, node: Node) -> tuple[Budget, ...]:
        items = self.sequence(node, "budgets", "a non-empty list of budgets")
        budgets: list[Budget] = []
        seen: dict[tuple[str, str, str], int] = {}
        for index, item in enumerate(items):
            budget = self.budget(item, f"budgets[{index}]")
            stat = "p50" if budget.stat == "med" else budget.stat
            identity = (budget.series, stat, budget.comparison, budget.part)
            if identity in seen:
                same = "same metric, labels, stage, window, stat and comparison"
                message = f"duplicate of budgets[{seen[identity]}] ({same})"
                raise self.error(item, f"budgets[{index}]", message)
            seen[identity] = index
            budgets.append(budget)
        return tuple(budgets)

    def budget(self, node: Node, key_path: str) -> Budget:
        allowed = (*BUDGET_KEYS, *sorted(BOUNDS.keys() | UNBOUNDED.keys()))
        entries = self.mapping(node, key_path, allowed, "a mapping with metric, stat and threshold")
        metric = self.metric(entries, node, key_path)
        kind = self.known[metric]
        stat = self.stat(entries, node, key_path, kind)
        threshold = self.threshold(entries, node, key_path, kind)
        optional = self.budget_options(entries, key_path)
        labels = tuple(
            self.label(entries[key][1], key, f"{key_path}.{key}")
            for key in entries
            if key in BOUNDS or key in UNBOUNDED
        )
        line = node.start_mark.line + 1
        before = optional.get("before")
        if before is not None and before <= optional.get("after", 0.0):
            message = f"must be later than after (got {quote(entries['before'][1].value)})"
            raise self.error(entries["before"][1], f"{key_path}.before", message)
        return Budget(
            metric=metric, stat=stat, threshold=threshold, line=line, kind=kind, labels=labels, **optional
        )

    def label(self, node: Node, key: str, key_path: str) -> tuple[str, str]:
        """`turn: ">=5"`: a value of the label, or a comparison that matches at least one value."""
        if key in UNBOUNDED:
            raise self.error(node, key_path, f"cannot be judged: {UNBOUNDED[key]}")
        values = sorted(BOUNDS[key], key=lambda v: (len(v), v))
        expected = f'a value of {key} ({values[0]} to {values[-1]}) or a range like ">=5"'
        text = self.scalar(node, key_path, expected)
        if not label_values(text, BOUNDS, key) or "," in text:
            raise self.error(node, key_path, f"must be {expected} (got {quote(text)})")
        return key, text.strip()

    def stage(self, node: Node, key_path: str) -> str:
        expected = 'a stage label like "hold 50" (the stage names the stress report prints)'
        value = self.scalar(node, key_path, expected)
        if not value.strip() or len(value) > _MAX_NAME or not value.isprintable():
            raise self.error(node, key_path, f"must be {expected} (got {quote(value)})")
        return value

    def window_bound(self, node: Node, key_path: str) -> float:
        """`after: 60s`: seconds since test start (on the profile's clock, as stage durations are)."""
        expected = "a time since test start like 60s"
        text = self.scalar(node, key_path, expected)
        try:
            seconds = parse_duration(text) / 1000
        except ValueError:
            seconds = -1.0
        if seconds < 0 or (seconds == 0 and key_path.endswith(".before")):
            raise self.error(node, key_path, f"must be {expected} (got {quote(text)})")
        return seconds

    def required(self, entries: Entries, node: Node, key_path: str, key: str, expected: str) -> Node:
        if key not in entries:
            raise self.error(node, f"{key_path}.{key}", f"missing, expected {expected}")
        return entries[key][1]

    def metric(self, entries: Entries, node: Node, key_path: str) -> str:
        expected = "a metric name like intent_inference_latency"
        value_node = self.required(entries, node, key_path, "metric", expected)
        name = self.scalar(value_node, f"{key_path}.metric", expected)
        if name not in self.known:
            raise self.error(value_node, f"{key_path}.metric", _unknown_metric(name, self.known))
        return name

    def stat(self, entries: Entries, node: Node, key_path: str, kind: str) -> str:
        allowed = TREND_STATS if kind in (DURATION, NUMBER) else (kind,)
        if len(allowed) > 1:
            expected = f"one of {', '.join(allowed)} for a {kind} metric"
        else:
            expected = f'"{kind}" for a {kind} metric (or left out)'
        if "stat" not in entries and kind in (RATE, COUNT):
            return kind
        value_node = self.required(entries, node, key_path, "stat", expected)
        stat = self.scalar(value_node, f"{key_path}.stat", expected)
        if stat.lower() not in allowed:
            raise self.error(value_node, f"{key_path}.stat", f"must be {expected} (got {quote(stat)})")
        return stat.lower()

    def threshold(self, entries: Entries, node: Node, key_path: str, kind: str) -> float:
        parse, expected = _THRESHOLDS[kind]
        value_node = self.required(entries, node, key_path, "threshold", expected)
        value = self.convert(value_node, f"{key_path}.threshold", parse, expected)
        if value <= 0 and kind != COUNT:
            message = f"must be greater than 0 (got {quote(value_node.value)})"
            raise self.error(value_node, f"{key_path}.threshold", message)
        return float(value)

    def budget_options(self, entries: Entries, key_path: str) -> dict[str, Any]:
        """The optional keys of a budget, checked, as keyword arguments for `Budget`."""
        readers: dict[str, Callable[[Node, str], Any]] = {
            "criticality": self.criticality,
            "warn_margin": lambda n, p: self.convert(n, p, parse_margin, "a margin like 10%"),
            "min_samples": self.min_samples,
            "comparison": self.comparison,
            "name": self.name,
            "stage": self.stage,
            "after": self.window_bound,
            "before": self.window_bound,
        }
        return {
            key: read(entries[key][1], f"{key_path}.{key}") for key, read in readers.items() if key in entries
        }

    def criticality(self, node: Node, key_path: str) -> str:
        expected = f"one of {', '.join(CRITICALITIES)}"
        value = self.scalar(node, key_path, expected)
        if value.upper() not in CRITICALITIES:
            raise self.error(node, key_path, f"must be {expected} (got {quote(value)})")
        return value.upper()

    def min_samples(self, node: Node, key_path: str) -> int:
        value = self.convert(node, key_path, parse_count, "a whole number like 100")
        if value < 1:
            raise self.error(node, key_path, f"must be at least 1 (got {quote(node.value)})")
        return value

    def comparison(self, node: Node, key_path: str) -> str:
        expected = '"<" (stay below) or ">" (stay above; write it quoted: comparison: ">")'
        value = self.scalar(node, key_path, expected)
        if value not in ("<", ">"):
            raise self.error(node, key_path, f"must be {expected} (got {quote(value)})")
        return value

    def name(self, node: Node, key_path: str) -> str:
        expected = f"a one-line label of at most {_MAX_NAME} characters"
        value = self.scalar(node, key_path, expected)
        if len(value) > _MAX_NAME or not value.isprintable():
            raise self.error(node, key_path, f"must be {expected} (got {quote(value)})")
        return value

    # -- policy ------------------------------------------------------------------------------

    def policy(self, node: Node) -> Policy:
        if isinstance(node, ScalarNode) and node.tag == _YAML + "null":
            return Policy()  # `policy:` with every line commented out
        entries = self.mapping(node, "policy", _POLICY_KEYS, "a mapping of policy switches")
        values: dict[str, Any] = {}
        for key, (_, value_node) in entries.items():
            key_path = f"policy.{key}"
            if key == "fail_on":
                values[key] = self.fail_on(value_node, key_path)
            elif key == "regression_margin":
                values[key] = self.convert(value_node, key_path, parse_margin, "a margin like 10%")
            else:
                values[key] = self.boolean(value_node, key_path)
        return Policy(**values)

    def fail_on(self, node: Node, key_path: str) -> tuple[str, ...]:
        expected = f"a list of criticalities like [{', '.join(CRITICALITIES)}]"
        if isinstance(node, SequenceNode) and not node.value:
            return ()
        items = self.sequence(node, key_path, expected)
        chosen = {self.criticality(item, f"{key_path}[{i}]") for i, item in enumerate(items)}
        return tuple(c for c in CRITICALITIES if c in chosen)

    def boolean(self, node: Node, key_path: str) -> bool:
        text = self.scalar(node, key_path, "true or false", {_YAML + "bool"})
        return bool(yaml.constructor.SafeConstructor.bool_values[text.lower()])


def _unknown_key(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1) if len(key) <= _MAX_SUGGEST else []
    hint = f", did you mean {quote(close[0])}?" if close else ""
    return f"unknown key{hint} (expected one of: {', '.join(allowed)})"


PART_EXAMPLE = "intent_inference_latency.llm (see README, Where the time went)"


def _unknown_metric(name: str, known: Mapping[str, str]) -> str:
    """Did-you-mean over every known metric, and the declared ones listed (they are the likely typos)."""
    close = difflib.get_close_matches(name, list(known), n=1) if len(name) <= _MAX_SUGGEST else []
    own = [n for n in known if journey_of(n) is None]  # journeys are named by budgets.yaml or code
    declared = sorted(n for n in own if n not in BUILTIN and not n.endswith(SCHEDULED_SUFFIX))
    listed = f"; declared: {', '.join(declared)}" if declared else ""
    if close:
        return f"must be a known metric, did you mean {quote(close[0])}? (got {quote(name)}{listed})"
    whole = [n for n in own if parent_metric(n) == n]
    parts = f", or a request metric's part such as {PART_EXAMPLE}" if len(whole) < len(known) else ""
    return f"must be a known metric: one of {', '.join(whole)}{parts} (got {quote(name)}{listed})"
