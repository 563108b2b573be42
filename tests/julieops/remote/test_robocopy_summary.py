from pathlib import Path

import pytest

from julieops.mirror.robocopy import decode_log, exit_code_meaning, parse_summary

FIXTURES = Path(__file__).parents[2] / "fixtures" / "windows" / "robocopy"


def test_it_parses_an_english_bytes_summary_whose_columns_touch():
    summary = parse_summary((FIXTURES / "robocopy_en_bytes.log").read_bytes())
    assert summary["dirs"] == dict(total=214, copied=2, skipped=212, mismatch=0, failed=0, extras=0)
    assert summary["files"] == dict(
        total=9581, copied=4, skipped=9576, mismatch=0, failed=1, extras=1
    )
    assert summary["bytes"] == dict(
        total=4210346711,
        copied=3350421,
        skipped=4206602242,
        mismatch=0,
        failed=393216,
        extras=4096,
    )


def test_it_parses_a_french_cp850_summary_with_merged_headings_and_units():
    data = (FIXTURES / "robocopy_fr_cp850.log").read_bytes()
    assert "IgnoréDiscordance".encode("cp850") in data
    summary = parse_summary(data)
    assert summary["dirs"] == dict(total=88, copied=1, skipped=87, mismatch=0, failed=0, extras=0)
    assert summary["files"]["extras"] == 1 and summary["files"]["copied"] == 2
    assert summary["bytes"]["total"] == round(1.254 * 1024**3)
    assert summary["bytes"]["copied"] == round(1.90 * 1024**2)
    assert summary["bytes"]["extras"] == 512


def test_it_parses_a_utf16_unilog_and_accepts_text():
    data = (FIXTURES / "robocopy_fr_unilog.log").read_bytes()
    assert data[:2] == b"\xff\xfe"
    expected = dict(
        total=1346530720, copied=20480, skipped=1346510240, mismatch=0, failed=0, extras=131072
    )
    assert parse_summary(data)["bytes"] == expected
    assert parse_summary(data.decode("utf-16"))["bytes"] == expected
    assert parse_summary(data[2:])["dirs"]["extras"] == 1  # no BOM


def test_it_takes_the_last_job_of_an_appended_log():
    first = (FIXTURES / "robocopy_fr_cp850.log").read_bytes().decode("cp850")
    second = (FIXTURES / "robocopy_fr_unilog.log").read_bytes().decode("utf-16")
    assert parse_summary(first + second)["files"]["total"] == 3128


def test_it_refuses_a_log_without_summary():
    text = decode_log((FIXTURES / "robocopy_en_bytes.log").read_bytes())
    with pytest.raises(ValueError, match="introuvable"):
        parse_summary(text.split("               Total")[0])


def test_it_explains_exit_codes_in_french():
    assert "déjà identique" in exit_code_meaning(0)
    three = exit_code_meaning(3)
    assert "réussite" in three and "copiés" in three and "en trop" in three
    eleven = exit_code_meaning(11)
    assert (
        "échec" in eleven and "n'ont pas pu être copiés" in eleven and "discordants" not in eleven
    )
    assert "erreur grave" in exit_code_meaning(16)
