"""The command line as a person meets it: help, plan, checklist, schema, and the layering rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from warroom.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
SUBCOMMANDS = [
    "validate", "plan", "run", "resume", "replay", "list", "export", "verify", "report",
    "checklist", "schema", "approve", "reject", "done", "fail", "retry", "skip", "undo",
    "claim", "release", "note",
]


def warroom(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "warroom", *args], capture_output=True, text=True, input=stdin, cwd=ROOT)


def test_every_subcommand_is_registered_and_explains_itself(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit) as info:
            parser.parse_args([name, "--help"])
        assert info.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: warroom {name}") and len(out.splitlines()) > 3, name
    top = warroom("--help")
    assert top.returncode == 0 and all(name in top.stdout for name in SUBCOMMANDS)


def test_core_layers_never_import_textual() -> None:
    code = (
        "import sys\n"
        "import warroom.cli, warroom.runbook.loader, warroom.runbook.plan, warroom.journal.store,"
        " warroom.journal.reducer, warroom.journal.export, warroom.journal.report,"
        " warroom.engine.loop, warroom.engine.session, warroom.cli.run_commands, warroom.cli.journal_commands\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""


def test_plan_prints_levels_critical_path_and_saving() -> None:
    res = warroom("plan", "runbooks/web-outage.yaml")
    assert res.returncode == 0, res.stderr
    text = res.stdout
    assert "parallel" in text and "critical path" in text.lower() and "saving" in text.lower()
    data = json.loads(warroom("plan", "runbooks/web-outage.yaml", "--json").stdout)
    for key in ("runbook", "model", "steps", "levels", "critical_path", "estimate", "lock_conflicts"):
        assert key in data
    assert set(data["estimate"]) >= {"linear_s", "parallel_s", "saving_pct"}
    assert data["estimate"]["parallel_s"] < data["estimate"]["linear_s"]


def test_plan_of_a_broken_runbook_is_one_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - {id: a, run: 'true', needs: [a]}\n")
    res = warroom("plan", str(bad))
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.strip() == f"{bad}:2:5: dependency cycle: a -> a"


def test_bad_var_override_is_a_usage_error() -> None:
    res = warroom("plan", "runbooks/web-outage.yaml", "--var", "novalue")
    assert res.returncode == 2 and res.stderr.strip() == "warroom: --var 'novalue': write --var name=value"


def test_checklist_from_flags_and_from_answers() -> None:
    flags = ["--team-size", "yes", "--interdependence", "yes", "--tooling", "yes", "--criticality", "yes", "--experience", "no", "--regulatory", "no"]
    res = warroom("checklist", *flags)
    assert res.returncode == 0 and "parallel" in res.stdout.lower() and "5" in res.stdout
    asked = warroom("checklist", "--team-size", "no", stdin="no\nno\nmaybe\nno\nno\nyes\n")
    assert asked.returncode == 0 and "sequential" in asked.stdout.lower()
    ended = warroom("checklist", stdin="yes\n")
    assert ended.returncode == 2 and "input ended" in ended.stderr and "Traceback" not in ended.stderr


def test_schema_file_is_current_and_runbooks_point_at_it() -> None:
    printed = json.loads(warroom("schema").stdout)
    committed = json.loads((ROOT / "schema" / "runbook.schema.json").read_text())
    assert printed == committed, "regenerate with: warroom schema > schema/runbook.schema.json"
    assert "steps" in printed["properties"] and printed["additionalProperties"] is False
    for path in (ROOT / "runbooks").glob("*.yaml"):
        assert path.read_text().startswith("# yaml-language-server: $schema=../schema/runbook.schema.json")
