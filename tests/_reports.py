"""The ONNX inspect findings grouped as the text report groups them (count, node lists, graphs).

``inspect`` gives one finding per site; the ONNX tests assert on groups of identical findings,
keyed like the report's rows, with ``nodes`` holding every member's node names.
"""

from edgeact.converters._findings import group

FINDING_KEY = ("activation", "form", "pattern", "ops", "dtype", "qdq", "replacement")
MISS_KEY = ("looks_like", "form", "pattern", "reason")


def _grouped(items: list[dict], key_fields: tuple[str, ...]) -> list[dict]:
    return [{**row, "nodes": row["node_lists"]} for row in group(items, key_fields)]


def grouped_findings(report: dict) -> list[dict]:
    return _grouped(report["findings"], FINDING_KEY)


def grouped_misses(report: dict) -> list[dict]:
    return _grouped(report["near_misses"], MISS_KEY)
