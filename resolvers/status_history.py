"""A deployment's status at a past instant, rebuilt from its audit trail: the rule, declared once.

It did not exist before it was created; from then on its status is the one the last status step at
or before the instant left (a step: an event that records a status, i.e. every event but DELETED,
which keeps the status the row had); with no step yet, its stored status. One deployment's
`statusAt` (resolvers/traffic.py) and the fleet's `deploymentStats(asOf)` (resolvers/snapshot.py,
the same steps as arrays) both call `statuses_at`.
"""

import numpy as np

NOT_YET = -1  # the code of a deployment that did not exist yet


def statuses_at(
    created_at: np.ndarray,
    current: np.ndarray,
    step_owner: np.ndarray,
    step_at: np.ndarray,
    step_code: np.ndarray,
    at: float,
) -> np.ndarray:
    """Each deployment's status code (index into DEPLOYMENT_STATUSES) at `at`, NOT_YET before it
    was created. Times are epoch seconds; `current` holds the stored codes; each step is (position
    of its deployment, when, the status code it records), grouped by position and in order of time
    within each (ties in the trail's order)."""
    out = current.astype(np.int8, copy=True)
    done = step_at <= at
    owner, code = step_owner[done], step_code[done]
    last = np.ones(owner.size, dtype=bool)  # each deployment's last step at or before `at`
    last[:-1] = owner[1:] != owner[:-1]
    out[owner[last]] = code[last]
    out[created_at > at] = NOT_YET
    return out
