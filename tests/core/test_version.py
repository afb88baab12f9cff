"""One version number: the facade's ``__version__`` is the one verdicts are stamped with."""

import shipyard
from shipyard.core.version import __version__


def test_the_facade_and_the_verdicts_report_the_same_version() -> None:
    assert shipyard.__version__ == __version__
