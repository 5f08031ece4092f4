"""The conversion report both converters return, and its text form for people.

Fields (JSON-serialisable; ``edgeact convert --json`` prints the dict as it is):

- ``format``, ``input``, ``output``, ``swaps`` (the rules asked for, {from: to}), ``fuse``.
- ``changes``: one record per rewritten site: ``kind`` ("swap" or "fuse"), ``rule``
  ("gelu=gelu_tanh" or "fuse hardswish"), ``activation``, ``target``, ``form`` (the finding's
  structured id), ``graph``, ``nodes``,
  ``ops_before``, ``ops_after``, ``dtype``, ``quantized``, ``notes`` (e.g. new output
  quantization parameters), ``max_abs_error`` (this change alone, from verification, or None),
  ``time_ratio`` (the model's time with this change alone over the original's, on --target),
  ``exercised`` (False: it lies in an If branch no verification sample takes; True: one does;
  None: not inside a main-graph If, or not verified),
  ``applied`` and ``skipped`` (why not, e.g. it alone breaks the thresholds), ``recovery``
  (with --recover, for a swap: ``mse_without`` / ``mse_with``, the mean squared output error
  this change adds alone on the verification samples without and with bias correction,
  ``layers`` (the corrections: ``layer``, ``max_shift``, ``corrected``, ``added`` for a bias
  it created, ``requantized`` for an 8-bit QDQ bias quantized again, ``skipped`` why not),
  ``note`` (why there is no bias to correct), ``requantized`` (ONNX QDQ: the swapped outputs
  given the scale and zero point of their new range; TFLite ``--recover fit``: the int8 output
  of a hardswish whose fitted map was folded in, on the range it reaches from its input; each
  ``tensor``, ``scale`` and ``zero_point`` as [before, after], ``applied``: whether it measured
  better on the calibration samples and was kept); "without" is the swap with the catalogue's
  constants and the old activation's quantization, "with" after all of it; else None),
  ``fit`` (with --recover fit, a swap to hardsigmoid/hardswish whose constants were fitted:
  ``nominal_mse`` / ``fitted_mse`` of the activation on the calibration inputs, ``values`` it
  was fitted on, and the fitted constants: ONNX ``alpha``, ``beta`` of its HardSigmoid; TFLite
  ``scale`` and ``offset``, per channel, of the input map k·x + c folded into the layers around
  it, and for an int8 one ``shift``, c in whole codes of its input; else None).
- ``ops_before`` / ``ops_after``: op type → count over the whole model.
- ``plan_time_ratio``: with --target, the converted model's time over the original's (changes
  the user named counted on both sides), after ``_targets.fit_speed``; else None.
- ``verification``: None when not run, else ``runtime``, ``inputs`` (notes on what was fed),
  ``samples`` (how many input samples ran), ``outputs`` (per output, its worst sample: max_abs,
  max_rel, cosine, top1, and ``failures``: the thresholds it breaks, in words), ``max_abs``,
  ``tolerance`` (the max |error| threshold, or null), ``thresholds`` ({tolerance, rtol,
  min_cosine, default}: null is not checked; default: the user gave none), ``passed`` (no
  output has failures).
- ``recovery``: None without --recover, else for the whole model: ``mode`` ("bias" or "fit"),
  ``calibration`` (samples),
  ``gate`` (NNCF's max |shift/bias|), ``layers`` (as per change, chained over all swaps),
  ``mse_without`` and ``mse_with`` on the verification samples.
- ``written``: whether ``output`` was written; ``notes``: anything else the user should know.
"""

import textwrap

from edgeact import schema
from edgeact.converters._compare import Thresholds
from edgeact.converters._text import WIDTH, cut

__all__ = ["format_conversion", "format_per_op", "format_verification", "new_report"]


def new_report(fmt: str, source, destination, swaps: dict, fuse: bool) -> dict:
    """An empty report for a conversion about to run."""
    return schema.document(
        "convert",
        {
            "format": fmt,
            "input": str(source),
            "output": str(destination),
            "swaps": dict(swaps),
            "fuse": fuse,
            "changes": [],
            "ops_before": {},
            "ops_after": {},
            "verification": None,
            "plan_time_ratio": None,
            "recovery": None,
            "written": False,
            "notes": [],
        },
    )


def _num(value) -> str:
    return "–" if value is None else f"{value:.3g}"


def _op_delta(before: dict, after: dict) -> str:
    parts = []
    for op in sorted(set(before) | set(after)):
        b, a = before.get(op, 0), after.get(op, 0)
        if a != b:
            parts.append(f"{op} {b}→{a}")
    return ", ".join(parts) or "no op changes"


def _change_lines(c: dict) -> list[str]:
    ops = f"{'·'.join(c['ops_before'])} ⇒ {'·'.join(c['ops_after']) or '–'}"
    err = f"err {_num(c['max_abs_error'])}"
    if c.get("time_ratio") is not None:  # timed on --target
        err += f" time ×{c['time_ratio']:.2f}"
    lines = [cut(f"  {c['rule']:<20} {err:<13} {ops}")]
    lines.append(cut(f"      at {c['graph']}: {' → '.join(c['nodes'])}"))
    if not c["applied"]:
        lines.append(cut(f"      SKIPPED: {c['skipped']}"))
    if c.get("recovery"):
        lines.append(cut(f"      recovery: {_recovery_text(c['recovery'])}"))
    lines += [cut(f"      {n}") for n in c["notes"]]
    return lines


def _recovery_text(r: dict) -> str:
    """One line: the error with and without bias correction, and what was corrected."""
    text = f"mse {_num(r['mse_without'])} → {_num(r['mse_with'])}, "
    if r.get("note"):
        return text + f"no bias to correct: {r['note']}"
    done = sum(1 for layer in r["layers"] if layer["corrected"])
    text += f"{done} of {len(r['layers'])} biases corrected"
    kept = [q for q in r.get("requantized", []) if q.get("applied")]
    if kept:
        text += f", {len(kept)} output(s) re-quantized"
    skipped = [f"{x['layer']}: {x['skipped']}" for x in r["layers"] if "skipped" in x]
    return text + (f" (skipped {'; '.join(skipped)})" if skipped else "")


def format_verification(v: dict | None) -> list[str]:
    """The lines for a ``verification`` block (of ``convert`` or ``verify``)."""
    if v is None:
        return ["Verification: not run"]
    verdict = "passed" if v["passed"] else "FAILED"
    limits = Thresholds(**v["thresholds"]).describe()
    lines = [f"Verification in {v['runtime']}: {verdict}"]
    lines.append(cut(f"  {v['samples']} sample(s); thresholds: {limits}"))
    lines += [cut(f"  {n}") for n in v["inputs"]]
    for o in v["outputs"]:
        lines.append(
            cut(
                f"  {o['output']:<20} max abs {_num(o['max_abs']):<9} max rel "
                f"{_num(o['max_rel']):<9} cosine {o['cosine']:.6f}  top-1 {_num(o['top1'])}"
            )
        )
        lines += [cut(f"      FAILS: {f}") for f in o["failures"]]
    return lines


PER_OP_CONTEXT = 3  # tensors shown either side of the first that disagrees


def format_per_op(block: dict) -> list[str]:
    """The lines for ``verify --per-op``: the count, the first tensor over the thresholds and
    the tensors around it (all of them when none is over)."""
    tensors, first = block["tensors"], block["first_failure"]
    over = sum(1 for t in tensors if t["failures"])
    head = f"Per tensor, in graph order: {block['compared']} compared, {over} over the thresholds"
    lines = [head]
    if first is None:
        shown = tensors[: 2 * PER_OP_CONTEXT + 1]
        lines.append("  all agree")
    else:
        at = next(i for i, t in enumerate(tensors) if t["tensor"] == first)
        shown = tensors[max(0, at - PER_OP_CONTEXT) : at + PER_OP_CONTEXT + 1]
        lines.append(cut(f"  first over: {first}"))
    for t in shown:
        if "error" in t:
            lines.append(cut(f"  {t['tensor']:<36} {t['error']}"))
            continue
        mark = "✗" if t["failures"] else " "
        lines.append(
            cut(
                f" {mark}{t['tensor']:<36} max abs {_num(t['max_abs']):<9} max rel "
                f"{_num(t['max_rel']):<9} cosine {t['cosine']:.6f}"
            )
        )
    if len(shown) < len(tensors):
        lines.append(f"  ({len(tensors) - len(shown)} more in --json)")
    return lines


def format_conversion(report: dict) -> str:
    """Render a conversion report as ≤100-column text."""
    lines = [cut(f"{report['input']} → {report['output']} ({report['format']})")]
    rules = ", ".join(f"{a}={b}" for a, b in report["swaps"].items()) or "none"
    text = f"swaps: {rules}"
    if report["format"] == "onnx":  # TFLite converters fuse already; edgeact has nothing to add
        text += f" · fuse: {'on' if report['fuse'] else 'off'}"
    lines += textwrap.wrap(text, WIDTH, initial_indent="  ", subsequent_indent="    ")
    applied = [c for c in report["changes"] if c["applied"]]
    skipped = len(report["changes"]) - len(applied)
    lines += ["", f"Changes: {len(applied)} applied, {skipped} skipped"]
    for c in report["changes"]:
        lines += _change_lines(c)
    lines.append(cut(f"  ops: {_op_delta(report['ops_before'], report['ops_after'])}"))
    if report.get("recovery"):
        r = report["recovery"]
        lines.append(f"Recovery ({r['calibration']} calibration samples, chained over all swaps):")
        lines.append(cut(f"  {_recovery_text(r)}"))
    lines.append("")
    lines += format_verification(report["verification"])
    for note in report["notes"]:
        lines += textwrap.wrap(note, WIDTH, initial_indent="Note: ", subsequent_indent="  ")
    lines.append("")
    lines.append(f"Written: {report['output']}" if report["written"] else "Nothing written.")
    return "\n".join(lines)
