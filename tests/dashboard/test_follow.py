"""LogFollower: existing content, appends, late files, partial lines, truncation, rotation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srpc.dashboard.follow import LogFollower

from .helpers import append


def lines_of(data: bytes) -> list[str]:
    return data.decode().splitlines()


def test_reads_existing_content_then_appends(log: Path) -> None:
    append(log, "a", "b")
    with LogFollower(log) as f:
        assert lines_of(f.poll()) == ["a", "b"]
        assert f.poll() == b""
        append(log, "c")
        assert lines_of(f.poll()) == ["c"]


def test_waits_for_a_log_that_does_not_exist_yet(log: Path) -> None:
    with LogFollower(log) as f:
        assert not f.exists
        assert f.poll() == b""
        append(log, "first")
        assert f.exists
        assert lines_of(f.poll()) == ["first"]


def test_holds_a_partial_line_until_its_newline(log: Path) -> None:
    with LogFollower(log) as f:
        log.write_text('{"ts": 1, ')
        assert f.poll() == b""
        with log.open("a") as fh:
            fh.write('"x": 2}\n{"y"')
        assert lines_of(f.poll()) == ['{"ts": 1, "x": 2}']
        with log.open("a") as fh:
            fh.write(": 3}\n")
        assert lines_of(f.poll()) == ['{"y": 3}']


def test_small_chunks_deliver_everything(log: Path) -> None:
    expected = [f"line {i} " + "x" * (i % 37) for i in range(500)]
    append(log, *expected)
    with LogFollower(log, chunk=64) as f:
        assert lines_of(f.read_all()) == expected


def test_truncation_starts_over(log: Path) -> None:
    append(log, "one", "two", "three")
    with LogFollower(log) as f:
        assert len(lines_of(f.poll())) == 3
        with log.open("w") as fh:  # truncate in place, same inode
            fh.write("new\n")
        assert lines_of(f.poll()) == ["new"]
        assert f.truncations == 1
        append(log, "more")
        assert lines_of(f.poll()) == ["more"]


def test_rotation_reads_the_old_file_to_its_end_then_follows_the_new(log: Path) -> None:
    append(log, "old 1")
    with LogFollower(log) as f:
        assert lines_of(f.poll()) == ["old 1"]
        append(log, "old 2")  # written after the last poll, before the rotation
        os.replace(log, log.with_name(log.name + ".1"))
        assert lines_of(f.poll()) == ["old 2"]  # not recreated yet: nothing lost
        append(log, "new 1", "new 2")
        got = lines_of(f.poll())
        got += lines_of(f.poll())
        assert got == ["new 1", "new 2"]
        assert f.rotations == 1


def test_rotation_with_the_new_file_already_there(log: Path) -> None:
    append(log, "old 1")
    with LogFollower(log) as f:
        f.poll()
        append(log, "old 2")
        os.replace(log, log.with_name(log.name + ".1"))
        append(log, "new 1")
        got = lines_of(f.poll())
        got += lines_of(f.poll())
        assert got == ["old 2", "new 1"]


def test_deleted_and_recreated(log: Path) -> None:
    append(log, "a")
    with LogFollower(log) as f:
        f.poll()
        log.unlink()
        assert f.poll() == b""
        append(log, "b")
        got = lines_of(f.poll()) + lines_of(f.poll())
        assert got == ["b"]


def test_an_endless_line_is_dropped_and_counted(log: Path) -> None:
    log.write_bytes(b"x" * (2 * 1024 * 1024) + b"\nok\n")
    with LogFollower(log, chunk=256 * 1024) as f:
        got = lines_of(f.read_all())
        # the head is dropped; the tail reaches the parser, which counts it as malformed
        assert got[-1] == "ok"
        assert sum(len(line) for line in got) < 1024 * 1024
        assert f.dropped_partial == 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30), st.data()
)
def test_any_write_pattern_yields_exactly_the_complete_lines(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], data: st.DataObject
) -> None:
    log = tmp_path_factory.mktemp("follow") / "m.log"
    payload = b"".join(line + b"\n" for line in lines) + b"partial"
    cuts = sorted(data.draw(st.lists(st.integers(0, len(payload)), max_size=8)))
    got = b""
    with LogFollower(log, chunk=data.draw(st.integers(1, 64))) as f:
        previous = 0
        for cut in [*cuts, len(payload)]:
            with log.open("ab") as fh:
                fh.write(payload[previous:cut])
            previous = cut
            got += f.read_all()
    assert got == b"".join(line + b"\n" for line in lines)


def _backup(log: Path, n: int) -> Path:
    return log.with_name(f"{log.name}.{n}")


def test_backups_present_at_start_are_read_oldest_first(log: Path) -> None:
    append(_backup(log, 2), "oldest 1", "oldest 2")
    append(_backup(log, 1), "older")
    append(log, "current")
    with LogFollower(log) as f:
        assert lines_of(f.read_all()) == ["oldest 1", "oldest 2", "older", "current"]
        assert f.backups_read == 2
        append(log, "next")
        assert lines_of(f.poll()) == ["next"]


def test_backups_stop_at_the_first_missing_number(log: Path) -> None:
    append(_backup(log, 1), "kept")
    append(_backup(log, 3), "stray: .2 is missing")
    append(log, "current")
    with LogFollower(log) as f:
        assert lines_of(f.read_all()) == ["kept", "current"]


def test_a_backup_that_is_the_log_itself_is_read_once(log: Path) -> None:
    # A rotation between opening the log and listing its backups: .1 is the file already open.
    append(log, "only once")
    os.link(log, _backup(log, 1))
    with LogFollower(log) as f:
        assert lines_of(f.read_all()) == ["only once"]


def test_a_backup_cut_mid_line_drops_that_line_only(log: Path) -> None:
    _backup(log, 1).write_bytes(b"whole\ncut in the mid")
    append(log, "current")
    with LogFollower(log) as f:
        assert lines_of(f.read_all()) == ["whole", "current"]
        assert f.dropped_partial == 1
