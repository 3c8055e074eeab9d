"""Load profiles: the built-ins' shapes, `t,load` files and their errors, lab time."""

from __future__ import annotations

import pytest

from app.autoscale.load import (
    BUILTIN_PROFILES,
    LoadFileError,
    LoadProfile,
    builtin_profile,
    read_profile_file,
    resolve_profile,
)


def test_interpolates_between_points_and_steps_at_repeated_times():
    profile = LoadProfile("p", ((0, 100), (10, 200), (10, 1000), (20, 1000)))
    assert profile.at(0) == 100
    assert profile.at(5) == 150
    assert profile.at(9.999) == pytest.approx(199.99)
    assert profile.at(10) == 1000  # the later point of a step
    assert profile.at(15) == 1000
    assert profile.at(99) == 1000  # holds after the end
    assert profile.duration == 20
    assert profile.peak == 1000


def test_spike_shape():
    spike = builtin_profile("spike", peak=10_000, baseline=1_500)
    assert spike.duration == 1800
    assert spike.at(59) == 1_500
    assert spike.at(60) == 10_000
    assert spike.at(359) == 10_000
    assert spike.at(360) == 1_500
    assert spike.at(1800) == 1_500


def test_ramp_diurnal_and_drop_shapes():
    ramp = builtin_profile("ramp", peak=10_000, baseline=1_500)
    assert ramp.at(60) == 1_500
    assert ramp.at(360) == pytest.approx(5_750)  # halfway up the 10-minute climb
    assert ramp.at(660) == 10_000
    assert ramp.at(1_260) == 1_500
    diurnal = builtin_profile("diurnal", peak=10_000, baseline=1_000)
    assert diurnal.at(0) == pytest.approx(1_000)
    assert diurnal.at(900) == pytest.approx(10_000)
    assert diurnal.at(450) == pytest.approx(5_500, rel=0.01)
    assert diurnal.at(1800) == pytest.approx(1_000)
    drop = builtin_profile("drop", peak=10_000, baseline=1_500, duration=600)
    assert drop.at(0) == 10_000
    assert drop.at(99) == 10_000
    assert drop.at(100) == 1_500
    assert drop.duration == 600


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"peak": 100, "baseline": 200}, "peak (100) must be above baseline (200)"),
        ({"peak": 100, "baseline": -1}, "baseline must be"),
        ({"peak": 100, "baseline": 0, "duration": 10}, "duration must be between"),
    ],
)
def test_builtin_parameters_are_checked(kwargs, message):
    with pytest.raises(LoadFileError) as caught:
        builtin_profile("spike", **kwargs)
    assert message in caught.value.messages[0]


def test_reads_a_file_with_header_comments_and_a_step(tmp_path):
    path = tmp_path / "load.csv"
    path.write_text("t,load\n# warm-up\n0, 100\n\n60,100\n60,900  # the spike\n300,900\n")
    profile = read_profile_file(path)
    assert profile.points == ((0, 100), (60, 100), (60, 900), (300, 900))
    assert profile.name == str(path)


def test_bad_rows_are_reported_with_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "\n".join(
            [
                "t,load",  # 1
                "0,100",  # 2
                "10",  # 3
                "abc,5",  # 4
                "20,lots",  # 5
                "30,-4",  # 6
                "40,100",  # 7
                "35,100",  # 8
                "40,200",  # 9
                "40,300",  # 10
                "nan,1",  # 11
            ]
        )
    )
    with pytest.raises(LoadFileError) as caught:
        read_profile_file(path)
    assert caught.value.messages == [
        f"{path}:3: expected 2 fields `t,load`, found 1",
        f"{path}:4: t 'abc' is not a number of seconds",
        f"{path}:5: load 'lots' is not a number",
        f"{path}:6: load -4 is negative",
        f"{path}:8: t 35 comes before the previous point's 40 (times must not decrease)",
        f"{path}:10: a third point at t 40 (a step has two)",
        f"{path}:11: t 'nan' is not a number of seconds",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no points"),
        ("t,load\n", "no points"),
        ("0,100\n", "the profile lasts 0 s"),
        ("5,100\n10,100\n", ":1: the first point must be at t = 0"),
        ("0,100\n90000,1\n", ":2: t 90000 is beyond 24 h"),
    ],
)
def test_files_that_are_not_a_profile(tmp_path, content, message):
    path = tmp_path / "x.csv"
    path.write_text(content)
    with pytest.raises(LoadFileError) as caught:
        read_profile_file(path)
    assert message in caught.value.messages[0]
    assert caught.value.messages[0].startswith(str(path))


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(LoadFileError, match="no such file"):
        read_profile_file(tmp_path / "absent.csv")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"0,1\n\xff\xfe\n")
    with pytest.raises(LoadFileError, match="not UTF-8"):
        read_profile_file(binary)


def test_many_bad_rows_are_capped(tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("0,1\n" + "x,y\n" * 50)
    with pytest.raises(LoadFileError) as caught:
        read_profile_file(path)
    assert len(caught.value.messages) == 21
    assert caught.value.messages[-1].endswith("and 30 more bad rows")


def test_resolve_takes_a_builtin_name_or_a_file(tmp_path):
    for name in BUILTIN_PROFILES:
        assert resolve_profile(name, peak=10, baseline=1).name == name
    path = tmp_path / "p.csv"
    path.write_text("0,1\n10,2\n")
    assert resolve_profile(str(path), peak=10, baseline=1).points == ((0, 1), (10, 2))
    with pytest.raises(LoadFileError, match="not a built-in load profile .* and no such file"):
        resolve_profile("spiky", peak=10, baseline=1)


def test_lab_time_divides_each_segment_with_a_one_second_floor():
    profile = LoadProfile("p", ((0, 1), (60, 1), (60, 9), (64, 9), (300, 1)))
    lab = profile.scaled(10)
    # 60 -> 6; the step stays a step; 4 -> 1 (floor); 236 -> 24.
    assert lab.points == ((0, 1), (6, 1), (6, 9), (7, 9), (31, 1))
    assert profile.scaled(1) is profile


def test_every_second_matches_at():
    profile = builtin_profile("ramp", peak=10_000, baseline=1_500, duration=600)
    stepped = LoadProfile("p", ((0, 1), (2.5, 1), (2.5, 7), (4, 3)))
    for shape in (profile, stepped):
        seconds = int(shape.duration) + 3
        assert shape.every_second(seconds) == pytest.approx(
            [shape.at(t) for t in range(seconds + 1)]
        )
