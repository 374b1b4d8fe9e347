"""One build at a time: the data folder's lock, its holder named, a killed holder's lock taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from semantic.errors import SemanticLockError
from semantic.warehouse.locking import acquire, held_fd, lock_path, read_holder, release

BIN = Path(sys.executable).parent
HOLD = "import sys, time; from pathlib import Path; from semantic.warehouse.locking import acquire; " \
       "acquire(Path(sys.argv[1])); print('held', flush=True); time.sleep(float(sys.argv[2]))"


def holder(data_dir: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process that takes the lock and keeps it for `seconds`."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(data_dir), str(seconds)], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_a_second_taker_is_refused_with_the_holder_named_and_a_killed_holders_lock_is_taken_over(tmp_path):
    other = holder(tmp_path, 60)
    try:
        with pytest.raises(SemanticLockError, match=f"another build holds .*pid {other.pid}, started .* UTC"):
            acquire(tmp_path, timeout=0)
        assert read_holder(lock_path(tmp_path)).pid == other.pid
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()
    acquire(tmp_path, timeout=0)  # the system released the killed process's lock
    try:
        assert read_holder(lock_path(tmp_path)).pid == os.getpid()
        assert held_fd(tmp_path) is not None
        acquire(tmp_path)  # re-entrant in one process
    finally:
        release(tmp_path)
    assert held_fd(tmp_path) is None


def test_a_taker_with_a_timeout_waits_for_the_holder_to_finish(tmp_path):
    other = holder(tmp_path, 1.0)
    start = time.monotonic()
    try:
        acquire(tmp_path, timeout=20)
        assert time.monotonic() - start >= 0.5
    finally:
        release(tmp_path)
        other.wait()


@pytest.mark.slow
def test_two_builds_at_once_one_publishes_the_other_exits_naming_it(tmp_path):
    from semantic.warehouse.scaffold import write_starter

    project = tmp_path / "two"
    write_starter(project)
    pq.write_table(pa.table({"asset_id": ["a1", "a2", "a3"], "text": [
        "Waterproof trail jacket.", "Waterproof trail jacket!", "Cold brew coffee, half price."]}),
        project / "data" / "inputs" / "assets.parquet")
    env = dict(os.environ, HF_HUB_OFFLINE="1", DBT_SEND_ANONYMOUS_USAGE_STATS="False", DBT_PROFILES_DIR=str(project),
               SEMANTIC_HOME=str(project))
    for key in ("SEMANTIC_DB", "SEMANTIC_LANCE_DIR", "SEMANTIC_MODELS_DIR", "SEMANTIC_MODEL_DIR",
                "SEMANTIC_LOCK_TIMEOUT"):
        env.pop(key, None)
    command = [str(BIN / "semantic"), "build", "--project-dir", str(project), "--vars", "{semantic_train: false}"]
    first = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lock = lock_path(project / "data")
    deadline = time.monotonic() + 120
    while read_holder(lock).pid != first.pid:  # the first build holds the lock
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.1)
    second = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)
    plain = subprocess.run([str(BIN / "dbt"), "build"], cwd=project, env=env, capture_output=True, text=True,
                           timeout=300)
    output, _ = first.communicate(timeout=900)
    assert first.returncode == 0, output[-3000:]
    assert "published" in output
    assert second.returncode == 2
    assert f"another build holds {lock} (pid {first.pid}" in second.stderr
    assert plain.returncode != 0  # a plain dbt build is refused too, before it writes anything
    assert f"another build holds {lock} (pid {first.pid}" in plain.stdout and "Traceback" not in plain.stdout
    # the lock is free again: the next build runs
    third = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-2000:]
    # and the data folder the two builds raced on is sound
    doctor = subprocess.run([str(BIN / "semantic"), "doctor"], cwd=project, env=env, capture_output=True, text=True,
                            timeout=300)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert " 0 failed, 0 fixed" in doctor.stdout
