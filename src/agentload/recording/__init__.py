"""Recording: every sample's way from a request to the snapshot the verdict reads.

`samples` turns a classified request into histogram values and counters, `recorder` keeps them per
process and stage and merges them run-wide, `merge` carries workers' deltas to the master exactly,
`labels` names the bounded labeled series, `journeys` groups a task's requests, and `metrics`
names every metric and its kind (the built-ins, and the `Trend`, `Counter` and `Rate` a locustfile
declares). Which profile stage samples belong to is set on the recorder by `profiles/stages.py`:
recording knows no profile.
"""

from agentload.recording.histogram import Histogram
from agentload.recording.metrics import COUNT, DURATION, NUMBER, RATE, Counter, Rate, Trend
from agentload.recording.recorder import Aggregate, Recorder, Snapshot
from agentload.recording.samples import Sample, record_sample

__all__ = [
    "COUNT",
    "DURATION",
    "NUMBER",
    "RATE",
    "Aggregate",
    "Counter",
    "Histogram",
    "Rate",
    "Recorder",
    "Sample",
    "Snapshot",
    "Trend",
    "record_sample",
]
