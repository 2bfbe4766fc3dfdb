"""A secret never leaks, whatever its spelling, through any surface (issue 13, item 2).

Each secret of a corpus (quotes, spaces, digits only, unicode) goes through a real headless
run whose steps echo it raw, shell-quoted and JSON-escaped, capture it with `json:` outputs
(a digits-only one arrives as an int) and receive it as a `--var` on a numeric var; then
every journal file, export, report and replay is searched for every spelling of it. A child
reads its own /proc/PID/cmdline while it runs: the secret is in its environment, not its argv.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
from engine_support import cli, write_runbook

from warroom.journal.redact import MASK, Redactor

SECRETS = ["it's \"quoted\"", "two words here", "73915", "pässwörd✓ 秘密"]

RUNBOOK = """\
    vars: {{pin: 0, note: ""}}
    secrets: [S]
    steps:
      - id: say
        run: echo {{{{ secrets.S }}}}; echo "in quotes {{{{ secrets.S }}}}"; echo pin={{{{ vars.pin }}}} note={{{{ vars.note }}}}
      - id: forms
        run: |
          {python} -c 'import json, os, shlex; s = os.environ["S"]; print(shlex.quote(s)); print(json.dumps({{"n": s}})); print(json.dumps(s, ensure_ascii=True))'
      - id: capture
        run: |
          {python} -c 'import json, os; s = os.environ["S"]; print(json.dumps({{"v": int(s) if s.isdigit() else s}}))'
        outputs: {{v: {{json: v}}}}
      - id: use
        needs: [capture]
        run: echo got {{{{ steps.capture.outputs.v }}}}
      - id: ps
        run: cat /proc/$$/cmdline > {cmdline}; test -n {{{{ secrets.S }}}}
"""


def spellings(secret: str) -> list[bytes]:
    texts = {secret, shlex.quote(secret), json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    return sorted(t.encode() for t in texts)


@pytest.mark.parametrize("secret", SECRETS)
def test_no_spelling_of_a_secret_reaches_any_surface(tmp_path: Path, secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S", secret)
    cmdline = tmp_path / "cmdline.bin"
    path = write_runbook(tmp_path, RUNBOOK.format(python=shlex.quote(sys.executable), cmdline=cmdline))
    db = tmp_path / "j.db"
    pin = ["--var", f"pin={secret}"] if secret.isdigit() else []
    run = cli("run", str(path), "--headless", "--journal", str(db), *pin, "--var", f"note={secret}", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    surfaces = {"run": (run.stdout + run.stderr).encode()}
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{db}{suffix}").exists():
            surfaces[f"db{suffix}"] = Path(f"{db}{suffix}").read_bytes()
    for fmt in ("jsonl", "csv", "md"):
        out = cli("export", "--journal", str(db), "--format", fmt, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        surfaces[fmt] = out.stdout.encode()
    for args in (("report", "--json"), ("report",), ("replay", "--headless", "--speed", "max"), ("status", "--json")):
        out = cli(*args, "--journal", str(db), cwd=tmp_path)
        surfaces[" ".join(args)] = (out.stdout + out.stderr).encode()
    leaks = [(where, form) for where, data in surfaces.items() for form in spellings(secret) if form in data]
    assert leaks == []
    assert MASK.encode() in surfaces["jsonl"]
    argv = cmdline.read_bytes().split(b"\0")
    assert argv[:2] == [b"sh", b"-c"] and all(form not in cmdline.read_bytes() for form in spellings(secret))


def test_every_form_and_number_is_redacted_in_nested_data() -> None:
    r = Redactor(["73915", "it's"])
    data = {"outputs": {"v": 73915, "f": 73915.0, "ok": True, "other": 7}, "k": ["'it'\"'\"'s'"],
            "runbook": {"vars": {"pin": [73915]}, "timeout_s": 73915}, "attempt": 73915}
    assert r.redact_value(data) == {
        "outputs": {"v": MASK, "f": MASK, "ok": True, "other": 7}, "k": [MASK],
        "runbook": {"vars": {"pin": [MASK]}, "timeout_s": 73915}, "attempt": 73915,
    }
    assert r.redact(json.dumps({"a": "it's"})) == json.dumps({"a": MASK})


@pytest.mark.parametrize("drill", [False, True])
def test_a_secret_whose_value_is_part_of_a_step_id_is_refused_before_anything_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, drill: bool) -> None:
    """Redacting `web` out of the journaled runbook turned step drain-web into drain-*** and
    the run died with a KeyError; such a secret is refused with one line instead."""
    rb = write_runbook(tmp_path, """\
        runbook: clash
        secrets: [WR_TOKEN]
        steps:
          - {id: drain-web, run: 'true'}
        """)
    monkeypatch.setenv("WR_TOKEN", "web")
    res = cli("run", str(rb), "--headless", *(["--drill"] if drill else []), "--journal", str(tmp_path / "j.db"))
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert "WR_TOKEN (its value is in 'drain-web')" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "j.db").exists()
