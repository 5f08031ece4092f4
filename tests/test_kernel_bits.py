"""Every kernel gives the recorded bits, NaN payloads included, on whatever CPU runs the suite.

The digests in tests/fixtures/kernel_bits.json were recorded on x86-64; CI checks them there and
on the emulated AArch64 CPU, so a kernel that computes differently on ARM (another rounding, a
NaN's sign) fails here. After an intended change, re-record: ``python tests/_kernel_bits.py
--record``.
"""

import json

from tests import _kernel_bits


def test_every_kernel_gives_the_recorded_bits():
    recorded = json.loads(_kernel_bits.RECORDED.read_text())
    got = _kernel_bits.digests(_kernel_bits.results())
    assert got.keys() == recorded.keys()
    differ = sorted(k for k in recorded if got[k] != recorded[k])
    assert not differ, f"kernels differ from the recorded bits in: {', '.join(differ)}"
