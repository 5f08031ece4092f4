"""Which If branches of the main graph the verification samples take.

A change inside a branch the samples never take adds no error to any output: its measured error
of 0 says nothing about it, and the report must say so (issue 14) rather than count it verified.
Only the main graph's If nodes are checked; a branch nested in another subgraph is judged by the
main-graph If that holds it, if any.
"""

import numpy as np
import onnx

from edgeact.converters.onnx._graph import GraphView

__all__ = ["mark_unexercised"]

_BRANCHES = ("then_branch", "else_branch")


def mark_unexercised(model: onnx.ModelProto, feeds: list[dict], changes: list[dict], run) -> None:
    """Set ``exercised`` on each applied change inside a main-graph If branch (False: no sample
    takes that branch, with a note why). ``run(names)``: the values ``names`` hold in the model
    run on each of ``feeds`` (dicts by name; ONNX Runtime)."""
    view = GraphView.of_graph(model.graph, "main")
    ifs = {f"main:{view.label_of(node)}": node for node in model.graph.node if node.op_type == "If"}
    within = {(label, branch): f"{label}.{branch}:" for label in ifs for branch in _BRANCHES}
    inside = {  # change index -> (If label, branch)
        i: key
        for i, change in enumerate(changes)
        for key, prefix in within.items()
        if change["applied"] and (change["graph"] + ":").startswith(prefix)
    }
    if not inside:
        return
    conds = {label: ifs[label].input[0] for label, _ in inside.values()}
    seen = _cond_values(view, feeds, set(conds.values()), run)
    for i, (label, branch) in inside.items():
        values = seen[conds[label]]
        takes = branch == "then_branch"
        changes[i]["exercised"] = any(bool(v) == takes for v in values)
        if not changes[i]["exercised"]:
            changes[i]["notes"].append(  # the line above it in the report names the branch
                f"not exercised: {conds[label]!r} was {not takes} in all {len(values)} samples"
            )


def _cond_values(view: GraphView, feeds, names: set[str], run) -> dict[str, list]:
    """Each condition's value in every sample: a constant, from the feeds, or from a run."""
    values = {}
    computed = []
    for name in names:
        const = view.const(name)
        if const is not None:
            values[name] = [const.item()] * len(feeds)
        elif name in feeds[0]:
            values[name] = [np.asarray(feed[name]).item() for feed in feeds]
        else:
            computed.append(name)
    if computed:
        runs = run(computed)
        values |= {n: [np.asarray(r[n]).item() for r in runs] for n in computed}
    return values
