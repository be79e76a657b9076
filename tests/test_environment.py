"""In CI the real-data tests must run, not skip: the shared data is laid beside the checkout."""

from __future__ import annotations

import os

import pytest

from tests.conftest import SHARED_DATA

#: Every file the real-data tests read (a renamed file would otherwise skip them quietly).
FILES = (
    "russia/2004.csv.zip",
    "russia/2011.csv.zip",
    "russia/2012.csv.zip",
    "russia/2021.csv.zip",
    "poland-2020/round1.csv.zip",
    "albania-2013/Albania2013.csv.gz",
    "moscow-2011-observers/result_412_GN.csv",
    "moscow-2011-observers/result_412_OF.csv",
)


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="only CI promises ../shared/data")
def test_shared_data_is_there_in_ci() -> None:
    missing = [f for f in FILES if not (SHARED_DATA / f).exists()]
    assert missing == [], f"real-data tests would skip: {missing} missing in {SHARED_DATA}"
