"""The ONNX inspect findings grouped as the text report shows them (count, node lists, graphs).

``inspect`` gives one finding per site; the ONNX tests assert on groups of identical findings,
keyed like the report's rows.
"""

FINDING_KEY = ("activation", "form", "pattern", "ops", "dtype", "qdq", "replacement")
MISS_KEY = ("looks_like", "form", "pattern", "reason")


def _grouped(items: list[dict], key_fields: tuple[str, ...]) -> list[dict]:
    groups: dict[tuple, dict] = {}
    for item in items:
        key = tuple(tuple(item[k]) if isinstance(item[k], list) else item[k] for k in key_fields)
        group = groups.setdefault(key, {**item, "count": 0, "nodes": [], "graphs": []})
        group["count"] += 1
        group["nodes"].append(item["nodes"])
        if item["graph"] not in group["graphs"]:
            group["graphs"].append(item["graph"])
    return list(groups.values())


def grouped_findings(report: dict) -> list[dict]:
    return _grouped(report["findings"], FINDING_KEY)


def grouped_misses(report: dict) -> list[dict]:
    return _grouped(report["near_misses"], MISS_KEY)
