"""release.yml's production-infra job (production's Terraform apply and main's images, on every push
to main, so pull requests always find main's training image) runs in an environment of its own,
`production-infra`: where `production` has required reviewers, a job bound to it would wait for an
approval on every push and pull requests would fail "not in ECR" meanwhile. What reads that
environment agrees on its name: the workflow, `make github-settings` (creates it main only, no
reviewers), `make setup-cloud` (gives it production's variables) and Terraform (production's release
role trusts its subject, the promote and state roles do not; tests/iam/test_principals.py applies
it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from textclf.rehearsal.github import Repository
from textclf.rehearsal.world import variables_differ
from textclf.release import github_settings, setup_cloud

ROOT = Path(__file__).resolve().parents[2]
INFRA = github_settings.INFRA_ENVIRONMENT


def release() -> dict[str, Any]:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8"))


def test_production_infra_is_not_bound_to_production() -> None:
    jobs = release()["jobs"]
    infra, production = jobs["production-infra"], jobs["production"]
    assert INFRA == "production-infra" and infra["environment"] == INFRA
    assert production["environment"] == "production"  # the promote stays behind production's approval
    assert infra["env"]["DEPLOY_ENV"] == "production"  # production's stack and ECR
    text = yaml.safe_dump(infra)
    # The release role only: the promote role does not trust this environment, and the job changes
    # no model; it holds no secret (the bot token is production's and staging's).
    roles = [
        s["with"]["role-to-assume"]
        for s in infra["steps"]
        if "configure-aws-credentials" in s.get("uses", "")
    ]
    assert roles == ["${{ vars.AWS_RELEASE_ROLE_ARN }}"]
    assert "AWS_PROMOTE_ROLE_ARN" not in text and "secrets." not in text
    assert "make promote" not in text and "infra-apply" in text and "make images-push" in text


def test_every_variable_the_job_reads_is_set_in_its_environment_from_productions_outputs() -> None:
    read = set(re.findall(r"vars\.([A-Z_]+)", yaml.safe_dump(release()["jobs"]["production-infra"])))
    assert read and read <= set(setup_cloud.VARIABLE_OUTPUTS)
    assert setup_cloud.VARIABLE_SETS[INFRA] == "production"


def test_terraform_trusts_the_same_environment_for_productions_release_role() -> None:
    variables = (ROOT / "terraform" / "variables.tf").read_text(encoding="utf-8")
    block = variables.split('variable "github_infra_environments" {', 1)[1].split("\n}\n", 1)[0]
    assert re.search(r'default\s*=\s*\{\s*production\s*=\s*"([^"]+)"\s*\}', block)[1] == INFRA
    iam = (ROOT / "terraform" / "iam.tf").read_text(encoding="utf-8")
    assert "release = concat(local.release_subjects, local.infra_subjects)" in iam
    assert "promote = local.release_subjects" in iam and "state   = local.release_subjects" in iam


def test_the_rehearsal_refuses_a_run_whose_jobs_github_gives_other_variables() -> None:
    """act gives every job of `act -j production` production's variables, production-infra (which
    production needs) included: the world checks GitHub would resolve the same for each job."""
    repo = Repository("acme/text-classifier", ROOT)
    repo.variables = {"AWS_REGION": "us-east-1", "AWS_RELEASE_ROLE_ARN": "repository's"}
    repo.environments = {"production": {"AWS_RELEASE_ROLE_ARN": "production's"}}
    given = {**repo.variables, **repo.environments["production"]}
    (line,) = variables_differ(repo, release(), "production", given)
    assert (
        line == f'vars.AWS_RELEASE_ROLE_ARN for job production-infra (environment {INFRA}) to "repository\'s"'
    )
    repo.environments[INFRA] = {"AWS_RELEASE_ROLE_ARN": "production's"}
    assert variables_differ(repo, release(), "production", given) == []
