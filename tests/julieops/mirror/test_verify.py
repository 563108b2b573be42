"""Verification hashes: the same BLAKE3 whatever the read path, differences and errors found."""

import os
from concurrent.futures import ThreadPoolExecutor

import blake3

from julieops.mirror import open_endpoint
from julieops.mirror.verify import READ_BUFFER, compare_trees, hash_file, hash_many

SIZES = {"empty": 0, "small": 100, "edge": READ_BUFFER, "big": READ_BUFFER + 12345}


def write_files(root, sizes):
    root.mkdir(parents=True, exist_ok=True)
    for name, size in sizes.items():
        (root / name).write_bytes(os.urandom(size))
    return root


def test_it_hashes_small_and_large_files_like_blake3(tmp_path):
    root = write_files(tmp_path / "t", SIZES)
    endpoint = open_endpoint(str(root))
    buffer = bytearray(READ_BUFFER)
    for name, size in SIZES.items():
        expected = blake3.blake3((root / name).read_bytes()).hexdigest()
        assert hash_file(endpoint, name, size, buffer) == expected
        assert hash_file(endpoint, name, size) == expected


def test_it_reads_a_file_that_grew_since_it_was_listed_to_its_end(tmp_path):
    root = write_files(tmp_path / "t", {"grew": 5000})
    expected = blake3.blake3((root / "grew").read_bytes()).hexdigest()
    assert hash_file(open_endpoint(str(root)), "grew", 10) == expected


def test_it_finds_each_differing_or_unreadable_file_among_many(tmp_path):
    names = {f"f{i:03d}": 10 + i for i in range(150)} | {"big": READ_BUFFER + 1}
    src = write_files(tmp_path / "src", names)
    dst = tmp_path / "dst"
    dst.mkdir()
    for name in names:
        (dst / name).write_bytes((src / name).read_bytes())
    (dst / "f100").write_bytes(b"x" * names["f100"])
    (dst / "big").write_bytes(b"y" * names["big"])
    (dst / "f007").unlink()
    items = sorted(names.items())

    with ThreadPoolExecutor(2) as pool:
        a, b = open_endpoint(str(src)), open_endpoint(str(dst))
        hashes, problems = compare_trees(a, b, items, pool)
        single = hash_many(b, [("f001", names["f001"]), ("f007", 17)], pool)

    assert sorted(rel for rel, _ in problems) == ["big", "f007", "f100"]
    assert "lecture impossible" in dict(problems)["f007"]
    assert len(hashes) == len(names) - 3
    assert hashes["f001"] == single["f001"] and isinstance(single["f007"], FileNotFoundError)
