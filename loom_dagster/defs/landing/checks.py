"""The checks of the landing assets, evaluated by the landing run's own step."""

import dagster as dg

from loom_core.contracts import Family
from loom_dagster.landing import store
from loom_dagster.landing.land import LandingOutcome

STALE_AFTER_S = 600  # the check fails when a request waits longer than this
DEAD_LETTER_WARN_RATIO = 0.01


def landing_check_specs(fam: Family) -> list[dg.AssetCheckSpec]:
    """Return the checks of the landing asset of ``fam``.

    They are evaluated inside each landing run's one step, from what the run has
    at hand: as steps of their own they cost a run 0.1-0.3 s
    (bench/landing_throughput.py).
    """
    return [
        dg.AssetCheckSpec(
            "requested_ranges_landed",
            asset=fam.table,
            description=(
                f"No offset range requested more than {STALE_AFTER_S // 60} "
                "minutes ago is still waiting to land."
            ),
        ),
        dg.AssetCheckSpec(
            "dead_letter_ratio",
            asset=fam.table,
            description=(
                f"At most {DEAD_LETTER_WARN_RATIO:.0%} of the messages this run "
                "landed went to the dead-letter topic."
            ),
        ),
    ]


def check_results(
    outcome: LandingOutcome, waiting: list[store.Pending]
) -> list[dg.AssetCheckResult]:
    """Evaluate :func:`landing_check_specs` after a run landed ``outcome``."""
    stale = [p for p in waiting if p.age_s > STALE_AFTER_S]
    messages, dead = outcome.total("messages"), outcome.total("dead_lettered")
    ratio = dead / messages if messages else 0.0
    return [
        dg.AssetCheckResult(
            check_name="requested_ranges_landed",
            passed=not stale,
            metadata={
                "pending_ranges": len(waiting),
                "stale_ranges": [str(p.offset_range) for p in stale[:20]],
                "oldest_request_age_s": round(
                    max((p.age_s for p in waiting), default=0)
                ),
            },
        ),
        dg.AssetCheckResult(
            check_name="dead_letter_ratio",
            passed=ratio <= DEAD_LETTER_WARN_RATIO,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"messages": messages, "dead_lettered": dead, "ratio": ratio},
        ),
    ]
