"""The report and the DVC plots page as a reviewer sees them: rendered in headless Chromium.

The report is rendered the way GitHub renders a comment (GitHub-flavoured markdown, Mermaid,
GitHub's markdown CSS), in the light and the dark theme, by tools/render-check.mjs; the DVC page
comes from a real `dvc plots diff` and is loaded with every request off 127.0.0.1 refused.
Screenshots land in build/render/ for a person to look at. `make test-report-render` installs
Chromium and the node packages when they are missing."""

from __future__ import annotations

import configparser
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.review.conftest import PR_EVAL, eval_metrics, local_job, tables
from tests.review.test_render import SAGEMAKER_JOB, inputs
from textclf.review.report import (
    LINE_COLOUR,
    PLOTS_ARTIFACT,
    THRESHOLD_COLOUR,
    Links,
    md,
    read_curve,
    read_json,
    render,
)

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "render"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# A chart line counts as visible with this many pixels in its colour and WCAG's 3:1 contrast for
# graphics against the chart's background (Mermaid's old default #ECECFF on white: 1.2:1).
MIN_LINE_PIXELS = 150
MIN_CONTRAST = 3.0
# GitHub's page backgrounds, light and dark, and Mermaid's dark-theme chart background.
BACKGROUNDS = ("#ffffff", "#0d1117", "#333333")


def render_check(*args: str) -> dict:
    missing = [
        what
        for what, path in (("chromium", CHROMIUM), ("node_modules", REPO / "node_modules"))
        if not Path(path).exists()
    ]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run `make test-report-render` (it installs them)")
    result = subprocess.run(
        ["node", str(REPO / "tools" / "render-check.mjs"), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def check_report(markdown: str, name: str) -> dict:
    out = SCREENSHOTS / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / "report.md").write_text(markdown, encoding="utf-8")
    return render_check("report", str(out / "report.md"), str(out))


def flat_loss(steps: int) -> list[dict[str, float]]:
    """A model that learned nothing: the loss wobbles between 0.61 and 0.69."""
    return [{"step": float(s), "loss": 0.65 + 0.04 * (-1) ** (s // 10)} for s in range(10, steps + 1, 10)]


def failing_report() -> str:
    """Two classes, a model barely better than chance: the gate fails; a SageMaker job."""
    candidate = eval_metrics({"ham": {"ham": 30, "spam": 20}, "spam": {"spam": 27, "ham": 23}})
    validation = [
        {"step": float(s), "loss": 0.69 - s / 4000, "accuracy": 0.5 + s / 2000, "macro_f1": 0.48 + s / 2000}
        for s in (40, 80, 120, 160, 200, 218)  # the last evaluation off the grid, as at the end of training
    ]
    return render(
        inputs(candidate, train_loss=flat_loss(218), validation=validation, train_job=SAGEMAKER_JOB)
    )


def six_class_report() -> str:
    """The bundled sample's model: six classes, the pipeline's own metrics and curves."""
    candidate = read_json(REPO / "metrics" / "eval.json")
    assert candidate and len(candidate["confusion_matrix"]["labels"]) == 6
    return render(
        inputs(
            candidate,
            base_eval=None,
            train_loss=read_curve(REPO / "plots" / "train_loss.csv"),
            validation=read_curve(REPO / "plots" / "validation.csv"),
            train_job=local_job(80.0),
            data=read_json(REPO / "metrics" / "data.json"),
        )
    )


def assert_rendered_as_github_would(markdown: str, result: dict) -> None:
    charts = markdown.count("```mermaid")
    expected_tables = tables(markdown)
    assert result["blocked"] == []
    for theme, page in result["themes"].items():
        assert page["mermaid_errors"] == [], theme
        assert page["page_errors"] == [], theme
        assert len(page["charts"]) == charts, theme
        for chart in page["charts"]:
            assert chart["error"] is None, (theme, chart)
            assert chart["lines"], (theme, chart["title"], "no line drawn")
            for line in chart["lines"]:
                assert line["pixels"] >= MIN_LINE_PIXELS, (theme, chart["title"], line)
                assert line["contrast"] >= MIN_CONTRAST, (theme, chart["title"], line)
        # Every markdown table became an HTML table with a header cell per column, none empty.
        assert page["broken_tables"] == [], theme
        assert len(page["tables"]) == len(expected_tables), theme
        for rendered, source in zip(page["tables"], expected_tables, strict=True):
            assert len(rendered["headers"]) == len(source[0]), (theme, source[0])
            assert all(rendered["headers"]), (theme, rendered["headers"])
            assert set(rendered["rows"]) <= {len(source[0])}, (theme, source[0])


def test_the_palette_reads_on_githubs_light_and_dark_backgrounds():
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    def contrast(a: str, b: str) -> float:
        high, low = sorted((luminance(a), luminance(b)), reverse=True)
        return (high + 0.05) / (low + 0.05)

    for colour in (LINE_COLOUR, THRESHOLD_COLOUR):
        assert all(contrast(colour, background) >= MIN_CONTRAST for background in BACKGROUNDS), colour
    assert contrast("#ececff", "#ffffff") < MIN_CONTRAST  # the old default fails this check


def test_a_failing_gate_report_renders_in_both_themes():
    markdown = failing_report()
    assert markdown.startswith("## ❌ Gate failed")

    result = check_report(markdown, "failing-gate")

    assert_rendered_as_github_would(markdown, result)
    for page in result["themes"].values():
        titles = [chart["title"] for chart in page["charts"]]
        assert titles[1] == "Validation macro_f1 (blue) and the gate threshold 0.8500 (red)"
        assert [len(chart["lines"]) for chart in page["charts"]] == [1, 2, 1]


def test_a_six_class_report_renders_in_both_themes():
    markdown = six_class_report()

    result = check_report(markdown, "six-classes")

    assert_rendered_as_github_would(markdown, result)
    headers = [table["headers"] for table in result["themes"]["light"]["tables"]]
    assert ["Actual class", "Predicted as", "Count", "Share of the actual class"] in headers
    assert ["Fact", "Value"] in headers


def test_the_check_sees_mermaids_old_default_colour_as_invisible():
    # The chart the report used to draw: no palette, so Mermaid's light theme draws #ECECFF.
    old = "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            '    title "Training loss"',
            '    x-axis "step" ["10", "20", "30"]',
            '    y-axis "loss"',
            "    line [0.6900, 0.6100, 0.6500]",
            "```",
        ]
    )

    light = check_report(old + "\n", "old-palette")["themes"]["light"]

    assert light["mermaid_errors"] == []
    [line] = light["charts"][0]["lines"]
    assert line["contrast"] < MIN_CONTRAST


# ---------------------------------------------------------------------------------------------
# The DVC plots page


def top_level_plots() -> list[str]:
    spec = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))
    return [next(iter(plot)) for plot in spec["plots"]]


def write_confusion(project, rows: list[tuple[str, str]]) -> None:
    with (project.root / "plots" / "confusion.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([("actual", "predicted"), *rows])


def dvc(project, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=project.root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]


def assert_each_plot_drew_once(result: dict) -> None:
    assert result["blocked"] == []  # nothing fetched from a CDN
    assert result["errors"] == []
    ids = [chart["id"] for chart in result["charts"]]
    assert len(ids) == len(top_level_plots()) == len(set(ids)), ids
    for chart in result["charts"]:
        assert chart["drawn"] and chart["marks"] > 2000, chart


def test_dvc_plots_diff_draws_each_plot_once_offline_with_the_projects_template(pr_repo):
    # The project as cloned and set up: its template setting, its template, its node_modules.
    config = configparser.ConfigParser()
    config.read(REPO / ".dvc" / "config")
    template = config["plots"]["html_template"]
    (pr_repo.root / "tools").symlink_to(REPO / "tools")
    (pr_repo.root / "node_modules").symlink_to(REPO / "node_modules")
    dvc(pr_repo, "config", "plots.html_template", template)
    write_confusion(pr_repo, [("billing", "billing"), ("billing", "returns"), ("returns", "returns")])

    dvc(pr_repo, "plots", "diff", "main")

    result = render_check("plots", str(pr_repo.root), "dvc_plots/index.html", str(SCREENSHOTS / "dvc-plots"))
    assert_each_plot_drew_once(result)
    page = (pr_repo.root / "dvc_plots" / "index.html").read_text(encoding="utf-8")
    assert "cdn.jsdelivr.net" not in page
    assert '"title": "y"' not in page  # every axis named


def test_the_standalone_plots_page_needs_nothing_beside_it(pr_repo, tmp_path):
    template = tmp_path / "standalone.html"
    with template.open("w", encoding="utf-8") as handle:
        subprocess.run(["node", str(REPO / "tools" / "plots-template.mjs")], stdout=handle, check=True)
    write_confusion(pr_repo, [("billing", "billing"), ("returns", "billing"), ("returns", "returns")])
    page = tmp_path / "page"

    dvc(pr_repo, "plots", "diff", "main", "-o", str(page), "--html-template", str(template))

    assert_each_plot_drew_once(
        render_check("plots", str(page), "index.html", str(SCREENSHOTS / "dvc-plots-standalone"))
    )


def test_the_old_plot_declarations_would_draw_charts_twice():
    """The stages declare the plot files as plain outputs; a stage `plots:` entry would add a
    second, default-template chart per file."""
    spec = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))
    assert all("plots" not in stage for stage in spec["stages"].values())
    drawn = {path for plot in spec["plots"] for definition in plot.values() for path in definition["y"]}
    assert drawn == {"plots/train_loss.csv", "plots/validation.csv", "plots/confusion.csv"}


def test_the_report_links_the_plots_artifact_the_pr_workflow_uploads():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "pr.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["train"]["steps"]
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["name"] == PLOTS_ARTIFACT
    assert any(step.get("run") == "make plots-page" for step in steps)
    run_url = "https://github.com/acme/textclf/actions/runs/7"

    links = render(inputs(PR_EVAL, links=Links(run_url=run_url)))

    assert f"artifact [{md(PLOTS_ARTIFACT)}]({run_url}#artifacts) of the workflow run" in links
