"""Monthly cost of serving the model: the Serverless endpoint, the ECS Fargate service (with its load
balancer), one always-on real-time instance, and what the API front door adds, at the request rates
of params.yaml `costs.rates_per_minute`, from the price table in params.yaml `costs`.

    make bench-cost            # a markdown table on stdout, the figures in build/bench/cost.json

`--out` replaces only a file this script wrote (a JSON object of OUT_KEYS; bench/bench_main.py):
any other file there (README.md, params.yaml) is refused, exit 2, before anything is printed or
written.

It computes from the price table only (milliseconds): its full run is its small mode; `--small`
keeps the first rate only, and the tests run it.

The model of each (all list prices, on demand, no free tier, no savings plans):
- Serverless: requests x billed seconds a request x the price per second of the memory size, plus
  the data in and out. Nothing while idle (cold starts are not billed, but they are slow).
- ECS: the tasks the rate needs (at least ecs_min_tasks; ecs_requests_per_second_per_task each) x
  (vCPU + GB) per hour, all month; the load balancer's hours, and its LCUs (new connections / 25 a
  second, processed bytes / 1 GB an hour: the larger). Paid whether requests come or not.
- Real-time: one instance all month (the smallest always-on SageMaker endpoint).
- API front door (added to whichever serves behind it): HTTP API requests, Lambda requests and
  GB-seconds of the proxy.
"""

from __future__ import annotations

import argparse
import math
import sys

from textclf.config import CostsParams, load_params


def monthly(costs: CostsParams, per_minute: float) -> dict[str, float]:
    hours = costs.hours_per_month
    requests = per_minute * 60 * hours
    per_second = per_minute / 60
    gigabytes = requests * costs.request_kb / 1024 / 1024

    serverless_rate = costs.serverless_usd_per_second[costs.serverless_memory_mb]
    serverless = requests * costs.serverless_billed_ms_per_request / 1000 * serverless_rate
    serverless += gigabytes * costs.serverless_usd_per_gb_processed

    tasks = max(costs.ecs_min_tasks, math.ceil(per_second / costs.ecs_requests_per_second_per_task))
    task_hour = (
        costs.ecs_vcpu * costs.fargate_usd_per_vcpu_hour + costs.ecs_memory_gb * costs.fargate_usd_per_gb_hour
    )
    lcus = max(per_second / 25, gigabytes / hours)  # one connection a request: the worst case
    ecs = tasks * task_hour * hours + (costs.alb_usd_per_hour + lcus * costs.alb_usd_per_lcu_hour) * hours

    realtime = costs.realtime_usd_per_hour * hours

    api = requests / 1e6 * (costs.api_usd_per_million_requests + costs.lambda_usd_per_million_requests)
    api += (
        requests
        * costs.lambda_ms_per_request
        / 1000
        * costs.lambda_memory_gb
        * costs.lambda_usd_per_gb_second
    )
    return {
        "requests_per_month": requests,
        "serverless": serverless,
        "ecs": ecs,
        "ecs_tasks": tasks,
        "realtime": realtime,
        "api_front_door": api,
    }


def break_even_per_minute(costs: CostsParams) -> float:
    """The rate above which the (minimum) ECS service costs less than the Serverless endpoint."""
    low, high = 0.001, 1e6
    if monthly(costs, high)["serverless"] < monthly(costs, high)["ecs"]:
        return math.inf
    for _ in range(200):
        middle = (low + high) / 2
        figures = monthly(costs, middle)
        low, high = (middle, high) if figures["serverless"] < figures["ecs"] else (low, middle)
    return high


def rate_label(per_minute: float) -> str:
    return (
        f"{per_minute / 60:g} req/s"
        if per_minute >= 60 and per_minute % 60 == 0
        else f"{per_minute:g} req/min"
    )


def table(costs: CostsParams) -> tuple[str, list[dict[str, float]]]:
    rows = [{"per_minute": rate, **monthly(costs, rate)} for rate in costs.rates_per_minute]
    lines = [
        f"| rate | requests/month | Serverless ({costs.serverless_memory_mb} MB) | ECS Fargate + ALB "
        f"| real-time {costs.realtime_instance_type} | API front door adds |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        tasks = f"{row['ecs_tasks']} task{'s' if row['ecs_tasks'] > 1 else ''}"
        lines.append(
            f"| {rate_label(row['per_minute'])} | {row['requests_per_month']:,.0f} "
            f"| ${row['serverless']:,.2f} | ${row['ecs']:,.2f} ({tasks}) "
            f"| ${row['realtime']:,.2f} | ${row['api_front_door']:,.2f} |"
        )
    lines.append("")
    billed = costs.serverless_billed_ms_per_request
    for ms in (billed, billed / 2, billed * 2):
        even = break_even_per_minute(costs.model_copy(update={"serverless_billed_ms_per_request": ms}))
        lines.append(
            f"- with {ms:g} ms billed a Serverless request: the ECS service costs less above "
            f"{even:,.0f} requests a minute ({even / 60:.1f} a second)"
        )
    return "\n".join(lines), rows


# What this script writes to --out: bench_main.check_out replaces only a JSON object of these keys.
OUT_KEYS = ("rows", "break_even_per_minute", "costs")
DEFAULT_OUT = "build/bench/cost.json"


def main(argv: list[str] | None = None) -> int:
    from bench_main import check_out  # bench/ is on sys.path when this file runs as a script

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--small", action="store_true", help="the first rate of the table only (a test)")
    args = parser.parse_args(argv)
    out = check_out(args.out, OUT_KEYS, default=DEFAULT_OUT)
    costs = load_params(args.params, needs=("costs",)).costs
    if args.small:
        costs = costs.model_copy(update={"rates_per_minute": costs.rates_per_minute[:1]})
    if not costs.serverless_usd_per_second:
        print(
            f"{args.params}: costs.serverless_usd_per_second is empty: fill in the price table",
            file=sys.stderr,
        )
        return 2
    text, rows = table(costs)
    out.write(
        {"rows": rows, "break_even_per_minute": break_even_per_minute(costs), "costs": costs.model_dump()}
    )
    print(text)
    return 0


if __name__ == "__main__":
    from bench_main import run as run_to_the_end  # a script may define run() itself

    run_to_the_end(main, __file__)
