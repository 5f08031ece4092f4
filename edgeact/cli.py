"""The ``edgeact`` command: argument parsing and printing only; the work is in the library."""

import argparse
import json
import os
import sys

from edgeact import bench_cli
from edgeact._signals import terminate_as_exit
from edgeact.converters._compare import DEFAULT_THRESHOLDS
from edgeact.converters._inputs import DEFAULT_SAMPLES
from edgeact.converters._targets import TARGETS

__all__ = ["main"]


def _demo(args) -> int:
    from edgeact import demo

    report = demo.run(progress=None if args.json else _progress)
    print(json.dumps(report, indent=2) if args.json else demo.format_report(report))
    return 0


def _guide(args) -> int:
    from edgeact import guide

    advice = guide.advise(args.scenario)
    print(json.dumps(advice, indent=2) if args.json else guide.format_advice(advice))
    return 0


def _inspect(args) -> int:
    from edgeact import converters

    report = converters.inspect(args.model)
    print(json.dumps(report, indent=2) if args.json else converters.format_report(report))
    return 0


def _convert(args) -> int:
    from edgeact import converters

    report = converters.convert(
        args.model,
        args.output,
        swaps=args.swap,
        preset=args.preset,
        fuse=None if args.fuse else False,
        verify=args.verify,
        **_verification_values(args),
        budget=args.budget,
        target=args.target,
        calibration=args.calibration,
        recover=args.recover or False,
        opset=args.opset,
        progress=None if args.json else _progress,
        isolate=args.isolate,
    )
    print(json.dumps(report, indent=2) if args.json else converters.format_report(report))
    return 0 if report["written"] else 1


def _verify(args) -> int:
    from edgeact import converters

    report = converters.verify(
        args.original,
        args.converted,
        **_verification_values(args),
        target=args.target,
        per_op=args.per_op,
        isolate=args.isolate,
    )
    print(json.dumps(report, indent=2) if args.json else converters.format_report(report))
    return 0 if report["verification"]["passed"] else 1


def _progress(done: int, total: int, label: str) -> None:
    """One updating line on a terminal; one line per step in a log."""
    if sys.stderr.isatty():
        end = "\n" if done + 1 == total else ""
        print(f"\r[{done + 1}/{total}] {label:<40}", end=end, file=sys.stderr, flush=True)
    else:
        print(f"[{done + 1}/{total}] {label}", file=sys.stderr, flush=True)


def _verification_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--isolate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the runtime in a child process: a crash on the model is an error (default on)",
    )
    limits = parser.add_argument_group(
        "thresholds",
        f"what agreeing means, per output; without any: --min-cosine "
        f"{DEFAULT_THRESHOLDS.min_cosine:g}",
    )
    limits.add_argument("--tolerance", type=float, help="max |error| allowed")
    limits.add_argument("--rtol", type=float, help="max |error| / max |original| allowed")
    limits.add_argument("--min-cosine", type=float, help="min cosine similarity allowed")
    parser.add_argument(
        "--samples",
        type=int,
        help=f"random input samples (default {DEFAULT_SAMPLES}; a .npz gives its own)",
    )
    parser.add_argument("--seed", type=int, help="the first random sample's seed (default 0)")
    parser.add_argument(
        "--input-shape",
        action="append",
        metavar="NAME=1x3x224x224",
        help="a dynamic input's shape for verification",
    )
    parser.add_argument(
        "--inputs",
        metavar="FILE.npz",
        help="real inputs for verification (one more leading axis: one sample per row)",
    )


def _verification_values(args) -> dict:
    return {
        "tolerance": args.tolerance,
        "rtol": args.rtol,
        "min_cosine": args.min_cosine,
        "samples": args.samples,
        "seed": args.seed,
        "input_shapes": args.input_shape or None,
        "inputs": args.inputs,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgeact", description="Edge-friendly activations: kernels, converters, benchmarks."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="check and time every kernel on this machine")
    demo.add_argument("--json", action="store_true", help="print the report as JSON")
    demo.set_defaults(run=_demo)

    inspect = commands.add_parser("inspect", help="list a model's activations (ONNX or TFLite)")
    inspect.add_argument("model", help="an .onnx or .tflite file (never modified)")
    inspect.add_argument("--json", action="store_true", help="print the report as JSON")
    inspect.set_defaults(run=_inspect)

    convert = commands.add_parser(
        "convert",
        help="swap a model's activations for edge-friendly ones, verify, write (ONNX or TFLite)",
        description="Exit status: 0 written, 1 verification failed the thresholds (nothing "
        "written), 2 bad input (nothing written). The input model is never modified.",
    )
    convert.add_argument("model", help="an .onnx or .tflite file (never modified)")
    convert.add_argument("-o", "--output", required=True, help="where to write the result")
    convert.add_argument(
        "--swap", action="append", default=[], metavar="FROM=TO", help="e.g. gelu=gelu_tanh"
    )
    convert.add_argument("--preset", choices=["mobile"], help="the selection guide's choices")
    convert.add_argument(
        "--fuse",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="collapse decomposed patterns into single ops (ONNX; default on)",
    )
    convert.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="compare with the original in the runtime (default on)",
    )
    _verification_options(convert)
    convert.add_argument(
        "--target",
        choices=list(TARGETS),
        help="the runtime the model is for: changes you did not name that make it slower "
        "there are left out (timed, interleaved, one thread)",
    )
    convert.add_argument(
        "--budget",
        type=float,
        metavar="MAX_ABS",
        help="the max |error| accepted for the whole model: changes are rolled back, the "
        "largest own error first, until it fits",
    )
    convert.add_argument(
        "--calibration",
        metavar="FILE.npz",
        help="real inputs: for --recover, and to re-calibrate swapped int8 tensors (TFLite)",
    )
    convert.add_argument(
        "--recover",
        nargs="?",
        const="bias",
        choices=["bias", "fit"],
        help="on the --calibration inputs: correct the biases after the swaps; fit: first fit "
        "each Hardsigmoid/Hardswish swap's constants (ONNX) or per-channel input map folded "
        "into the layers around it (TFLite)",
    )
    convert.add_argument("--opset", type=int, help="upgrade the ONNX opset first")
    convert.add_argument("--json", action="store_true", help="print the report as JSON")
    convert.set_defaults(run=_convert)

    verify = commands.add_parser(
        "verify",
        help="compare two models (e.g. before and after convert) on the same inputs",
        description="Exit status: 0 the outputs agree within the thresholds (defaults without "
        "any), 1 they do not, 2 bad input.",
    )
    verify.add_argument("original", help="the reference model (.onnx or .tflite)")
    verify.add_argument("converted", help="the model to check, same format")
    _verification_options(verify)
    verify.add_argument(
        "--target",
        choices=list(TARGETS),
        help="the runtime to compare in (default: onnxruntime, or LiteRT's builtin kernels)",
    )
    verify.add_argument(
        "--per-op",
        action="store_true",
        help="also compare every intermediate tensor both compute: name the first that differs",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(run=_verify)

    guide = commands.add_parser("guide", help="which activation to use where")
    guide.add_argument("scenario", nargs="?", help="one scenario (default: all)")
    guide.add_argument("--json", action="store_true", help="print the advice as JSON")
    guide.set_defaults(run=_guide)

    bench_cli.add_subcommand(commands)
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        with terminate_as_exit():
            return args.run(args)
    except KeyboardInterrupt:  # Ctrl-C: the shell's status for SIGINT, no traceback
        return 130
    except BrokenPipeError:  # stdout closed early (| head): quiet, as when SIGPIPE kills a tool
        _silence_stdout()
        return 141
    except (ValueError, TypeError, OSError) as error:
        print(f"edgeact {args.command}: error: {error}", file=sys.stderr)
        return 2


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush cannot fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
