"""Bad input gets one clear line and an exit code, never a crash or a hang (issue 12, items
5, 6 and 10; issue 10, item 7): NUL in commands, NaN and infinite durations and speeds,
non-UTF-8 `--var`, malformed injects, files that are not files, absurd nesting."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from engine_support import ROOT, cli, drive, runbook, write_runbook

from warroom.journal.state import StepStatus
from warroom.runbook.errors import RunbookError
from warroom.runbook.loader import load_runbook


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write_runbook(tmp_path, text)
    with pytest.raises(RunbookError) as info:
        load_runbook(path)
    return [str(p).replace(str(path), "rb.yaml") for p in info.value.problems]


# --- NUL --------------------------------------------------------------------------------------


def test_a_nul_in_a_command_is_refused_where_it_is_written(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
        steps:
          - id: a
            run: "printf 'a\\0b'"
          - id: b
            check: [printf, "x\\0y"]
        """)
    assert found == [
        "rb.yaml:3:20: a NUL character cannot be passed to a command",
        "rb.yaml:5:23: a NUL character cannot be passed to a command",
    ]


@pytest.mark.parametrize("use", ["printf %s {{ steps.src.outputs.v }}", "[printf, '%s', '{{ steps.src.outputs.v }}']"])
async def test_a_nul_from_a_captured_output_fails_the_step_with_a_reason(tmp_path: Path, use: str) -> None:
    rb = runbook(tmp_path, f"""\
        on_failure: continue
        steps:
          - id: src
            run: printf 'v=a\\000b\\n'
            outputs: {{v: {{regex: 'v=(.*)'}}}}
          - id: use
            needs: [src]
            run: {use}
          - id: other
            run: "true"
        """)
    run = await drive(tmp_path / "j.db", rb)
    assert run.state.steps["src"].outputs == {"v": "a\0b"}
    assert run.status("use") is StepStatus.FAILED and run.status("other") is StepStatus.SUCCEEDED
    assert run.first("step.failed", "use").data["reason"] == (
        "cannot run the command: steps.src.outputs.v holds a NUL character, which no command can take"
    )


# --- NaN, infinity, bounds ----------------------------------------------------------------------


def test_nan_and_infinite_durations_are_refused_with_their_place(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
        deadline: .inf
        steps:
          - id: a
            run: "true"
            timeout: .nan
            estimate: .nan
            retries: {count: 2, delay: -.inf, backoff: .nan}
            drill: {duration: [1s, .inf], fail: .nan}
          - id: b
            run: "true"
            timeout: 31d
            estimate: 1.0e+400
        """)
    assert found == [
        "rb.yaml:1:11: a duration can be at most 30d, got inf",
        "rb.yaml:5:14: a duration must be a number of seconds, got nan",
        "rb.yaml:6:15: a duration must be a number of seconds, got nan",
        "rb.yaml:7:32: a duration cannot be negative, got -inf",
        "rb.yaml:7:48: expected a finite number, got nan",
        "rb.yaml:8:23: a duration can be at most 30d, got inf",
        "rb.yaml:8:41: expected a finite number, got nan",
        "rb.yaml:11:14: a duration can be at most 30d, got '31d'",
        "rb.yaml:12:15: a duration can be at most 30d, got inf",
    ]


def test_a_retry_delay_stays_bounded_however_long_the_backoff_grows(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """\
        steps:
          - {id: a, run: "false", retries: {count: 5000, delay: 30d, backoff: 1.0e+300}}
          - {id: b, run: "false", retries: {count: 3, delay: 0s, backoff: 1.0e+300}}
        """)
    assert rb.step("a").retries.delay_before(4000) == 30 * 86400.0
    assert rb.step("b").retries.delay_before(4) == 0.0


def test_plan_ends_even_on_a_nan_estimate_from_an_old_journal() -> None:
    code = textwrap.dedent("""\
        from warroom.runbook.model import Runbook, Step, StepKind
        from warroom.runbook.plan import build_plan
        steps = tuple(Step(id=i, kind=StepKind.RUN, command="true", estimate_s=float("nan"), line=1) for i in "abc")
        print(build_plan(Runbook(id="r", title="r", steps=steps)).critical_path)
        """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("speed", ["nan", "inf", "1e308", "1e-320", "0", "fast"])
def test_a_bad_speed_is_one_usage_line(tmp_path: Path, speed: str) -> None:
    path = write_runbook(tmp_path, 'steps: [{id: a, run: "true"}]\n')
    result = cli("run", str(path), "--headless", "--drill", "--speed", speed, "--journal", str(tmp_path / "j.db"))
    assert result.returncode == 2
    assert result.stderr == f"warroom: --speed {speed!r}: give a number from 0.001 to 1e+06, or max\n"


# --- injects -------------------------------------------------------------------------------------


def test_bad_injects_are_refused_with_their_place(tmp_path: Path) -> None:
    path = write_runbook(tmp_path, 'steps: [{id: a, run: "true"}]\n')
    injects = tmp_path / "inj.yaml"
    injects.write_text(textwrap.dedent("""\
        - {at: .nan, note: x}
        - {at: 1m, fail: {step: a}}
        - {at: 1m, slow: {step: [a], by: 1m}}
        - {at: 1m, claim: {resource: db, for: .inf}}
        - {at: 1.0e+400, note: y}
        """))
    result = cli("run", str(path), "--headless", "--drill", "--inject", str(injects), "--journal", str(tmp_path / "j.db"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{injects}:1:3: at: a duration must be a number of seconds, got nan",
        f"{injects}:2:3: fail: give the id of the step to fail, like fail: stop-app",
        f"{injects}:3:3: slow: {{step: known-step-id, by: 3m}}",
        f"{injects}:4:3: a duration can be at most 30d, got inf",
        f"{injects}:5:3: at: a duration can be at most 30d, got inf",
    ]


# --- files and arguments -------------------------------------------------------------------------


def test_a_var_that_is_not_utf8_is_one_usage_line(tmp_path: Path) -> None:
    path = write_runbook(tmp_path, 'vars: {svc: web}\nsteps: [{id: a, run: "true"}]\n')
    result = subprocess.run([sys.executable, "-m", "warroom", "plan", str(path), "--var", b"svc=we\xffb"],
                            capture_output=True, timeout=30, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2
    assert result.stderr == b"warroom: --var 'svc=we\\\\xffb': not UTF-8 text\n"


def test_files_that_are_not_runbooks_are_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (8 * 1024 * 1024 + 1))
    result = cli("validate", "/dev/zero", str(fifo), str(tmp_path), str(big), timeout=30)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "/dev/zero: not a regular file (a pipe or a device), not a runbook file",
        f"{fifo}: not a regular file (a pipe or a device), not a runbook file",
        f"{tmp_path}: is a directory, not a runbook file",
        f"{big}: larger than 8 MiB: not a runbook file",
    ]
    inject = cli("run", str(write_runbook(tmp_path, 'steps: [{id: a, run: "true"}]\n')), "--headless", "--drill",
                 "--inject", "/dev/zero", "--journal", str(tmp_path / "j.db"), timeout=30)
    assert inject.returncode == 1 and inject.stderr == "/dev/zero: not a regular file (a pipe or a device), not an inject file\n"
