"""The plain records behind MirrorOptions, Summary and Plan behave like the dataclasses they were."""

import pytest

from julieops.mirror import MirrorOptions, Summary
from julieops.mirror.plan import Plan


def test_it_fills_defaults_and_gives_each_instance_its_own_lists():
    a, b = MirrorOptions(verify=True, exclude=["*.tmp"]), MirrorOptions()
    assert (a.verify, a.retries, a.exclude, b.exclude) == (True, 2, ["*.tmp"], [])
    b.exclude.append("x")
    assert MirrorOptions().exclude == [] and Plan().copies is not Plan().copies
    assert Summary().files is not Summary().files and Summary().started > 0


def test_it_refuses_unknown_fields_and_compares_by_value():
    with pytest.raises(TypeError):
        MirrorOptions(verfy=True)
    assert MirrorOptions(dry_run=True) == MirrorOptions(dry_run=True) != MirrorOptions()
    assert "dry_run=True" in repr(MirrorOptions(dry_run=True))
