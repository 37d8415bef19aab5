"""`python -m bench <scenario> [options]`: parse, start what is needed, run, report."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import signal
import uuid
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import orjson

from bench import credentials, deliveries, memory
from bench.cpu import CpuMeter
from bench.deliveries import WebhookTargets
from bench.memory import MemoryMeter
from bench.runner import (
    BEHIND_LIMIT_S,
    RATE_LIMIT_HINT,
    RATE_LIMITED,
    Outcome,
    Plan,
    Runner,
    say,
)
from bench.scenarios import BULK_AWARDS, SCENARIOS, WEBHOOKS, Scenario, SetupFailed
from bench.signing import Call, RequestSource, Signer
from bench.spawn import UNTHROTTLED, spawned_stack
from bench.stats import Recorder, format_ms
from shared import scale
from shared.config import DEV_MASTER_SECRET

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_SCENARIO = "systems-create"
# Scenarios whose requests are awards, by e-mail `<run id>-<index>@example.org`.
AWARD_SCENARIOS = ("award", "award-keyed")
STOPPABLE = ("issuer", "webhooks")
# The gateway refuses tokens expiring further ahead than AUTH_MAX_TOKEN_TTL_S (default 3600 s):
# a run whose pre-signed tokens would need more is signed inline.
MAX_TOKEN_TTL_S = 3600
# A closed loop's pre-signed pool: enough for this rate over the whole run, within a cap.
PRESIGN_RATE = 3000
PRESIGN_MAX = 500_000
SIGN_SLACK_S = 60
# A closed loop of --requests has no duration: its tokens must live as long as the run takes at
# this rate (100,000 requests: 2,000 s).
SLOWEST_RATE = 50
DEFAULT_WARMUP_S = 2.0

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# CPU report lines that are shares of the machine, not processes of the run.
SHARED_LABELS = ("machine", "everything else")

T = TypeVar("T")


class TargetUnavailable(Exception):
    pass


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    scenarios = "\n".join(f"  {s.name:<16} {s.summary}" for s in SCENARIOS.values())
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Load the Plaudit gateway with signed requests and report throughput and "
        "latency. Closed loop by default; --rate makes it an open loop.",
        epilog=f"scenarios:\n{scenarios}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "scenario",
        nargs="?",
        default=DEFAULT_SCENARIO,
        choices=sorted(SCENARIOS),
        metavar="scenario",
        help=f"what to send (default {DEFAULT_SCENARIO}, as `make bench` runs it)",
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("PUBLIC_URL") or DEFAULT_URL,
        help="the gateway (default: PUBLIC_URL, else %(default)s)",
    )
    parser.add_argument(
        "--secret", help="the master secret (default: MASTER_SECRET, else the development one)"
    )
    parser.add_argument(
        "--connections",
        type=_positive_int,
        default=32,
        help="closed loop: concurrent workers; open loop: most requests in flight (default 32)",
    )
    parser.add_argument(
        "--rate",
        type=_positive_float,
        help="open loop: requests per second, on a fixed schedule (default: closed loop)",
    )
    parser.add_argument(
        "--duration", type=_positive_float, default=10.0, help="measured seconds (default 10)"
    )
    parser.add_argument(
        "--requests",
        type=_positive_int,
        help="closed loop: send exactly this many requests (warm-up included), instead of "
        "--duration",
    )
    parser.add_argument(
        "--warmup",
        type=_non_negative_float,
        help=f"seconds before the measured window, left out of the results (default "
        f"{DEFAULT_WARMUP_S:g}; 0 for the {WEBHOOKS} scenario, whose every event counts)",
    )
    parser.add_argument(
        "--rss-every",
        type=_positive_int,
        metavar="N",
        help="also sample every service's resident memory (RSS) after each N answered "
        "requests (warm-up included), print it and report each process's growth from the "
        "second sample to the last",
    )
    parser.add_argument(
        "--timeout", type=_positive_float, default=30.0, help="per request, seconds (default 30)"
    )
    parser.add_argument(
        "--sign",
        choices=("ahead", "inline"),
        default="ahead",
        help="mint the tokens before the run (default) or each as its request is sent",
    )
    parser.add_argument(
        "--presign",
        type=_positive_int,
        help=f"closed loop: requests to sign ahead (default: (warm-up + duration) x "
        f"{PRESIGN_RATE}/s, at most {PRESIGN_MAX:,}); any beyond are signed inline",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    parser.add_argument(
        "--spawn",
        action="store_true",
        help="start the four services on a new database and vhost for this run, rate limits "
        "raised, and remove everything afterwards (needs Postgres and RabbitMQ, as `make test`)",
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="with --spawn: keep the services' log files"
    )
    parser.add_argument(
        "--services-python",
        metavar="PATH",
        help="with --spawn: run the services with this interpreter, e.g. .venv-image/bin/python "
        "(`make image-venv`: the packages the image installs, without the test extra), so "
        "their memory is the image's",
    )
    parser.add_argument(
        "--scale",
        type=_scale,
        metavar="SERVICE=N,...",
        help="with --spawn: replicas per service, as PLAUDIT_SCALE (e.g. badges=2,issuer=2); "
        "CPU and memory are then reported per replica (badges, badges-2, ...)",
    )
    parser.add_argument(
        "--stop",
        choices=STOPPABLE,
        action="append",
        default=[],
        metavar="SERVICE",
        help="with --spawn: stop this service after the setup, before the run (e.g. the issuer: "
        "awards without Open Badges 3.0 signing; its events wait in its queue); repeatable",
    )
    parser.add_argument(
        "--backlog",
        action="store_true",
        help=f"the {WEBHOOKS} scenario with --spawn: pause the webhooks service (SIGSTOP) from "
        "the first request to the last answer, then let it go on (SIGCONT), so its rate is "
        "measured draining a backlog of every event, not bounded by how fast awards are made",
    )
    parser.add_argument(
        "--credential-lag",
        action="store_true",
        help="award scenarios: after the run, read from the database when each measured "
        "award's signed Open Badges 3.0 credential was stored, and report its lag behind the "
        "award's 201 (the run fails if any is still missing after --drain)",
    )
    parser.add_argument(
        "--drain",
        type=_positive_float,
        default=credentials.DEFAULT_DRAIN_S,
        help="with --credential-lag: seconds to wait after the run for credentials still being "
        f"signed; with the {WEBHOOKS} scenario, for deliveries (default %(default)g)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="with --credential-lag and no --spawn: the stack's database (default DATABASE_URL)",
    )
    args = parser.parse_args(argv)
    if args.stop and not args.spawn:
        parser.error("--stop needs --spawn")
    if args.scale and not args.spawn:
        parser.error("--scale needs --spawn")
    if args.services_python and not args.spawn:
        parser.error("--services-python needs --spawn")
    if args.requests and args.rate:
        parser.error("--requests is for a closed loop: an open loop sends --rate x --duration")
    if args.warmup is None:
        args.warmup = 0.0 if args.scenario == WEBHOOKS else DEFAULT_WARMUP_S
    if args.scenario == WEBHOOKS:
        if args.warmup:
            parser.error(f"the {WEBHOOKS} scenario counts every event: --warmup 0")
        if "webhooks" in args.stop:
            parser.error(f"the {WEBHOOKS} scenario needs the webhooks service running")
    if args.backlog and not (args.spawn and args.scenario == WEBHOOKS):
        parser.error(f"--backlog is for the {WEBHOOKS} scenario with --spawn")
    if args.credential_lag:
        if args.scenario not in AWARD_SCENARIOS:
            parser.error(f"--credential-lag needs an award scenario ({', '.join(AWARD_SCENARIOS)})")
        if "issuer" in args.stop:
            parser.error("--credential-lag needs the issuer running")
        if not args.spawn and not args.database_url:
            parser.error("--credential-lag needs --spawn or the stack's --database-url")
    return args


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _scale(text: str) -> str:
    try:
        scale.parse(text)
    except scale.ScaleError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run under uvloop where it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


@dataclass
class SetupClient:
    """What a scenario prepares its data with: signed requests, outside the measured run."""

    session: aiohttp.ClientSession
    signer: Signer
    run_id: str
    webhooks: WebhookTargets | None = None

    async def call(self, call: Call) -> Any:
        prepared = self.signer.sign(call)
        async with self.session.request(
            prepared.method, prepared.url, data=prepared.body, headers=prepared.headers
        ) as response:
            body = await response.read()
        if not 200 <= response.status < 300:
            hint = f"; {RATE_LIMIT_HINT}" if response.status == 429 else ""
            raise SetupFailed(
                f"setup request {call.method} {call.path} answered {response.status}: "
                f"{body[:300].decode(errors='replace')}{hint}"
            )
        return orjson.loads(body) if body else None


async def check_target(session: aiohttp.ClientSession, target: str) -> None:
    try:
        async with session.get(f"{target}/readyz") as response:
            text = await response.text()
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        raise TargetUnavailable(
            f"cannot reach the gateway at {target} ({error or type(error).__name__}): "
            "start it (make run), point --url at it, or use --spawn"
        ) from None
    if response.status != 200:
        raise TargetUnavailable(f"the gateway at {target} is not ready: {text[:300]}")
    services = json.loads(text).get("services", {})
    down = [name for name, state in services.items() if state != "ok"]
    if down:
        say(f"warning: services not answering: {', '.join(down)}")


def signing_plan(args: argparse.Namespace, plan: Plan) -> tuple[int, int]:
    """How many requests to sign ahead, and the tokens' time to live."""
    if args.sign == "inline":
        return 0, 60
    count = (
        plan.planned
        or args.presign
        or min(PRESIGN_MAX, math.ceil((plan.warmup_s + plan.duration_s) * PRESIGN_RATE))
    )
    if plan.requests is not None and args.presign:
        count = min(plan.requests, args.presign)  # the rest signed inline
    lasts_s = plan.duration_s if plan.requests is None else plan.requests / SLOWEST_RATE
    ttl = math.ceil(
        plan.warmup_s
        + lasts_s
        + BEHIND_LIMIT_S
        + args.timeout
        + SIGN_SLACK_S
        + count * 100e-6  # the signing itself: the first tokens are minted that much earlier
    )
    if ttl > MAX_TOKEN_TTL_S:
        say(
            f"note: pre-signed tokens would have to live {ttl} s, beyond the gateway's "
            f"AUTH_MAX_TOKEN_TTL_S default ({MAX_TOKEN_TTL_S} s): signing inline instead"
        )
        return 0, 60
    return count, ttl


async def benchmark(
    args: argparse.Namespace,
    scenario: Scenario,
    target: str,
    secret: str,
    services: dict[str, int],
    *,
    database_url: str | None = None,
    before_run: Callable[[], None] | None = None,
    after_run: Callable[[], None] | None = None,
) -> dict[str, Any]:
    plan = Plan(args.connections, args.duration, args.warmup, args.rate, args.requests)
    connector = aiohttp.TCPConnector(limit=plan.connections)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with (
        aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
        AsyncExitStack() as stack,
    ):
        await check_target(session, target)
        run_id = f"bench-{uuid.uuid4().hex[:8]}"
        presign, ttl_s = signing_plan(args, plan)
        signer = Signer(target, secret, ttl_s=ttl_s)
        targets = None
        if scenario.name == WEBHOOKS:
            targets = await stack.enter_async_context(deliveries.receiving(run_id))
        make = await scenario.prepare(SetupClient(session, signer, run_id, targets))
        if before_run is not None:
            before_run()
        if presign:
            say(f"signing {presign:,} requests ahead of the run")
            source = RequestSource.ahead(make, signer, presign)
        else:
            source = RequestSource(make, signer, [])
        # Everything allocated so far lives through the run: keep the collector off it.
        gc.collect()
        gc.freeze()
        recorder = Recorder(answer_times=args.credential_lag or targets is not None)
        cpu = CpuMeter(services)
        rss = MemoryMeter(services, args.rss_every)
        # The webhooks scenario: from the first request (or, with a backlog, from the webhooks
        # service's resumption) to the last delivery.
        delivery_cpu = CpuMeter(services)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def interrupt() -> None:
            say("interrupted: finishing the requests in flight (Ctrl-C again to abandon them)")
            stop.set()
            release_signals()

        def release_signals() -> None:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)
            signal.signal(signal.SIGTERM, _terminate)  # asyncio leaves it at the default

        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, interrupt)
        say(f"{scenario.name}: {_mode(plan)}, {plan.warmup_s:g} s warm-up")
        started_at = datetime.now(UTC)
        on_answer = rss.answered if args.rss_every else None
        delivery_cpu.mark_start()
        try:
            outcome = await Runner(session, source, plan, recorder, cpu, stop, on_answer).run()
        finally:
            release_signals()
            if after_run is not None:
                after_run()
            if args.backlog:
                delivery_cpu.mark_start()
        delivered = None
        if targets is not None and not outcome.interrupted:
            assert recorder.answered_at is not None
            expected = len(recorder.answered_at) * BULK_AWARDS
            say(f"webhooks: waiting up to {args.drain:g} s for {expected:,} deliveries")
            drained_s = await deliveries.drain(targets.tally, expected, args.drain)
            delivery_cpu.mark_end()
            delivered = deliveries.summarise(
                targets.tally, recorder.answered_at, BULK_AWARDS, drained_s, targets.hung
            )
            delivered["cpu_ms_per_delivery"] = _per_delivery(delivery_cpu, delivered["delivered"])
            delivered["cpu_cores"] = delivery_cpu.usage()
        lag = None
        if args.credential_lag and not outcome.interrupted:
            assert database_url is not None
            assert recorder.answered_at is not None
            say(f"credentials: waiting up to {args.drain:g} s for the run's credentials")
            lag = await credentials.measure(database_url, run_id, recorder.answered_at, args.drain)
            lag["issuer_cpu_s"] = cpu.spent_since_start("issuer")
        rss.mark_end()
    report = _report(
        scenario=scenario,
        plan=plan,
        target=target,
        started_at=started_at,
        event_loop="uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio",
        timeout_s=args.timeout,
        source=source,
        ttl_s=ttl_s,
        recorder=recorder,
        outcome=outcome,
        cpu=cpu,
    )
    report["credential_lag"] = lag
    report["webhooks"] = delivered
    report["memory"] = rss.summary()
    report["stopped"] = list(args.stop)
    report["backlog"] = args.backlog
    return report


def _per_delivery(cpu: CpuMeter, delivered: int) -> dict[str, float] | None:
    """CPU milliseconds per delivery of each process (not the machine's shares)."""
    usage, wall = cpu.usage(), cpu.wall_s
    if usage is None or wall is None or not delivered:
        return None
    return {
        label: cores * wall / delivered * 1000
        for label, cores in usage.items()
        if label not in SHARED_LABELS
    }


def _report(
    *,
    scenario: Scenario,
    plan: Plan,
    target: str,
    started_at: datetime,
    event_loop: str,
    timeout_s: float,
    source: RequestSource,
    ttl_s: int,
    recorder: Recorder,
    outcome: Outcome,
    cpu: CpuMeter,
) -> dict[str, Any]:
    measured = recorder.measured
    # From the window's start to its last answer, or the window itself if that came sooner.
    window_s = (recorder.last_done_at or outcome.measure_from) - outcome.measure_from
    if not outcome.interrupted and plan.requests is None:
        window_s = max(window_s, plan.duration_s)
    signing: dict[str, Any] = {
        "approach": "ahead" if source.presigned else "inline",
        "presigned": source.presigned,
        "presign_s": round(source.presign_s, 3),
        "signed_inline": source.signed_inline,
        "token_ttl_s": ttl_s,
    }
    if source.presigned:
        signing["distinct_tokens"] = source.distinct_presigned_tokens()
    return {
        "scenario": scenario.name,
        "summary": scenario.summary,
        "started_at": started_at.isoformat(timespec="seconds"),
        "target": target,
        "mode": "open" if plan.open_loop else "closed",
        "event_loop": event_loop,
        "connections": plan.connections,
        "rate_offered": plan.rate,
        "requests_planned": plan.requests,
        "duration_s": plan.duration_s,
        "warmup_s": plan.warmup_s,
        "timeout_s": timeout_s,
        "interrupted": outcome.interrupted,
        "signing": signing,
        "requests": {
            "sent": measured.sent,
            "ok": measured.ok,
            "errors": dict(measured.errors.most_common()),
            "never_sent": outcome.unsent,
        },
        "warmup": {
            "sent": recorder.warmup.sent,
            "ok": recorder.warmup.ok,
            "errors": dict(recorder.warmup.errors),
        },
        "window_s": round(window_s, 3),
        "throughput_rps": measured.done / window_s if window_s > 0 else 0.0,
        "ok_rps": measured.ok / window_s if window_s > 0 else 0.0,
        "latency_ms": recorder.latency_ms(),
        "max_behind_schedule_ms": outcome.max_lag_s * 1000 if plan.open_loop else None,
        "cpu_cores": cpu.usage(),
        "error_samples": recorder.samples,
    }


def _mode(plan: Plan) -> str:
    if plan.rate is not None:
        return (
            f"open loop at {plan.rate:g} req/s, at most {plan.connections} in flight, "
            f"{plan.duration_s:g} s measured"
        )
    if plan.requests is not None:
        return f"closed loop, {plan.connections} connections, {plan.requests:,} requests"
    return f"closed loop, {plan.connections} connections, {plan.duration_s:g} s measured"


def _plan(report: dict[str, Any]) -> Plan:
    return Plan(
        report["connections"],
        report["duration_s"],
        report["warmup_s"],
        report["rate_offered"],
        report["requests_planned"],
    )


def unclean(report: dict[str, Any]) -> int:
    """Requests of the measured window that failed or were never sent."""
    requests = report["requests"]
    return int(sum(requests["errors"].values()) + requests["never_sent"])


def throughput_line(report: dict[str, Any]) -> str:
    """The rate, only for a run in which every request succeeded: a rate over failures (fast
    errors, or requests never sent) would flatter the system."""
    if unclean(report):
        return (
            f"throughput   not reported: {unclean(report):,} requests failed or were never sent"
            " (see errors below; fix them, or lower the load, and run again)"
        )
    return (
        f"throughput   {report['throughput_rps']:,.1f} req/s answered, "
        f"{report['ok_rps']:,.1f}/s 2xx"
    )


def render(report: dict[str, Any]) -> str:
    requests, signing = report["requests"], report["signing"]
    failed = sum(requests["errors"].values())
    lines = [
        f"scenario     {report['scenario']}: {report['summary']}",
        f"mode         {_mode(_plan(report))}, after {report['warmup_s']:g} s of warm-up "
        f"({report['event_loop']})",
        f"target       {report['target']}",
    ]
    if report["spawned"]:
        settings = " ".join(f"{k}={v}" for k, v in report["spawned"]["env"].items())
        lines[-1] += f" (spawned on {report['spawned']['database_and_vhost']}, {settings})"
    if signing["approach"] == "ahead":
        each = signing["presign_s"] / max(signing["presigned"], 1) * 1e6
        lines.append(
            f"signing      ahead of the run: one token minted per request, {signing['presigned']:,}"
            f" in {signing['presign_s']:.1f} s ({each:.0f} µs each, "
            f"{signing['distinct_tokens']:,} distinct); {signing['signed_inline']:,} signed "
            "inline after those ran out"
        )
        if signing["distinct_tokens"] < signing["presigned"]:
            lines.append(
                "             (the same request signed in the same second gets the same token, "
                "as from any client: the gateway's verified-token cache skips re-verifying it)"
            )
    else:
        lines.append("signing      inline: each request's token minted as it is sent")
    lines += [
        f"requests     {requests['sent']:,} sent, {requests['ok']:,} ok (2xx), {failed:,} failed"
        + (
            f", {requests['never_sent']:,} never sent (over {BEHIND_LIMIT_S:g} s behind schedule)"
            if requests["never_sent"]
            else ""
        )
        + f"  (warm-up, not counted: {report['warmup']['sent']:,} sent)",
        throughput_line(report),
    ]
    latency = report["latency_ms"]
    if latency:
        lines.append(
            f"latency ms   {format_ms(latency)}"
            + ("  (from each request's scheduled time)" if report["mode"] == "open" else "")
        )
    if report["max_behind_schedule_ms"] is not None:
        lines.append(f"schedule     sent at most {report['max_behind_schedule_ms']:.1f} ms late")
    if requests["errors"]:
        lines.append("errors")
        for kind, count in requests["errors"].items():
            sample = report["error_samples"].get(kind, "")
            lines.append(f"  {kind:<28} {count:>8,}  {sample[:120]}")
        if RATE_LIMITED in requests["errors"]:
            lines.append(f"  note: {RATE_LIMIT_HINT}")
    cpu = report["cpu_cores"]
    if cpu:
        # CPU per request only where every request counted (as the rate).
        answered = 0 if unclean(report) else report["throughput_rps"]
        lines.append(f"cpu          cores busy over the measured window ({os.cpu_count()} cores)")
        for label, cores in cpu.items():
            shared = label in SHARED_LABELS
            per_request = f"{cores / answered * 1000:6.2f} ms/request" if answered else ""
            per_request = "" if shared else per_request
            lines.append(f"  {label:<30} {cores:5.2f}  {per_request}")
        rest = "" if report["spawned"] else "the services under test and "
        lines.append(
            "  (postgres and rabbitmq are machine-wide: other work on them counts too; "
            f"everything else is {rest}the rest of the machine, other people's work included)"
        )
    if report["stopped"]:
        lines.append(f"stopped      {', '.join(report['stopped'])}, before the run")
    if report["backlog"]:
        lines.append(
            "backlog      webhooks paused during the requests: deliveries drained a backlog"
        )
    if report["credential_lag"] is not None:
        lines += credentials.render(report["credential_lag"])
    if report["webhooks"] is not None:
        lines += deliveries.render(
            report["webhooks"],
            unclean(report),
            report["webhooks"]["cpu_ms_per_delivery"],
            backlog=report["backlog"],
        )
        other = (report["webhooks"]["cpu_cores"] or {}).get("everything else")
        if other is not None:
            lines.append(f"  other load over the same time: {other:.2f} cores (everything else)")
    lines += memory.render(report["memory"])
    if report["interrupted"]:
        lines.append("interrupted: the results cover the part that ran")
    return "\n".join(lines)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # outside the run too, SIGTERM stops what --spawn started


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    scenario = SCENARIOS[args.scenario]
    try:
        if args.spawn:
            with spawned_stack(
                master_secret=args.secret,
                keep_logs=args.keep_logs,
                scale=args.scale,
                python=args.services_python,
            ) as stack:
                services = {name: process.pid for name, process in stack.processes.items()}
                secret = stack.settings.master_secret_value

                def stop_services() -> None:
                    for name in args.stop:
                        say(f"spawn: stopping {name} before the run")
                        stack.stop(name)
                    if args.backlog:
                        say("spawn: pausing webhooks (SIGSTOP) for the run: events wait for it")
                        stack.signal("webhooks", signal.SIGSTOP)

                def resume_services() -> None:
                    if args.backlog:
                        say("spawn: resuming webhooks (SIGCONT): it drains the backlog")
                        stack.signal("webhooks", signal.SIGCONT)

                report = run_loop(
                    benchmark(
                        args,
                        scenario,
                        stack.base_url,
                        secret,
                        services,
                        database_url=stack.settings.database_url,
                        before_run=stop_services,
                        after_run=resume_services,
                    )
                )
            report["spawned"] = {"database_and_vhost": stack.isolation.name, "env": UNTHROTTLED}
        else:
            secret = args.secret or os.environ.get("MASTER_SECRET") or DEV_MASTER_SECRET
            report = run_loop(
                benchmark(
                    args,
                    scenario,
                    args.url.rstrip("/"),
                    secret,
                    {},
                    database_url=args.database_url,
                )
            )
            report["spawned"] = None
    except (TargetUnavailable, SetupFailed) as error:
        say(f"bench: {error}")
        return 2
    except KeyboardInterrupt:
        say("bench: interrupted")
        return 130
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        say(f"results written to {args.json}")
    lag = report["credential_lag"]
    if lag is not None and lag["missing"]:
        return 1
    if report["webhooks"] is not None and deliveries.failed(report["webhooks"]):
        return 1
    return 0 if report["requests"]["ok"] and not unclean(report) else 1
