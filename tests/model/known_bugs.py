"""Known open bugs of the connector: the only failures the randomized test lets pass, each by a narrow classifier.

Each entry names the bug (issue 16 item or the model test's own finding), the deterministic regression test that
reproduces it (marked xfail), and a predicate over one `Failure` that recognises exactly its symptom. Delete an
entry when its fix lands: the regression test then passes (strict xfail fails, reminding you), and the randomized
test stops tolerating the symptom.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from tests.model.judge import Failure


@dataclass(frozen=True)
class KnownBug:
    name: str
    description: str
    regression_test: str
    matches: Callable[[Failure], bool]


# The bugs found before are fixed, each with its regression test in test_regressions.py (hard deletes in versioned
# buckets counted, deletes sent once, a failing GetObjectTagging no longer hiding a restore, key-hash twins told apart
# by key sums, notes of unchosen details dropped, event mode listing after a scope change, listing after event mode
# sending only changes, counts of a killed sync kept, deletes a pass counted before their events were drained).
# One stays open: a cost (deletes sent again), never a wrong row.
KNOWN_BUGS: tuple[KnownBug, ...] = (
    KnownBug(
        "markers-resent-when-a-range-cannot-count",
        "A versioned range whose sketch could not decode a burst of changes (more than it holds) and whose key sum "
        "cannot settle the count sends a delete for every key whose latest version is a delete marker, older ones "
        "included (rows stay right; deletes already sent are sent again). Small ranges of up to two keys are proven "
        "by their key sum (deletes._small_range_loss); larger ones need a bound on which markers are new that does "
        "not compare S3's clock with the model's.",
        "tests/model/test_regressions.py::test_markers_are_not_sent_again_when_a_burst_overflows_a_range",
        lambda f: f.category == "resend_delete" and bool(f.facts.get("versioned"))
        and bool(f.facts.get("uncounted_ranges"))),
)


def classify(failure: Failure, known: tuple[KnownBug, ...] = KNOWN_BUGS) -> str | None:
    """The name of the known bug this failure is a symptom of, or None."""
    return next((bug.name for bug in known if bug.matches(failure)), None)
