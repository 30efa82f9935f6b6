"""The supervision tree of one replica.

root (one_for_one)
├── io (one_for_one)           publisher, persister: started first, stopped last, so the
│                              pipeline's last messages still reach them while it drains
├── pipeline (rest_for_one)    feature cache → predictor → alert engine
└── sources (one_for_one)      one poller per configured source: started last, stopped first

In a cluster the sources branch runs inside the leadership service (`leadership`), which starts
it only while this replica holds the leader lease.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from actors import Backoff, Child, ChildSpec, Intensity, Strategy, Supervisor


def build_tree(
    *,
    io: Sequence[Child | ChildSpec] = (),
    pipeline: Sequence[Child | ChildSpec] = (),
    sources: Sequence[Child | ChildSpec] = (),
    leadership: Callable[[Supervisor], Child] | None = None,
) -> Supervisor:
    """Wire the replica's actors under the supervisors of the design."""
    backoff = Backoff(base=0.1, cap=10.0, stable_after=30.0)

    def branch(name: str, children: Sequence[Child | ChildSpec], strategy: Strategy) -> Supervisor:
        intensity = Intensity(max_restarts=5, period=30.0)
        return Supervisor(name, children, strategy=strategy, intensity=intensity, backoff=backoff)

    sources_branch = branch("sources", sources, Strategy.ONE_FOR_ONE)
    return Supervisor(
        "root",
        [
            branch("io", io, Strategy.ONE_FOR_ONE),
            branch("pipeline", pipeline, Strategy.REST_FOR_ONE),
            sources_branch
            if leadership is None
            else ChildSpec(leadership(sources_branch), shutdown=10.0),
        ],
        strategy=Strategy.ONE_FOR_ONE,
        intensity=Intensity(max_restarts=3, period=60.0),
        backoff=backoff,
    )
