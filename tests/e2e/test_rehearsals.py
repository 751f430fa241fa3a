"""The release loop end to end, offline: `make rehearse` runs the workflow files with nektos/act
against the local cloud and a fake GitHub (textclf.rehearsal.scenarios lists the scenarios).

The first test runs the real make target in a subprocess, as a user would, and checks what it
printed; the others check, quickly and with act itself, that the rehearsal names a step that a
scenario depends on and that the workflow no longer runs."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from textclf.rehearsal import scenarios
from textclf.rehearsal.world import ActRun, RehearsalError, act_binary

REPO = Path(__file__).resolve().parents[2]


def final_json(output: str) -> dict:
    tail = output.split("[rehearse] rehearsal passed in", 1)[1]
    return json.JSONDecoder().raw_decode(tail[tail.index("{") :])[0]


@pytest.mark.slow
def test_rehearse_the_release_loop() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TEXTCLF_", "GITHUB_"))}
    started = time.perf_counter()
    result = subprocess.run(
        ["make", "--no-print-directory", "rehearse"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=3600,  # the 90-minute CI limit, not the idle figure (about 16 minutes)
    )
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stdout[-8000:]
    results = final_json(result.stdout)
    first, second = results["first_production"], results["second_production"]
    # Production followed the reviewed pull requests: the code PR's model, then the params PR's
    # (with a bake, production having a model then), then back by a rollback pull request.
    assert first["previous"] is None and second["previous"] == first["head"]
    assert len(results["pr_push_to_comment_s"]) == 2
    assert results["batch"]["refused_at"] == "Check the inputs are s3://bucket/prefix values"
    assert results["cancelled"]["status"] in ("Stopping", "Stopped")
    assert results["staging_failed"]["production_unchanged"] == first["head"]
    assert results["state_check"] == {"issue": results["state_check"]["issue"], "comments": 1}
    assert results["state_lock"]["cleared_by"] == "make infra-unlock"
    # make setup-cloud set the account and repository up from nothing; run again, it changed nothing.
    setup = results["setup_cloud"]
    assert "state bucket: would create" in " ".join(setup["dry_run"])
    assert any(line.startswith("infrastructure staging: created") for line in setup["first"])
    assert "nothing to change: every step was already done" in setup["second"]
    # The branch protection it set is enforced: the author's own approval and a non-owner's do not merge.
    assert "approving review" in results["protection"]["a-developer"]
    assert "code owner" in results["protection"]["octocat"]
    # Required status checks are enforced: a merge before pr.yml reported any was refused.
    assert 'Required status check "' in results["unchecked_merge"]
    # Each job's GITHUB_TOKEN was scoped to its `permissions` (a refused call fails its step): the
    # report comment used the comment job's pull-requests scope; train, which holds the OIDC token,
    # had none to use.
    assert "pull-requests: write" in results["token_scopes"]["pr.yml comment"]["used"]
    assert "pull-requests" not in results["token_scopes"]["pr.yml train"]["granted"]
    # RETRAIN_TOKEN, a fine-grained token of Contents and Pull requests only, used both.
    bot = results["token_scopes"]["fine-grained token of textclf-bot"]
    assert bot["granted"] == {"contents": "write", "pull-requests": "write"}
    assert "contents: write" in bot["used"] and "pull-requests: write" in bot["used"]
    # The rollback's bake saw 5xx: production went back to the params PR's model, by a pull request.
    assert results["bake_rollback"]["rolled_back_to"] == second["head"]
    assert results["bake_rollback"]["failed"] == first["head"]
    print(f"make rehearse: {seconds:.0f} s; pr.yml push to comment: {results['pr_push_to_comment_s']} s")


def test_every_step_a_scenario_names_is_in_the_workflows() -> None:
    names = {
        step.get("name")
        for path in (REPO / ".github" / "workflows").glob("*.yml")
        for job in yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"].values()
        for step in job.get("steps") or []
    }
    wanted = [
        *scenarios.PR_TRAIN_STEPS,
        *scenarios.STAGING_STEPS,
        *scenarios.STAGING_RELEASE_STEPS,
        *scenarios.PRODUCTION_INFRA_STEPS,
        *scenarios.PRODUCTION_STEPS,
    ]
    assert not [step for step in wanted if step not in names]


def test_a_step_the_workflow_no_longer_runs_is_named(tmp_path: Path) -> None:
    """act runs a workflow whose `Promote` step was deleted; the scenario's check names it."""
    workflow = {
        "name": "release",
        "on": "push",
        "jobs": {
            "staging": {
                "runs-on": "ubuntu-latest",
                "steps": [{"name": "Terraform apply (staging)", "run": "true"}],
            }
        },
    }
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "release.yml").write_text(
        yaml.safe_dump(workflow), encoding="utf-8"
    )
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path))}
    done = subprocess.run(
        [act_binary(), "push", "-P", "ubuntu-latest=-self-hosted", "--no-cache-server"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    run = ActRun.parse("release.yml", "staging", done.returncode, done.stdout + done.stderr, 0.0)
    run.require("Terraform apply (staging)")
    with pytest.raises(RehearsalError, match="'Promote to staging, smoke-test' did not run"):
        run.require("Terraform apply (staging)", "Promote to staging, smoke-test")


def test_act_jobs_get_their_own_token_scopes(tmp_path: Path) -> None:
    """act gives both jobs one GITHUB_TOKEN; the fake GitHub scopes it per calling job: the job
    with `contents: read` checks out (the stand-in reads the repository with the token) and is
    refused a comment; the job with `permissions: {}` cannot check out."""
    import sys

    from textclf.rehearsal.github import FakeGitHub, Repository, WorkflowRun
    from textclf.rehearsal.world import STAND_IN_FOR, STAND_INS

    checkout = "actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803"
    comment = '"$TEXTCLF_REHEARSAL_WORLD/bin/python" -m textclf.rehearsal.standins gh api'
    workflow = {
        "name": "scoped",
        "on": "push",
        "permissions": {},
        "jobs": {
            "reader": {
                "runs-on": "ubuntu-latest",
                "permissions": {"contents": "read"},
                "steps": [
                    {"uses": checkout, "with": {"persist-credentials": False}},
                    {
                        "name": "comment",
                        "continue-on-error": True,  # act stops a run at a failed job
                        "env": {"GH_TOKEN": "${{ github.token }}"},
                        "run": f"{comment} repos/acme/text-classifier/issues/1/comments -f body=x",
                    },
                ],
            },
            "blind": {"runs-on": "ubuntu-latest", "permissions": {}, "steps": [{"uses": checkout}]},
        },
    }
    work, origin, root = tmp_path / "work", tmp_path / "origin.git", tmp_path / "world"
    (work / ".github" / "workflows").mkdir(parents=True)
    (work / ".github" / "workflows" / "w.yml").write_text(yaml.safe_dump(workflow), encoding="utf-8")
    git = ["git", "-c", "user.name=a", "-c", "user.email=a@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=work, check=True)
    subprocess.run([*git, "add", "-A"], cwd=work, check=True)
    subprocess.run([*git, "commit", "-qm", "w"], cwd=work, check=True)
    subprocess.run([*git, "clone", "-q", "--bare", str(work), str(origin)], cwd=tmp_path, check=True)
    subprocess.run([*git, "remote", "add", "origin", "https://github.com/acme/text-classifier"], cwd=work)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True
    ).stdout.strip()
    fake = FakeGitHub(Repository("acme/text-classifier", origin)).start()
    fake.repository.open_issue("an issue", "")
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "python").write_text(f'#!/bin/bash\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    (root / "bin" / "python").chmod(0o755)
    facts = {"origin": str(origin), "repository": "acme/text-classifier", "github_api": fake.url}
    (root / "world.json").write_text(json.dumps({**facts, "runner_secret": "x"}), encoding="utf-8")
    token = fake.workflow_token(WorkflowRun(7, ".github/workflows/w.yml", sha))
    stand_in = REPO / STAND_INS / STAND_IN_FOR["actions/checkout"]
    runner_env = {
        "TEXTCLF_REHEARSAL_WORLD": str(root),
        "TEXTCLF_REHEARSAL_SOURCE": str(work),
        "GITHUB_WORKFLOW_REF": "acme/text-classifier/.github/workflows/w.yml@refs/heads/main",
        "GITHUB_RUN_ID": "7",
    }
    command = [act_binary(), "push", "-P", "ubuntu-latest=-self-hosted", "--no-cache-server"]
    command += [
        "--no-skip-checkout",
        "--concurrent-jobs",
        "1",
        "--local-repository",
        f"{checkout}={stand_in}",
    ]
    command += ["--secret", f"GITHUB_TOKEN={token}"]
    command += [a for k, v in runner_env.items() for a in ("--env", f"{k}={v}")]
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path))}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    try:
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=120)
    finally:
        fake.stop()
    run = ActRun.parse("w.yml", None, done.returncode, done.stdout + done.stderr, 0.0)
    assert run.steps["scoped/reader"][f"Main {checkout}"] == "Success", run.log[-3000:]
    assert run.steps["scoped/reader"]["Main comment"] == "Failure"
    assert "Resource not accessible by integration" in run.log
    assert run.steps["scoped/blind"][f"Main {checkout}"] == "Failure"
    assert fake.scopes["w.yml reader"]["used"] == ["contents: read"]
