"""The release loop's scenarios: the workflow files run by act, in order, on one world.

`make rehearse` (`textclf rehearse release`):

 0. The operator names the code owners and runs `make setup-cloud REPO=...` on an empty local cloud
    and an unconfigured fake GitHub: state bucket, both environments, GitHub settings (branch
    protection the fake GitHub then enforces), repository and environment variables through the
    API, DVC remote and first push, main's images; it asks for the backend file to be committed,
    and a second run after that finds nothing to change.
 1. A README-only pull request: pr.yml's `changes` job says it trains nothing. Merged, it is
    main's first release: production-infra applies production and pushes main's images to its ECR
    (README.md is no image input); staging has no model to release and says so. A second
    documentation pull request, checked while the first waited, is then behind main: its merge is
    refused (405, strict required checks), its branch is updated (update-branch), its checks run
    again on the new head, a reviewer approves that head, and it merges.
 2. A code pull request: pr.yml's train job trains it on the local SageMaker with main's training
    image (no deadlock after a README-only merge), posts one report comment, gates and publishes;
    reviewed and merged, release.yml deploys it to staging, checks it there and opens the pull
    request that moves deploy/production.yaml to it. That pull request (which trains nothing),
    reviewed and merged, releases production.
 3. A pull request whose run is cancelled while its training job runs: act's interrupt cancels the
    run, the `if: cancelled()` step stops exactly that job through the stop-training function with
    the run's own OIDC token, and the job is Stopping or Stopped.
 4. A params pull request: its merge's model answers half of staging's requests with a 500
    (injected in the local cloud), so the staging job fails (at its smoke request or its checks),
    no production pull request is opened and production's file and endpoint are unchanged; the
    re-run passes and the production
    pull request, merged, releases production with a bake window (production had a model).
 5. A rollback: a pull request that moves deploy/production.yaml back to step 2's model (the
    author's own approval and a writer's who is no code owner do not merge it). Its model is
    promoted, then answers every request with a 500 during the bake (faults injected in the local
    cloud, traffic sent): the 5xx alarm fires, the bake rolls production back to step 4's model and
    fails the release, and the job opens the pull request that moves deploy/production.yaml back
    to it; that pull request, reviewed and merged, releases production so git and the endpoint
    agree again.
 6. state.yml (the scheduled check) passes while production serves what deploy/production.yaml
    declares; after an administrator deploys another model by hand it fails and opens one issue,
    and the next run comments on that issue instead of opening another.
 7. New data under incoming/: retrain.yml imports it and its pull-request job (environment
    retrain, which holds the bot token) opens a pull request with the bot token, and pr.yml's
    checks run on it (trained on the new data, reported); the drift alarm's dispatch:
    drift.yml opens one issue, and the same alarm again comments on it.
 8. batch.yml with hostile inputs (`$(shell touch X)`, backticks, quotes): it fails at the input
    check, before any credential is requested, and X is never created.
Before step 1's release, production's state lock is left as a killed apply leaves it: the release
fails at the apply naming the lock, `make infra-unlock` clears it, and the release passes.

Each step asserts what each endpoint serves and what GitHub shows (comments, pull requests), and
the steps a scenario depends on by name: a step deleted from a workflow fails the rehearsal naming
it. The pr workflow's lint and test jobs are not run (the suite runs them): act's `-j train` runs
the `changes` job it needs and the train job. Branch protection requires their checks too, and the
fake GitHub requires every required check: the scenario reports those two jobs' checks itself, as
the suite's result (SUITE_JOBS, said there), and a merge before any check reported is refused
(step 1). Each job's GITHUB_TOKEN carries only its `permissions` (textclf.rehearsal.github); the
results list, per job, what its token was granted and which scopes its calls used.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from textclf.pipeline.small_bert import build_small_bert
from textclf.rehearsal.world import REPOSITORY, REVIEWER, RehearsalError, World, say

# The world's main trains quickly: one epoch on short texts, no evaluation or checkpoint before the
# end (Spot resumption has its own rehearsal, `make sagemaker-local`), and a short bake window
# (the world's alarms have 10 s periods: textclf.rehearsal.world.World.terraform_env).
QUICK = {
    "train": {"epochs": 1, "eval_steps": 1000, "save_steps": 1000},
    "model": {"max_length": 64},
}
QUICK_BAKE = {"bake_seconds": 30, "bake_poll_seconds": 2}
# pr.yml's jobs whose checks branch protection requires but the rehearsal does not run with act:
# lint, the fast tests and the slow tests are `make test`'s work, and this rehearsal is one of the
# slow tests. After each pr.yml run the scenario reports their checks on the pull request's head,
# under the names pr.yml gives them, as the suite's result (`Loop.report_suite_checks`): the fake
# GitHub's rule is not relaxed for them, and no other job is reported without running.
SUITE_JOBS = ("checks", "slow-tests")

PR_TRAIN_STEPS = [
    "Does this PR change more than documentation?",
    "Check out the PR head (the merge commit stays in the clone)",
    "Install",
    "Pipeline (train on SageMaker Spot)",
    "Report",
    "Upload the report",
    "Post or update the report comment",
    "Gate (a failed gate makes this check red)",
    "Publish the reviewed model under the PR head commit",
]
STAGING_STEPS = [
    "Terraform apply (staging)",
    "Build and push the images whose tags staging's ECR lacks",
    "Does the merged PR have a published model? (a PR that did not train releases nothing)",
]
STAGING_RELEASE_STEPS = [
    "Check the model is the published one before touching the endpoint",
    "Promote to staging, smoke-test",
    "Staging checks (the test split replayed, latency p95, a burst; in the job summary)",
    "Open or update the pull request that moves production to this model",
]
PRODUCTION_INFRA_STEPS = [
    "Terraform apply (production)",
    "Build and push the images whose tags production's ECR lacks",
]
PRODUCTION_STEPS = [
    "The model production's declared state names (deploy/production.yaml)",
    "Check the declared model is published with the declared sha256",
    "Promote, redeploy, smoke-test, record the champion",
]


class Loop:
    """The scenarios' shared moves: pull requests, reviews, merges, pushes to main."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.results: dict[str, Any] = {"scenario_s": {}}
        self._current: tuple[str, float] | None = None

    def scenario(self, title: str) -> None:
        """Announce the next scenario; the previous one's wall time goes to the results."""
        self.end_scenario()
        say(title)
        self._current = (title.split(".", 1)[0], time.perf_counter())

    def end_scenario(self) -> None:
        if self._current:
            number, started = self._current
            self.results["scenario_s"][number] = round(time.perf_counter() - started, 1)
            self._current = None

    # --- GitHub moves ---------------------------------------------------------------------------

    def open_pr(self, branch: str, message: str, files: dict[str, str]) -> dict[str, Any]:
        self.world.commit(message, files, branch)
        pull = self.world.repo.open_pull(branch, "main", message, "", "a-developer")
        say(f"PR #{pull['number']} {message!r}: head {pull['head']['sha'][:12]}")
        return pull

    def pr_event(self, pull: dict[str, Any]) -> dict[str, Any]:
        return {
            "action": "opened",
            "number": pull["number"],
            "pull_request": {
                "number": pull["number"],
                "head": {
                    "sha": pull["head"]["sha"],
                    "ref": pull["head"]["ref"],
                    "repo": {"full_name": REPOSITORY},
                },
                "base": {"sha": pull["base"]["sha"], "ref": "main", "repo": {"full_name": REPOSITORY}},
            },
            "repository": {"full_name": REPOSITORY},
        }

    def run_pr(self, pull: dict[str, Any], job: str = "comment", check: bool = True):
        """pr.yml for the PR (act's `-j comment`: the `changes` job, train, then the comment job,
        which posts train's report)."""
        started = time.perf_counter()
        run = self.world.act(
            "pr.yml",
            "pull_request",
            self.pr_event(pull),
            pull["merge_ref_sha"],
            f"refs/pull/{pull['number']}/merge",
            job=job,
            environment=None,
            check=check,
        )
        self.results.setdefault("pr_runs_s", []).append(round(time.perf_counter() - started, 1))
        self.report_suite_checks(pull)
        return run

    def report_suite_checks(self, pull: dict[str, Any]) -> None:
        """SUITE_JOBS' checks on the PR's head, as GitHub Actions would report those jobs: passed,
        the suite (`make test`) that runs their work being the one this rehearsal runs in."""
        world = self.world
        workflow = yaml.safe_load(
            world.git(
                "--git-dir",
                str(world.origin),
                "show",
                f"{pull['merge_ref_sha']}:.github/workflows/pr.yml",
                cwd=world.root,
            )
        )
        for job in SUITE_JOBS:
            name = str(workflow["jobs"][job].get("name") or job)
            world.repo.report_check(
                pull["head"]["sha"],
                name,
                "success",
                summary="the suite's result: `make test` runs this job's work",
            )

    def review_and_merge(self, pull: dict[str, Any]) -> str:
        """A reviewer approves the head commit; the PR is merged (branch protection checks it)."""
        pull["reviews"].append({"user": REVIEWER, "state": "APPROVED", "commit_id": pull["head"]["sha"]})
        before = self.world.repo.head_of("main")
        merge = self.world.repo.merge_pull(pull["number"])
        say(f"PR #{pull['number']} approved by {REVIEWER} and merged: main {before[:12]} -> {merge[:12]}")
        return merge

    def push_event(self, sha: str, before: str) -> dict[str, Any]:
        return {
            "ref": "refs/heads/main",
            "before": before,
            "after": sha,
            "repository": {"full_name": REPOSITORY, "default_branch": "main"},
            "head_commit": {"id": sha},
        }

    def release(self, sha: str, before: str) -> dict[str, Any]:
        """release.yml for the push of `sha` to main. GitHub runs its jobs side by side; act has no
        per-environment variables, so each environment's jobs are one act run with that
        environment's variables (textclf.rehearsal.world), and the two runs go side by side. The
        production run (`-j production`) also runs production-infra, which it needs: that works
        because the environments production-infra and production hold the same variables, which the
        world checks (GitHub would give each job its own environment's)."""
        started = {
            job: self.release_job(job, job, sha, before, background=True) for job in ("production", "staging")
        }
        runs = {job: self.world.wait(process) for job, process in started.items()}
        runs["production"].require(*PRODUCTION_INFRA_STEPS)
        runs["staging"].require(*STAGING_STEPS)
        return runs

    def release_job(
        self, job: str, environment: str, sha: str, before: str, check: bool = True, background: bool = False
    ):
        """`act push -j JOB` on release.yml for the push of `sha` to main, with `environment`'s
        variables (act runs the jobs JOB needs first)."""
        return self.world.act(
            "release.yml",
            "push",
            self.push_event(sha, before),
            sha,
            "refs/heads/main",
            job=job,
            environment=environment,
            check=check,
            background=background,
        )

    def promote_pr_flow(
        self, branch: str, message: str, files: dict[str, str], before: str, staging_fails_first: bool = False
    ) -> dict[str, Any]:
        world, repo = self.world, self.world.repo
        pull = self.open_pr(branch, message, files)
        started = time.perf_counter()
        run = self.run_pr(pull)
        run.require(*PR_TRAIN_STEPS)
        comments = self.report_comments(pull)
        if len(comments) != 1:
            raise RehearsalError(f"PR #{pull['number']}: expected one report comment, found {len(comments)}")
        self.results.setdefault("pr_push_to_comment_s", []).append(round(time.perf_counter() - started, 1))
        head = pull["head"]["sha"]
        merge = self.review_and_merge(pull)
        if staging_fails_first:
            self.results["staging_failed"] = self.staging_fails(merge, before, head)
        runs = self.release(merge, before)
        runs["staging"].require(*STAGING_RELEASE_STEPS)
        if self.serving("staging") != head:
            raise RehearsalError(f"staging does not serve {head[:12]} after the release")
        promotion = self.production_pr()
        desired = world.git(
            "--git-dir",
            str(world.origin),
            "show",
            f"{promotion['head']['sha']}:deploy/production.yaml",
            cwd=world.root,
        )
        if head not in desired or "Staging's checks" not in promotion["body"]:
            raise RehearsalError(
                f"the production pull request does not declare {head[:12]} with staging's results"
            )
        previous = self.serving("production") if self.endpoint_exists("production") else None
        run = self.run_pr(promotion)
        if run.ran("Pipeline (train on SageMaker Spot)") is not None:
            raise RehearsalError("the production pull request trained")
        before_promotion = repo.head_of("main")
        merged = self.review_and_merge(promotion)
        runs = self.release(merged, before_promotion)
        runs["production"].require(*PRODUCTION_STEPS)
        if previous is not None:
            runs["production"].require(
                "Bake (an alarm rolls back to the previous model and fails the release)"
            )
        if self.serving("production") != head:
            raise RehearsalError(
                f"production does not serve {head[:12]} after the production pull request merged"
            )
        sha256 = yaml.safe_load(desired)["sha256"]
        say(f"production serves {head[:12]} (sha256 {sha256[:12]}), previously {previous and previous[:12]}")
        return {"head": head, "sha256": sha256, "previous": previous}

    def staging_fails(self, merge: str, before: str, head: str) -> dict[str, Any]:
        """The merged model answers half of staging's requests with a 500 (injected in the local
        cloud): the staging job fails at its checks, no production pull request is opened, and
        production's file and endpoint stay as they were. Then the run is re-run and passes."""
        from textclf.localcloud import runtime

        serving_before = self.serving("production")
        desired_before = self.world.read("deploy/production.yaml")
        models = self.world.outputs["production"]["models_bucket"]
        runtime.inject_faults(f"s3://{models}/models/{head}/model.tar.gz", 0.5)
        try:
            run = self.release_job("staging", "staging", merge, before, check=False)
        finally:
            runtime.clear_faults()
        # Half the requests fail: promote's smoke request (promote then rolls staging back) or, when
        # the smoke request was answered, the checks' replay and burst.
        steps = [
            "Promote to staging, smoke-test",
            "Staging checks (the test split replayed, latency p95, a burst; in the job summary)",
        ]
        failed_at = [step for step in steps if run.ran(step) == "Failure"]
        if run.returncode == 0 or not failed_at:
            raise RehearsalError("staging passed with a model that answers half its requests with 500s")
        check = failed_at[0]
        if run.ran("Open or update the pull request that moves production to this model") is not None:
            raise RehearsalError("a failed staging job opened a production pull request")
        if any(
            p["state"] == "open" and p["head"]["ref"] == "release/production"
            for p in self.world.repo.pulls.values()
        ):
            raise RehearsalError("a production pull request is open after staging failed")
        if (
            self.serving("production") != serving_before
            or self.world.read("deploy/production.yaml") != desired_before
        ):
            raise RehearsalError("production's endpoint or declared state changed after staging failed")
        say("staging failed at its checks; production's file and endpoint unchanged; re-running the release")
        return {"failed_at": check, "production_unchanged": serving_before}

    # --- what the world holds ------------------------------------------------------------------

    def serving(self, environment: str) -> str:
        """The commit whose model `environment`'s endpoint serves."""
        import boto3

        endpoint = self.world.outputs[environment]["endpoint_name"]
        sagemaker = boto3.client("sagemaker")
        config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        return model["PrimaryContainer"]["ModelDataUrl"].split("/models/")[1].split("/")[0]

    def endpoint_exists(self, environment: str) -> bool:
        import boto3

        endpoint = self.world.outputs[environment]["endpoint_name"]
        try:
            boto3.client("sagemaker").describe_endpoint(EndpointName=endpoint)
        except Exception:
            return False
        return True

    def image_tags(self, environment: str, kind: str) -> set[str]:
        import boto3

        url = self.world.outputs[environment][f"{kind}_repository_url"]
        images = boto3.client("ecr").list_images(repositoryName=url.split("/", 1)[1])["imageIds"]
        return {image["imageTag"] for image in images if image.get("imageTag")}

    def production_pr(self) -> dict[str, Any]:
        opened = [
            p
            for p in self.world.repo.pulls.values()
            if p["state"] == "open" and p["head"]["ref"] == "release/production"
        ]
        if len(opened) != 1:
            raise RehearsalError(f"expected one open production pull request, found {len(opened)}")
        return opened[0]

    def report_comments(self, pull: dict[str, Any]) -> list[str]:
        return [
            c["body"]
            for c in self.world.repo.comments_on(pull["number"])
            if "CML watermark textclf report" in c["body"]
        ]


def prepare_main(world: World) -> None:
    """The world's main trains a small model quickly (the scenarios are about the loop, not the
    model): a 2-layer random BERT with the default model's vocabulary as the base model, one epoch,
    thresholds at 0 and a champion tolerance of 1 (a random model is no champion to beat), and a
    short bake. The real params.yaml is not edited."""
    params_file = world.laptop / "params.yaml"
    params = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    for section, values in QUICK.items():
        params[section].update(values)
    params["model"]["name"] = str(build_small_bert(world.root / "small-bert", params["data"]["labels"]))
    params["evaluate"]["thresholds"] = {name: 0.0 for name in params["evaluate"]["thresholds"]}
    params["evaluate"]["champion_tolerance"] = 1.0
    params["deploy"]["staging"].update(QUICK_BAKE)
    world.git("switch", "--quiet", "main")
    params_file.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    world.git(
        "commit",
        "--quiet",
        "-m",
        "params: a small model, trained quickly, for the rehearsal",
        "--",
        "params.yaml",
    )
    world.git("push", "--quiet", "origin", "main")


def release_loop(world: World) -> dict[str, Any]:
    loop = Loop(world)
    repo = world.repo
    prepare_main(world)
    loop.scenario("0. make setup-cloud: an empty account and repository set up, twice (nothing to change)")
    loop.results["setup_cloud"] = world.set_up_account()

    loop.scenario("1. a README-only pull request, merged: main's first release")
    readme = (world.laptop / "README.md").read_text(encoding="utf-8")
    docs_pr = loop.open_pr("docs", "docs: a line in the README", {"README.md": readme + "\nA line.\n"})
    # A second documentation pull request from the same tip, checked, then waiting for review
    # while the first merges: main moves under it (merged at the end of this scenario).
    guide = (world.laptop / "docs" / "workflows.md").read_text(encoding="utf-8")
    waiting = loop.open_pr(
        "docs-guide", "docs: a note in the workflows guide", {"docs/workflows.md": guide + "\nA note.\n"}
    )
    loop.run_pr(waiting, job="train")
    loop.results["unchecked_merge"] = unchecked_merge_refused(loop, docs_pr)
    run = loop.run_pr(docs_pr)
    run.require("Does this PR change more than documentation?")
    if run.ran("Pipeline (train on SageMaker Spot)") is not None:
        raise RehearsalError("a README-only PR trained")
    merge = loop.review_and_merge(docs_pr)
    loop.results["state_lock"] = left_lock_cleared(loop, merge, docs_pr["base"]["sha"])
    runs = loop.release(merge, docs_pr["base"]["sha"])
    if runs["staging"].ran("Promote to staging, smoke-test") is not None:
        raise RehearsalError("staging promoted a model on a push that brought none")
    if not loop.image_tags("production", "training"):
        raise RehearsalError("main's first release pushed no training image to production's ECR")
    loop.results["behind_main"] = behind_main_updated(loop, waiting)
    merge = loop.results["behind_main"]["merge"]

    loop.scenario("2. a code pull request: trained with main's image, released to staging, then production")
    code = loop.promote_pr_flow(
        "code",
        "serving: a comment in the package",
        {
            "src/textclf/__init__.py": (world.laptop / "src/textclf/__init__.py").read_text()
            + "# A comment.\n"
        },
        merge,
    )
    loop.results["first_production"] = code

    loop.scenario("3. a pull request whose run is cancelled while its training job runs: the job stops")
    loop.results["cancelled"] = cancelled_run(loop)

    loop.scenario(
        "4. a params pull request: staging fails first (production unchanged), then passes; "
        "to production with a bake"
    )
    params_file = world.laptop / "params.yaml"
    params = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    params["train"]["seed"] = int(params["train"].get("seed", 42)) + 1
    second = loop.promote_pr_flow(
        "params",
        "params: another seed",
        {"params.yaml": yaml.safe_dump(params, sort_keys=False)},
        repo.head_of("main"),
        staging_fails_first=True,
    )
    loop.results["second_production"] = second

    loop.scenario("5. a rollback pull request: production back to step 2's model")
    desired = world.read("deploy/production.yaml")
    rolled = desired.replace(second["head"], code["head"]).replace(second["sha256"], code["sha256"])
    rollback = loop.open_pr("rollback", "release: roll production back", {"deploy/production.yaml": rolled})
    run = loop.run_pr(rollback)
    if run.ran("Pipeline (train on SageMaker Spot)") is not None:
        raise RehearsalError("a pull request that moves deploy/production.yaml trained")
    loop.results["protection"] = protection_refusals(loop, rollback)
    before = repo.head_of("main")
    merged = loop.review_and_merge(rollback)
    loop.results["bake_rollback"] = bake_rolls_back(loop, merged, before, code["head"], second["head"])

    loop.scenario(
        "6. the scheduled state check: production agrees with git; a change made by hand opens one issue"
    )
    loop.results["state_check"] = state_check(loop, code["head"])

    loop.scenario("7. new data: retrain.yml opens a pull request whose checks run; drift.yml opens one issue")
    loop.results["retrain"] = retrain_and_drift(loop)

    loop.scenario("8. batch.yml with hostile inputs")
    loop.results["batch"] = batch_injection(world)
    loop.end_scenario()
    loop.results["token_scopes"] = world.github.scopes
    loop.results["token_scopes_unused"] = {
        job: unused_scopes(scopes) for job, scopes in sorted(world.github.scopes.items())
    }
    loop.results["timings_s"] = world.timings
    return loop.results


BAKE_STEP = "Bake (an alarm rolls back to the previous model and fails the release)"
ROLLED_BACK_STEP = "After a rollback, the pull request that moves deploy/production.yaml back"


def bake_rolls_back(loop: Loop, merged: str, before: str, failing: str, previous: str) -> dict[str, Any]:
    """release.yml for the push of `merged`, which declares `failing`: once production's bake
    starts, `failing`'s model answers every request with a 500 and the world sends it traffic, so
    the endpoint's 5xx alarm fires; the bake must roll production back to `previous`, fail, and
    open the pull request that moves deploy/production.yaml back. That pull request, merged,
    releases `previous` again."""
    import threading

    from textclf.localcloud import runtime

    world = loop.world
    models = world.outputs["production"]["models_bucket"]
    started = {
        job: loop.release_job(job, job, merged, before, background=True) for job in ("production", "staging")
    }
    stop = threading.Event()
    traffic = threading.Thread(
        target=errors_during_bake,
        args=(world, started["production"].log_file, f"s3://{models}/models/{failing}/model.tar.gz", stop),
    )
    traffic.start()
    try:
        runs = {job: world.wait(process, check=job != "production") for job, process in started.items()}
    finally:
        stop.set()
        traffic.join()
        runtime.clear_faults()
    production = runs["production"]
    if production.returncode == 0 or production.ran(BAKE_STEP) != "Failure":
        raise RehearsalError("production's bake passed while its model answered every request with a 500")
    production.require(ROLLED_BACK_STEP)
    if loop.serving("production") != previous:
        raise RehearsalError(f"after the failed bake production does not serve {previous[:12]} again")
    pull = loop.production_pr()
    declared = yaml.safe_load(
        world.git(
            "--git-dir",
            str(world.origin),
            "show",
            f"{pull['head']['sha']}:deploy/production.yaml",
            cwd=world.root,
        )
    )
    if declared.get("commit") != previous:
        raise RehearsalError(
            f"the rolled-back pull request declares {declared.get('commit')}, not {previous[:12]}"
        )
    say(f"the bake rolled production back to {previous[:12]}; PR #{pull['number']} moves the file back")
    loop.run_pr(pull)
    before_back = world.repo.head_of("main")
    back = loop.review_and_merge(pull)
    runs = loop.release(back, before_back)
    runs["production"].require(*PRODUCTION_STEPS)
    if loop.serving("production") != previous:
        raise RehearsalError(f"after the rolled-back pull request production does not serve {previous[:12]}")
    return {"rolled_back_to": previous, "failed": failing, "pull_request": pull["number"]}


def errors_during_bake(world: World, log_file: Path, model_url: str, stop: Any) -> None:
    """Once the job's log shows the bake step started: faults on `model_url` (every request a 500)
    and a request to production's endpoint every half second, for at most a minute."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from textclf.localcloud import runtime

    while not stop.is_set():
        if f"Run Main {BAKE_STEP}" in log_file.read_text(encoding="utf-8", errors="replace"):
            break
        stop.wait(0.5)
    else:
        return
    runtime.inject_faults(model_url, 1.0)
    client = boto3.session.Session().client("sagemaker-runtime")
    endpoint = world.outputs["production"]["endpoint_name"]
    deadline = time.monotonic() + 60
    while not stop.is_set() and time.monotonic() < deadline:
        # The ModelError (424) each answer raises is the 5xx the alarm counts.
        with contextlib.suppress(BotoCoreError, ClientError):
            client.invoke_endpoint(
                EndpointName=endpoint, ContentType="application/json", Body=json.dumps({"inputs": ["hello"]})
            )
        stop.wait(0.5)


def unused_scopes(scopes: dict[str, Any]) -> list[str]:
    """The grants of {"granted": {scope: level}, "used": ["scope: level", ...]} above what was used."""
    from textclf.rehearsal.github import LEVELS

    used: dict[str, int] = {}
    for entry in scopes["used"]:
        scope, level = entry.split(": ")
        used[scope] = max(used.get(scope, 0), LEVELS[level])
    return [
        f"{scope}: {level}" + (" (used: read)" if used.get(scope) == 1 else "")
        for scope, level in sorted(scopes["granted"].items())
        if scope != "id-token" and LEVELS[level] > used.get(scope, 0)
    ]


def behind_main_updated(loop: Loop, pull: dict[str, Any]) -> dict[str, Any]:
    """A documentation pull request whose checks passed while main moved on (another pull request
    merged): approved, its merge is refused (405: the protection's required checks are strict, the
    head must contain main's tip). Its author updates the branch as GitHub's "Update branch" does
    (PUT .../pulls/{n}/update-branch over the API); the new head has no checks and no approval, so
    the merge is refused again until pr.yml has run on it and a reviewer has approved it; then it
    merges. (The release of that push is the same as the one just run for the first documentation
    merge, no model and no infrastructure change, and is not run again: a minute of the budget.)"""
    import urllib.request

    from textclf.rehearsal.github import GitHubError
    from textclf.rehearsal.world import REPOSITORY

    world, number = loop.world, pull["number"]
    old_head = pull["head"]["sha"]
    pull["reviews"].append({"user": REVIEWER, "state": "APPROVED", "commit_id": old_head})
    refused: dict[str, str] = {}
    try:
        world.repo.merge_pull(number)
    except GitHubError as error:
        if error.status != 405 or "required status checks are expected" not in str(error):
            raise RehearsalError(f"PR #{number} behind main: refused for another reason: {error}") from None
        refused["behind"] = str(error)
    else:
        raise RehearsalError(f"PR #{number} was merged while its head was behind main (strict checks)")
    request = urllib.request.Request(
        f"{world.github.url}/repos/{REPOSITORY}/pulls/{number}/update-branch",
        data=json.dumps({"expected_head_sha": old_head}).encode(),
        method="PUT",
        headers={"Authorization": f"token {world.github.token_for(pull['user']['login'])}"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        if answer.status != 202:
            raise RehearsalError(f"update-branch of PR #{number} answered {answer.status}")
    new_head = pull["head"]["sha"]
    if new_head == old_head or not world.repo.is_ancestor(world.repo.head_of("main"), new_head):
        raise RehearsalError(f"update-branch left PR #{number} without main's tip")
    try:
        world.repo.merge_pull(number)
    except GitHubError as error:
        refused["updated, unchecked"] = str(error)
    else:
        raise RehearsalError(f"PR #{number} merged after update-branch before its checks ran again")
    loop.run_pr(pull, job="train")
    before = world.repo.head_of("main")
    merge = loop.review_and_merge(pull)
    say(f"PR #{number}: behind main, refused; branch updated, checked and approved again; merged")
    return {
        "pull_request": number,
        "refused": refused,
        "updated_head": new_head,
        "merge": merge,
        "before": before,
    }


def unchecked_merge_refused(loop: Loop, pull: dict[str, Any]) -> str:
    """Before pr.yml ran, no required check is reported on the head: the merge is refused (405)."""
    from textclf.rehearsal.github import GitHubError

    try:
        loop.world.repo.merge_pull(pull["number"])
    except GitHubError as error:
        if error.status != 405 or "is expected" not in str(error):
            raise RehearsalError(f"PR #{pull['number']}: refused for another reason: {error}") from None
        return str(error)
    raise RehearsalError(f"pull request #{pull['number']} was merged before any required check reported")


def protection_refusals(loop: Loop, pull: dict[str, Any]) -> dict[str, str]:
    """Branch protection as `make setup-cloud` set it: the author's own approval does not count
    (require_last_push_approval), and a writer who is no code owner cannot approve a change to
    deploy/ (require_code_owner_reviews)."""
    from textclf.rehearsal.github import GitHubError

    refused = {}
    for who in (pull["user"]["login"], "octocat"):
        pull["reviews"].append({"user": who, "state": "APPROVED", "commit_id": pull["head"]["sha"]})
        try:
            loop.world.repo.merge_pull(pull["number"])
        except GitHubError as error:
            refused[who] = str(error)
            continue
        raise RehearsalError(f"pull request #{pull['number']} was merged with {who}'s approval alone")
    if "code owner" not in refused["octocat"]:
        raise RehearsalError(f"a non-owner's approval was refused for another reason: {refused['octocat']}")
    say(f"PR #{pull['number']}: the author's and a non-owner's approvals did not merge it")
    return refused


def retrain_and_drift(loop: Loop) -> dict[str, Any]:
    """New rows land under the data bucket's incoming/ (as EventBridge's repository_dispatch says):
    retrain.yml imports them, pushes them to the DVC remote and opens a pull request with the bot
    token, and pr.yml runs on that pull request and trains on the new data. Then the drift alarm's
    dispatch: drift.yml opens one issue; the same alarm again comments on it."""
    import boto3

    world = loop.world
    bucket = world.outputs["production"]["data_bucket"]
    rows = "text,label\n" + "".join(
        f"My parcel number {n} has not arrived after two weeks,delivery\n" for n in range(3)
    )
    boto3.client("s3").put_object(Bucket=bucket, Key="incoming/new-tickets.csv", Body=rows.encode())
    main = world.repo.head_of("main")
    event = {"action": "new-data", "client_payload": {"key": "incoming/new-tickets.csv"}}
    # `-j pull-request` runs the import job it needs first; the bot token reaches the pull request
    # job, whose environment (retrain, main only) holds it (World.run_secrets).
    run = world.act(
        "retrain.yml",
        "repository_dispatch",
        event,
        main,
        "refs/heads/main",
        job="pull-request",
        environment="retrain",
    )
    run.require(
        "Import new data, dvc add and push it", "Open the retraining PR (nothing to do without new data)"
    )
    opened = [
        p
        for p in world.repo.pulls.values()
        if p["head"]["ref"].startswith("retrain/") and p["state"] == "open"
    ]
    if len(opened) != 1 or opened[0]["user"]["login"] != "textclf-bot":
        raise RehearsalError("retrain.yml did not open one pull request with the bot token")
    checks = loop.run_pr(opened[0])
    checks.require(*PR_TRAIN_STEPS)
    if len(loop.report_comments(opened[0])) != 1:
        raise RehearsalError("the retraining pull request's checks did not post the report")
    payload = {
        "alarm": f"{world.outputs['production']['endpoint_name']}-drift",
        "reason": "Threshold Crossed: 1 datapoint [0.42] was greater than or equal to the threshold (0.2).",
        "time": "2026-12-06T10:00:00Z",
        "endpoint": world.outputs["production"]["endpoint_name"],
        "log_group": "/aws/lambda/textclf-prod-drift-check",
    }
    dispatch = {"action": "model-drift", "client_payload": payload}
    for _ in range(2):
        world.act("drift.yml", "repository_dispatch", dispatch, main, "refs/heads/main", job="issue").require(
            "Open or update the drift issue from the validated payload"
        )
    drift = [
        i for i in world.repo.issues.values() if "drift" in i["title"].lower() and "pull_request" not in i
    ]
    if len(drift) != 1 or len(world.repo.comments_on(drift[0]["number"])) != 1:
        raise RehearsalError(f"expected one drift issue with one comment, found {len(drift)} issue(s)")
    return {"retrain_pr": opened[0]["number"], "drift_issue": drift[0]["number"]}


def state_check(loop: Loop, other: str) -> dict[str, Any]:
    """state.yml on its schedule: it passes while the endpoint serves the declared model; after an
    administrator deploys `other` by hand, it fails and opens one issue (a comment the next time)."""
    world = loop.world
    main = world.repo.head_of("main")
    step = "Compare the endpoint with deploy/production.yaml (a mismatch fails and opens one issue)"

    def run(check: bool):
        return world.act(
            "state.yml",
            "schedule",
            {"schedule": "23 6 * * *"},
            main,
            "refs/heads/main",
            job="compare",
            environment="production",
            check=check,
        )

    run(check=True).require(step)
    outputs = world.outputs["production"]
    world.make(
        "promote",
        env={
            "COMMIT": other,
            "TEXTCLF_ARTIFACTS_BUCKET": outputs["artifacts_bucket"],
            "TEXTCLF_REDEPLOY_FUNCTION": outputs["redeploy_function_name"],
            "TEXTCLF_ENDPOINT_NAME": outputs["endpoint_name"],
        },
    )
    say(f"the administrator deployed {other[:12]} by hand")
    for attempt in (1, 2):
        failed = run(check=False)
        if failed.returncode == 0 or failed.ran(step) != "Failure":
            raise RehearsalError(
                f"state.yml passed (attempt {attempt}) while the endpoint serves another model"
            )
    issues = [
        i for i in world.repo.issues.values() if "does not serve what deploy/production.yaml" in i["title"]
    ]
    comments = world.repo.comments_on(issues[0]["number"]) if len(issues) == 1 else []
    if len(issues) != 1 or len(comments) != 1:
        raise RehearsalError(f"expected one mismatch issue with one comment, found {len(issues)} issue(s)")
    return {"issue": issues[0]["number"], "comments": len(comments)}


def cancelled_run(loop: Loop) -> dict[str, Any]:
    """pr.yml's train job cancelled while its training job runs: the cancel step stops that job
    through the stop-training function with the run's own OIDC token (textclf.training.stop_job)."""
    import boto3

    world = loop.world
    params = yaml.safe_load((world.laptop / "params.yaml").read_text(encoding="utf-8"))
    params["train"]["learning_rate"] = float(params["train"]["learning_rate"]) * 2
    pull = loop.open_pr(
        "cancelled",
        "params: a run that is cancelled",
        {"params.yaml": yaml.safe_dump(params, sort_keys=False)},
    )
    head = pull["head"]["sha"]
    process = world.act(
        "pr.yml",
        "pull_request",
        loop.pr_event(pull),
        pull["merge_ref_sha"],
        f"refs/pull/{pull['number']}/merge",
        job="train",
        background=True,
    )
    sagemaker = boto3.client("sagemaker")
    deadline = time.monotonic() + 600
    job = None
    while time.monotonic() < deadline and process.poll() is None:
        found = sagemaker.list_training_jobs(NameContains=head[:8], StatusEquals="InProgress")[
            "TrainingJobSummaries"
        ]
        if found:
            job = found[0]["TrainingJobName"]
            break
        time.sleep(1)
    if job is None:
        world.cancel(process)
        world.wait(process, check=False)
        raise RehearsalError("the cancelled PR's training job never started")
    say(f"cancelling the run while {job} trains")
    world.cancel(process)
    run = world.wait(process, check=False)
    run.require("Stop this run's training job (cancelled or failed run)")
    status = sagemaker.describe_training_job(TrainingJobName=job)["TrainingJobStatus"]
    if status not in ("Stopping", "Stopped"):
        raise RehearsalError(f"the cancelled run's training job {job} is {status}, not stopped")
    world.repo.pulls[pull["number"]]["state"] = "closed"
    return {"job": job, "status": status}


def left_lock_cleared(loop: Loop, sha: str, before: str) -> dict[str, Any]:
    """A release job killed during `terraform apply` left production's state lock (what Terraform
    writes for S3-native locking: `<key>.tflock` holding the lock's info). The next release fails at
    the apply naming the lock; `make infra-unlock` with its ID (docs/workflows.md) clears it."""
    import re
    import uuid

    import boto3

    world = loop.world
    backend = (world.laptop / "terraform" / "backend.localcloud.hcl").read_text(encoding="utf-8")
    bucket = re.search(r'bucket\s*=\s*"([^"]+)"', backend)[1]
    key = "main/terraform.tfstate"
    lock_id = str(uuid.uuid4())
    info = {
        "ID": lock_id,
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": "runner@github-actions",
        "Version": "1.11.4",
        "Created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "Path": f"{bucket}/{key}",
    }
    boto3.client("s3").put_object(Bucket=bucket, Key=f"{key}.tflock", Body=json.dumps(info).encode())
    say(f"a killed apply left production's state lock {lock_id}")
    run = loop.release_job("production-infra", "production", sha, before, check=False)
    if run.ran("Terraform apply (production)") != "Failure" or lock_id not in run.log:
        raise RehearsalError(
            "a release with production's state locked did not fail at the apply naming the lock"
        )
    world.make("infra-unlock", env={"LOCK_ID": lock_id, "DEPLOY_ENV": "production"})
    return {
        "lock_id": lock_id,
        "failed_at": "Terraform apply (production)",
        "cleared_by": "make infra-unlock",
    }


def batch_injection(world: World) -> dict[str, Any]:
    """batch.yml dispatched with an input that would run commands if make or a shell expanded it:
    make's `$(shell ...)`, a shell's backticks and `$(...)`, and quotes that end an argument."""
    canary = world.root / "INJECTED"
    # The data bucket's batch prefixes (batch.input_prefix, batch.output_prefix): only the hostile
    # part of the input is what the workflow must refuse.
    data = world.outputs["production"]["data_bucket"]
    hostile = (
        f's3://{data}/batch/in/$(shell touch {canary})`touch {canary}`$$(touch {canary})"; touch {canary}; "'
    )
    inputs = {"input": hostile, "output": f"s3://{data}/batch/out/"}
    run = world.act(
        "batch.yml",
        "workflow_dispatch",
        {"inputs": inputs, "ref": "refs/heads/main"},
        world.repo.head_of("main"),
        "refs/heads/main",
        job="batch",
        environment="batch",
        inputs=inputs,
        check=False,
    )
    step = "Check the inputs are s3://bucket/prefix values"
    if run.returncode == 0 or run.ran(step) != "Failure":
        raise RehearsalError(f"batch.yml accepted the input {hostile!r}")
    if any(
        name.startswith("Main aws-actions/configure-aws-credentials")
        for steps in run.steps.values()
        for name in steps
    ):
        raise RehearsalError("batch.yml requested credentials for a hostile input")
    if canary.exists():
        raise RehearsalError(f"the input {hostile!r} ran a command")
    return {"input": hostile.replace(str(world.root), "<world>"), "refused_at": step}


def rehearse(source: Path, keep: bool = False) -> dict[str, Any]:
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="textclf-rehearse-"))
    try:
        with World(source, root) as world:
            results = release_loop(world)
    finally:
        if keep:
            say(f"kept the world in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    results["seconds"] = round(time.perf_counter() - started, 1)
    say("timings (s):")
    for step, seconds in results.get("timings_s", []):
        print(f"  {seconds:7.1f}  {step}", flush=True)
    say("GITHUB_TOKEN scopes a job was granted beyond what its calls used (id-token: its OIDC token):")
    for job, unused in results.get("token_scopes_unused", {}).items():
        print(f"  {job}: {', '.join(unused) or 'none'}", flush=True)
    say(f"rehearsal passed in {results['seconds']} s")
    print(json.dumps({k: v for k, v in results.items() if k != "timings_s"}, indent=1), flush=True)
    return results
