"""The Open Campus sandbox: a local stand-in for `POST {OPEN_CAMPUS_BASE_URL}/issuer/vc`.

It applies the rules of `shared/opencampus.py` (what Plaudit checks is what it refuses), refuses a
second `issuerReferenceId` under the same API key with `DUPLICATE_ISSUANCE_ERROR`, answers
`{"vc": {"id": "urn:uuid:..."}}`, and injects faults set at run time (errors, 429, slow answers,
credentials recorded behind a 500 or a dropped connection). Memory only: a restart forgets all.

The admin API under `/_sandbox/` has no authentication: it is loopback tooling for development and
tests and must never be reachable from outside the machine (or the compose network).
"""
