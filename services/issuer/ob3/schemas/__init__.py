"""1EdTech's JSON Schema of the OB 3.0 `AchievementCredential` (`OpenBadgeCredential`), shipped
with the package: nothing is fetched at run time.

Source: the schema 1EdTech publishes for Open Badges 3.0.3 (VC Data Model 2.0: `validFrom`,
`validUntil`, the two-context `@context`), the one a credential names in `credentialSchema`,
https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json
(the file's own `$id` is the sibling `.../schema/json-ld/...` URL). The bytes are 1EdTech's as
mirrored, unmodified, in GitHub rollercoaster-dev/openbadges-types,
`schemas/v3/ob_v3p0_achievementcredential_schema.json` at commit
0e323742acda792f3bef6afffe70926eefce77bd (63,198 characters, no final newline). Replace the
file with a newer 1EdTech release rather than editing it.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

ACHIEVEMENT_CREDENTIAL_SCHEMA_URL = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
_FILE = "ob_v3p0_achievementcredential_schema.json"


@functools.cache
def achievement_credential() -> dict[str, Any]:
    """The schema (JSON Schema draft 2019-09) as a dict; callers must not change it."""
    loaded: dict[str, Any] = json.loads(resources.files(__package__).joinpath(_FILE).read_text())
    return loaded
