"""A suite with a stable, a pass-on-retry and an always-failing test.

The pass-on-retry test fails while the marker file named by FLAKY_MARKER does not exist and
creates it, so it fails on its first attempt and passes on its second.
"""

import os
import pathlib


def test_stable():
    assert 1 + 1 == 2


def test_passes_on_retry():
    marker = pathlib.Path(os.environ["FLAKY_MARKER"])
    if not marker.exists():
        marker.touch()
        assert False, "first attempt fails"


def test_always_fails():
    assert 1 == 2, "this test always fails"
