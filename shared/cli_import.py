"""`plaudit import FILE --badge ...`: upload a file of awards, follow the import with a progress
bar (rate and time left), print its summary and write its results file; with `--dry-run`, print
the file's problems as a table.

The file is read twice and never held whole: once to hash it (the token covers the body's
hash), once as the upload streams it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlencode

from shared.tokens import authorization, mint

CHUNK_BYTES = 64 * 1024
POLL_S = 0.5
BAR_WIDTH = 30
FINISHED = ("completed", "cancelled", "failed")
# Upload and results can be large: a slow network gets this long per read or write.
TIMEOUT_S = 120


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "import", help="import awards of a badge from a CSV or JSON lines file"
    )
    parser.add_argument("file", type=Path, help="the CSV (or .ndjson/.jsonl) file")
    parser.add_argument(
        "--badge",
        required=True,
        help="the badge's path (/systems/s[/issuers/i[/programs/p]]/badges/b), or its slug"
        " with --system",
    )
    parser.add_argument("--system", help="the system's slug, when --badge is a slug")
    parser.add_argument("--dry-run", action="store_true", help="validate only; award nothing")
    parser.add_argument("--duplicates", choices=["skip", "allow", "fail"], default="skip")
    parser.add_argument(
        "--no-notify", action="store_true", help="no badge.awarded webhooks for these awards"
    )
    parser.add_argument("--results", type=Path, help="where to write the results CSV")
    parser.set_defaults(run=cmd_import)


def _badge_path(args: argparse.Namespace) -> str:
    if args.badge.startswith("/systems/"):
        return str(args.badge.rstrip("/"))
    if not args.system:
        sys.exit("plaudit: give --badge as /systems/<s>/badges/<b>, or --system with its slug")
    return f"/systems/{args.system}/badges/{args.badge}"


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _request(
    args: argparse.Namespace,
    method: str,
    path: str,
    *,
    body: BinaryIO | None = None,
    body_hash: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """A signed request; its open response (the caller reads and closes it), or exits."""
    token = mint(args.secret, method=method, path=path, key=args.key, body_hash=body_hash)
    request = urllib.request.Request(
        args.url + path,
        data=body,
        method=method,
        headers={"Authorization": authorization(token), **(headers or {})},
    )
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as error:
        return error
    except urllib.error.URLError as error:
        sys.exit(f"plaudit: cannot reach the gateway at {args.url} ({error.reason})")


def _json(response: Any) -> tuple[int, Any]:
    with response:
        raw = response.read()
        status = response.status if hasattr(response, "status") else response.code
    try:
        return status, json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return status, raw.decode(errors="replace")


def cmd_import(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        sys.exit(f"plaudit: no such file: {path}")
    badge = _badge_path(args)
    system = "/".join(badge.split("/")[:3])
    options = {"duplicates": args.duplicates}
    if args.dry_run:
        options["dryRun"] = "true"
    if args.no_notify:
        options["notify"] = "false"
    upload = f"{badge}/imports?{urlencode(options)}"
    kind = "application/x-ndjson" if path.suffix in (".ndjson", ".jsonl") else "text/csv"
    with path.open("rb") as file:
        status, answer = _json(
            _request(
                args,
                "POST",
                upload,
                body=file,
                body_hash=_hash(path),
                headers={"Content-Type": kind, "Content-Length": str(path.stat().st_size)},
            )
        )
    if status >= 400:
        return _refused(answer)
    job = answer["import"]
    if args.dry_run:
        _print_problems(job["problems"])
        rows = job["rows"]
        print(f"dry run: {rows['total']} rows, {rows['failed']} with problems; nothing was awarded")
        return 0 if not job["problems"] else 1
    job = _follow(args, f"{system}/imports/{job['id']}")
    rows = job["rows"]
    print(
        f"import {job['state']}: {rows['awarded']} awarded, {rows['skipped']} skipped,"
        f" {rows['failed']} failed of {rows['total']} rows"
        f" ({job['ratePerS'] or 0:,.0f} rows/s)"
    )
    target = args.results or Path(f"import-{job['id']}-results.csv")
    _save_results(args, f"{system}/imports/{job['id']}/results", target)
    print(f"results: {target.resolve()}")
    return 0 if job["state"] == "completed" else 1


def _refused(answer: Any) -> int:
    if not isinstance(answer, dict):
        print(f"plaudit: the import was refused: {answer}", file=sys.stderr)
        return 1
    print(f"plaudit: {answer.get('code')}: {answer.get('message')}", file=sys.stderr)
    details = answer.get("details")
    if isinstance(details, list) and details and "row" in details[0]:
        _print_problems(details)
    return 1


def _print_problems(problems: list[dict[str, Any]]) -> None:
    if not problems:
        return
    table = [("row", "column", "value", "message")] + [
        (str(p["row"]), p["column"], p["value"][:40], p["message"]) for p in problems
    ]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[3]
        )


def _follow(args: argparse.Namespace, path: str) -> dict[str, Any]:
    """Poll the import until it finishes, drawing its progress on stderr."""
    while True:
        status, answer = _json(_request(args, "GET", path))
        if status != 200:
            sys.exit(f"plaudit: could not read the import: {answer}")
        job: dict[str, Any] = answer["import"]
        _draw(job)
        if job["state"] in FINISHED:
            print(file=sys.stderr)
            return job
        time.sleep(POLL_S)


def _draw(job: dict[str, Any]) -> None:
    rows = job["rows"]
    total, done = rows["total"] or 1, rows["done"]
    filled = BAR_WIDTH * done // total
    rate = job["ratePerS"] or 0
    left = f"{(total - done) / rate:,.0f}s left" if rate else "--"
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    line = (
        f"\r[{bar}] {100 * done // total:3d}% {done:,}/{rows['total']:,} rows {rate:,.0f}/s {left}"
    )
    print(line.ljust(78), end="", file=sys.stderr, flush=True)


def _save_results(args: argparse.Namespace, path: str, target: Path) -> None:
    response = _request(args, "GET", path)
    with response, target.open("wb") as out:
        if response.status != 200:
            sys.exit(f"plaudit: could not read the results: {response.read()!r}")
        shutil.copyfileobj(response, out, CHUNK_BYTES)
