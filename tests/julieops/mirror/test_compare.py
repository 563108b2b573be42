"""robocopy /MIR comparison classes and tree shapes, local to local."""

import os
import unicodedata

from julieops.mirror import MirrorOptions, open_endpoint, run_mirror
from julieops.mirror.endpoints import LocalEndpoint
from tests.julieops.mirror.trees import OLD, make_tree, snapshot, without_links

SECOND = 1_000_000_000


def mirror(src, dst, **options):
    lines = []
    opts = MirrorOptions(retry_wait=0.01, **options)
    with open_endpoint(str(src)) as a, open_endpoint(str(dst)) as b:
        summary = run_mirror(a, b, opts, log=lambda level, text: lines.append(text))
    return summary, lines


def tagged(lines, tag):
    return sorted(line.split("\t")[-1] for line in lines if line.split("\t")[0] == tag)


def test_it_copies_lonely_newer_older_changed_and_skips_same(tmp_path):
    src = make_tree(
        tmp_path / "src",
        {
            "Datas": {
                "lonely": b"1",
                "newer": b"22",
                "older": b"33",
                "changed": b"4444",
                "same": b"55",
            }
        },
    )
    dst = make_tree(
        tmp_path / "dst",
        {"Datas": {"newer": b"xx", "older": b"yy", "changed": b"44", "same": b"55"}},
    )
    d = src / "Datas"
    os.utime(d / "newer", ns=(OLD + 10 * SECOND,) * 2)
    os.utime(dst / "Datas" / "older", ns=(OLD + 10 * SECOND,) * 2)

    summary, lines = mirror(src, dst)

    assert tagged(lines, "Nouveau fichier") == ["Datas/lonely"]
    assert tagged(lines, "Plus récent") == ["Datas/newer"]
    assert tagged(lines, "Plus ancien") == ["Datas/older"]  # the source wins even when older
    assert tagged(lines, "Modifié") == ["Datas/changed"]
    assert summary.files.as_dict() == {
        "total": 5,
        "copied": 4,
        "skipped": 1,
        "mismatch": 0,
        "failed": 0,
        "extras": 0,
    }
    assert summary.exit_code == 1
    assert snapshot(dst) == snapshot(src)


def test_it_deletes_extras_after_copying_and_reports_them(tmp_path):
    src = make_tree(tmp_path / "src", {"Datas": {"keep": b"k"}})
    dst = make_tree(
        tmp_path / "dst",
        {"Datas": {"keep": b"k", "gone.txt": b"123", "olddir": {"x": b"1", "deep": {"y": b"22"}}}},
    )
    summary, lines = mirror(src, dst)

    assert tagged(lines, "*FICHIER EN TROP") == [
        "Datas/gone.txt",
        "Datas/olddir/deep/y",
        "Datas/olddir/x",
    ]
    assert tagged(lines, "*RÉP. EN TROP") == ["Datas/olddir", "Datas/olddir/deep"]
    assert (summary.files.extras, summary.dirs.extras, summary.bytes.extras) == (3, 2, 6)
    assert summary.exit_code == 2
    assert snapshot(dst) == snapshot(src)


def test_it_replaces_mismatched_entries_both_ways(tmp_path):
    src = make_tree(
        tmp_path / "src", {"Datas": {"was_dir": b"now a file", "was_file": {"f": b"1"}}}
    )
    dst = make_tree(
        tmp_path / "dst", {"Datas": {"was_dir": {"inner": {"z": b"z"}}, "was_file": b"old"}}
    )
    summary, lines = mirror(src, dst)

    assert tagged(lines, "*DISCORDANCE") == ["Datas/was_dir", "Datas/was_file"]
    assert summary.files.mismatch == 1 and summary.dirs.mismatch == 1
    assert summary.exit_code & 4
    assert snapshot(dst) == snapshot(src)
    again, _ = mirror(src, dst)
    assert again.exit_code == 0


def test_it_records_links_without_following_them(tmp_path):
    outside = make_tree(tmp_path / "outside", {"secret.txt": b"not part of the tree"})
    src = make_tree(tmp_path / "src", {"Datas": {"a": b"1"}})
    (src / "Datas" / "to_outside").symlink_to(outside)
    (src / "Datas" / "file_link").symlink_to(outside / "secret.txt")
    dst = tmp_path / "dst"

    summary, lines = mirror(src, dst)

    assert sorted(summary.links) == ["Datas/file_link", "Datas/to_outside"]
    assert tagged(lines, "Lien ignoré") == ["Datas/file_link", "Datas/to_outside"]
    assert not (dst / "Datas" / "to_outside").exists()
    assert not (dst / "Datas" / "file_link").exists()
    assert snapshot(dst) == without_links(snapshot(src))
    assert summary.exit_code == 1


def test_it_never_follows_a_destination_link(tmp_path):
    victim = make_tree(tmp_path / "victim", {"precious.txt": b"keep me"})
    src = make_tree(tmp_path / "src", {"Datas": {"sub": {"new.txt": b"n"}}})
    dst = make_tree(tmp_path / "dst", {"Datas": {}})
    (dst / "Datas" / "sub").symlink_to(victim)  # a link where the source has a directory
    (dst / "Datas" / "extra_link").symlink_to(victim)

    summary, _ = mirror(src, dst)

    assert summary.exit_code & 4 and summary.exit_code & 2
    assert snapshot(victim) == {"precious.txt": snapshot(victim)["precious.txt"]}
    assert (victim / "precious.txt").read_bytes() == b"keep me"
    assert snapshot(dst) == snapshot(src)


def test_it_creates_empty_folders_and_preserves_file_and_folder_times(tmp_path):
    src = make_tree(
        tmp_path / "src", {"Datas": {"empty": {}, "nested": {"deeper": {}}, "f.bin": b"\0" * 1000}}
    )
    os.utime(src / "Datas" / "nested", ns=(OLD - 86400 * SECOND,) * 2)
    summary, _ = mirror(src, tmp_path / "dst")

    dst = tmp_path / "dst"
    assert (dst / "Datas" / "empty").is_dir() and (dst / "Datas" / "nested" / "deeper").is_dir()
    assert (dst / "Datas" / "nested").stat().st_mtime_ns == OLD - 86400 * SECOND
    assert (dst / "Datas" / "f.bin").stat().st_mtime_ns == OLD
    assert (dst / "Datas").stat().st_mtime_ns == OLD
    assert snapshot(dst) == snapshot(src)
    assert summary.dirs.as_dict()["copied"] == 5  # root, Datas, empty, nested, deeper


def test_it_tolerates_two_seconds_when_a_side_is_not_exact(tmp_path):
    src = make_tree(tmp_path / "src", {"Datas": {"f": b"abc"}})
    dst = make_tree(tmp_path / "dst", {"Datas": {"f": b"abc"}}, mtime_ns=OLD + SECOND)
    exact, lines = mirror(src, dst, dry_run=True)
    assert tagged(lines, "Plus ancien") == ["Datas/f"]  # local POSIX: exact times
    tolerant, _ = mirror(src, dst, dry_run=True, modify_window=2)
    assert tolerant.files.skipped == 1 and tolerant.exit_code == 0


def test_it_copies_paths_longer_than_260_characters(tmp_path):
    parts = [f"dossier_{i:02d}_" + "x" * 40 for i in range(7)]
    spec = {"fichier_au_bout.txt": b"fin"}
    for part in reversed(parts):
        spec = {part: spec}
    src = make_tree(tmp_path / "src", {"Datas": spec})
    rel = "Datas/" + "/".join(parts) + "/fichier_au_bout.txt"
    assert len(rel) > 260

    summary, _ = mirror(src, tmp_path / "dst")

    assert (tmp_path / "dst" / rel).read_bytes() == b"fin"
    assert summary.files.copied == 1 and summary.exit_code == 1


def test_it_keeps_nfc_and_nfd_names_apart(tmp_path):
    nfc = unicodedata.normalize("NFC", "Dr Hélène Müller.txt")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    src = make_tree(
        tmp_path / "src",
        {"Datas": {nfc: b"composed", nfd: b"decomposed", "Patients_éèàç": {"Noël.dat": b"n"}}},
    )
    summary, _ = mirror(src, tmp_path / "dst")

    assert summary.files.copied == 3
    assert (tmp_path / "dst" / "Datas" / nfc).read_bytes() == b"composed"
    assert (tmp_path / "dst" / "Datas" / nfd).read_bytes() == b"decomposed"
    assert mirror(src, tmp_path / "dst")[0].exit_code == 0


def test_it_copies_read_only_and_zero_byte_files(tmp_path):
    src = make_tree(tmp_path / "src", {"Datas": {"ro.dat": b"locked", "empty.dat": b""}})
    (src / "Datas" / "ro.dat").chmod(0o444)
    dst = make_tree(tmp_path / "dst", {"Datas": {"ro.dat": b"older content"}})
    (dst / "Datas" / "ro.dat").chmod(0o444)

    summary, _ = mirror(src, dst)

    assert (dst / "Datas" / "ro.dat").read_bytes() == b"locked"
    assert (dst / "Datas" / "ro.dat").stat().st_mode & 0o777 == 0o444
    assert (dst / "Datas" / "empty.dat").stat().st_size == 0
    assert summary.files.copied == 2
    assert snapshot(dst) == snapshot(src)


def test_it_leaves_excluded_names_alone_on_both_sides(tmp_path):
    src = make_tree(
        tmp_path / "src", {"Datas": {"a.dat": b"a", "tmp.log": b"l", "Cache": {"c": b"c"}}}
    )
    dst = make_tree(tmp_path / "dst", {"Datas": {"local.log": b"kept"}})
    summary, _ = mirror(src, dst, exclude=["*.log", "Datas/cache"])

    assert sorted(p.name for p in (dst / "Datas").iterdir()) == ["a.dat", "local.log"]
    assert summary.files.total == 1 and summary.files.extras == 0


class ReversedListings(LocalEndpoint):
    """A destination that lists every folder in the opposite order (as another file system
    might): the planner then compares folder by folder, not whole trees."""

    def list_dir(self, rel):
        return super().list_dir(rel)[::-1]


def test_an_unchanged_rerun_keeps_every_file_whatever_order_the_folders_list_in(tmp_path):
    src = make_tree(
        tmp_path / "src",
        {
            "Datas": {"a": b"1", "b": b"22", "sub": {"c": b"333", "deeper": {"d": b"4"}}},
            "Images": {"x.jpg": b"jpeg", "y.jpg": b"jpeg2"},
            "top.txt": b"t",
        },
    )
    (src / "Datas" / "link").symlink_to(src / "Images")
    os.utime(src / "Datas", ns=(OLD, OLD), follow_symlinks=False)
    dst = tmp_path / "dst"
    first, _ = mirror(src, dst)
    assert first.files.copied == 7

    for dest in (LocalEndpoint(str(dst)), ReversedListings(str(dst))):
        with LocalEndpoint(str(src)) as a, dest as b:
            again = run_mirror(a, b, MirrorOptions(verify_all=True))
        # every file kept and hashed on both sides (verify_all reads each kept path)
        assert again.files.as_dict() == {
            "total": 7,
            "copied": 0,
            "skipped": 7,
            "mismatch": 0,
            "failed": 0,
            "extras": 0,
        }
        assert again.bytes.skipped == 1 + 2 + 3 + 1 + 4 + 5 + 1
        assert again.links == ["Datas/link"]
        assert again.dirs.as_dict()["total"] == 5  # the root, Datas, sub, deeper, Images
        assert (again.exit_code, again.failures) == (0, [])
    assert snapshot(dst) == without_links(snapshot(src))
