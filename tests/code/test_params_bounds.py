"""The price tables of params.yaml (`costs`, `sagemaker.prices_usd_per_hour`,
`batch.prices_usd_per_hour`) had no upper bound: 1e308 or 10**30 loaded, and `make bench-cost`
printed `$inf` for a month of serving (issue 27, U1). Each is now refused when params.yaml loads,
naming the file, the key and what to write instead."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import yaml

from tests.code.test_params_folder_names import TEMPLATE
from textclf.config import MAX_PRICE_USD, MAX_RATE_PER_MINUTE, CostsParams, ParamsError, parse_params

REPO = TEMPLATE.parent

# Every price a params file holds: (section, key) of a price, or (section, key, entry) of a table.
PRICES = [
    ("costs", "serverless_usd_per_gb_processed"),
    ("costs", "fargate_usd_per_vcpu_hour"),
    ("costs", "fargate_usd_per_gb_hour"),
    ("costs", "alb_usd_per_hour"),
    ("costs", "alb_usd_per_lcu_hour"),
    ("costs", "realtime_usd_per_hour"),
    ("costs", "api_usd_per_million_requests"),
    ("costs", "lambda_usd_per_million_requests"),
    ("costs", "lambda_usd_per_gb_second"),
    ("costs", "serverless_usd_per_second", 2048),
    ("sagemaker", "prices_usd_per_hour", "ml.g4dn.xlarge"),
    ("batch", "prices_usd_per_hour", "ml.m5.xlarge"),
]


def template() -> dict:
    return yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))


def with_price(where: tuple, value: object) -> dict:
    raw = template()
    node = raw[where[0]]
    for part in where[1:-1]:
        node = node[part]
    node[where[-1]] = value
    return raw


def dotted(where: tuple) -> str:
    return ".".join(str(part) for part in where)


@pytest.mark.parametrize("where", PRICES, ids=dotted)
@pytest.mark.parametrize("value", [1e308, 10**30, MAX_PRICE_USD + 0.01])
def test_an_absurd_price_is_refused_naming_the_key_and_what_to_write(where, value):
    with pytest.raises(ParamsError) as refused:
        parse_params(with_price(where, value))
    message = str(refused.value)
    assert message.startswith(f"params.yaml: {dotted(where)}: ")
    assert f"at most {MAX_PRICE_USD:,} USD" in message
    assert "pricing page" in message  # what to do: copy the list price


@pytest.mark.parametrize("where", PRICES, ids=dotted)
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, "inf", "nan"])
def test_a_price_that_is_not_a_finite_number_is_refused(where, value):
    with pytest.raises(ParamsError, match=rf"^params\.yaml: {dotted(where)}: .*finite number.*write"):
        parse_params(with_price(where, value))


@pytest.mark.parametrize("where", PRICES, ids=dotted)
def test_prices_up_to_the_bound_load(where):
    for value in (0, 0.0000166667, 113.07, MAX_PRICE_USD):
        parse_params(with_price(where, value))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("rates_per_minute", [1, 1e308], r"costs\.rates_per_minute\.1: Input should be less than or equal"),
        (
            "serverless_billed_ms_per_request",
            1e308,
            r"serverless_billed_ms_per_request: .*less than or equal",
        ),
        ("request_kb", 10**30, r"costs\.request_kb: Input should be less than or equal"),
        ("ecs_min_tasks", 10**30, r"costs\.ecs_min_tasks: Input should be less than or equal"),
        ("ecs_requests_per_second_per_task", 1e308, r"per_second_per_task: .*less than or equal"),
        ("lambda_ms_per_request", 1e308, r"costs\.lambda_ms_per_request: Input should be less than or equal"),
        ("serverless_usd_per_second", {10**30: 0.00004}, r"costs\.serverless_usd_per_second\..*less than"),
    ],
)
def test_the_other_figures_of_the_cost_table_are_bounded(key, value, message):
    raw = template()
    raw["costs"][key] = value
    with pytest.raises(ParamsError, match=message):
        parse_params(raw)


def bench_cost(raw: dict, tmp_path) -> subprocess.CompletedProcess:
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw), encoding="utf-8")
    command = [sys.executable, str(REPO / "bench" / "cost_compare.py"), "--params", str(params)]
    return subprocess.run(
        [*command, "--out", str(tmp_path / "cost.json")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bench_cost_refuses_an_absurd_price_instead_of_printing_inf(tmp_path):
    raw = template()
    raw["costs"]["realtime_usd_per_hour"] = 1e308
    run = bench_cost(raw, tmp_path)
    assert "$inf" not in run.stdout
    assert run.returncode == 2, run.stdout
    assert "costs.realtime_usd_per_hour: must be a price of at most 10,000 USD" in run.stderr


def test_bench_cost_on_the_largest_table_params_allow_prints_finite_dollars(tmp_path):
    """Every price and figure at its bound: `make bench-cost` (bench/cost_compare.py) prints finite
    dollars: the bounds themselves keep every product finite."""
    raw = template()
    costs = raw["costs"]
    for key, field in CostsParams.model_fields.items():
        bounds = [rule.le for rule in field.metadata if getattr(rule, "le", None) is not None]
        if "_usd_" in key and not isinstance(costs[key], dict):
            costs[key] = MAX_PRICE_USD
        elif bounds and key != "serverless_memory_mb":
            costs[key] = bounds[0]
    costs["serverless_usd_per_second"] = {costs["serverless_memory_mb"]: MAX_PRICE_USD}
    costs["rates_per_minute"] = [MAX_RATE_PER_MINUTE]
    parse_params(raw)  # loads: the bounds themselves are allowed
    run = bench_cost(raw, tmp_path)
    assert run.returncode == 0, run.stderr
    table = run.stdout.split("\n\n")[0]
    assert "$" in table and "inf" not in table.lower() and "nan" not in table.lower(), table
