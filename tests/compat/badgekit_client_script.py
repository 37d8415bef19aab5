"""Runs inside a virtualenv of its own with `badgekit-api-client` 0.5.1 (unmodified),
`requests-jwt` 0.4 and PyJWT 1.7.1, as DESIGN.md prescribes: drives Plaudit through the client
and prints what each call answered, as JSON, for the test to check.

Usage: python badgekit_client_script.py <base url> <master secret> <unique suffix>
"""

import json
import sys
import warnings

warnings.simplefilter("ignore")  # the 2015 client imports distutils

import badgekit  # noqa: E402

base_url, secret, suffix = sys.argv[1], sys.argv[2], sys.argv[3]
api = badgekit.BadgeKitAPI(base_url, secret)
system, issuer, program = "bk-" + suffix, "bk-iss-" + suffix, "bk-prog-" + suffix
results = {}


def attempt(name, call):
    try:
        results[name] = {"ok": call()}
    except badgekit.BadgeKitException as error:
        results[name] = {"error": type(error).__name__, "info": getattr(error, "info", None)}


attempt("ping", api.ping)
attempt("version", api.server_version)
attempt(
    "create_system",
    lambda: api.create(
        "system", {"slug": system, "name": "Client", "url": "https://c.example.org"}
    ),
)
attempt(
    "create_duplicate_system",
    lambda: api.create(
        "system", {"slug": system, "name": "Client", "url": "https://c.example.org"}
    ),
)
attempt("create_invalid_system", lambda: api.create("system", {"slug": "x" + suffix}))
attempt(
    "create_issuer",
    lambda: api.create(
        "issuer", {"slug": issuer, "name": "Issuer", "url": "https://i.example.org"}, system=system
    ),
)
attempt(
    "create_program",
    lambda: api.create(
        "program",
        {"slug": program, "name": "Program", "url": "https://p.example.org"},
        system=system,
        issuer=issuer,
    ),
)
badge = {
    "slug": "bk-badge-" + suffix,
    "name": "Client badge",
    "earnerDescription": "Earned through the client",
    "consumerDescription": "Awarded through the old Python client",
    "criteriaUrl": "https://c.example.org/criteria",
    "unique": True,
    "imageUrl": "https://c.example.org/badge.png",
    "tags": ["one", "two"],
}
attempt(
    "create_badge",
    lambda: api.create("badge", badge, system=system, issuer=issuer, program=program),
)
attempt("list_systems", lambda: api.list("system"))
attempt("get_system", lambda: api.get(system=system))
attempt("list_issuers", lambda: api.list("issuer", system=system))
attempt("get_program", lambda: api.get(system=system, issuer=issuer, program=program))
attempt("list_badges", lambda: api.list("badge", system=system))
attempt("list_archived_badges", lambda: api.list("badge", system=system, archived=True))
attempt("get_badge", lambda: api.get(system=system, badge=badge["slug"]))
attempt("get_missing_badge", lambda: api.get(system=system, badge="no-such-badge"))
attempt(
    "award",
    lambda: api.create(
        "instance", {"email": "earner@example.org"}, system=system, badge=badge["slug"]
    ),
)
attempt("list_instances", lambda: api.list("instance", system=system, badge=badge["slug"]))
sys.stdout.write(json.dumps(results) + "\n")
