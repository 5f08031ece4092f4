"""``edgeact bench kernels`` from a checkout, without installing: the same options and output.

    python bench/bench_kernels.py --json bench/results/bench-kernels-x86_64.json \
        --plot bench/results/bench-kernels-x86_64.png

See bench/README.md.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout this file is in

from edgeact.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "kernels", *sys.argv[1:]]))
