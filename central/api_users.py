"""Who may call central's API: named users, each with a role and a token kept out of the file."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from spine.config import Section


class ApiRole(StrEnum):
    """What an API caller may do. Ordered: each role may do everything the one before it may."""

    VIEWER = "viewer"  # the big screen, dashboards: read-only, personal data masked
    APPROVAL = "approval"  # an approval system: reads, and enters cases and facts of its units only
    SUPERVISOR = "supervisor"  # the supervision office: complaints, answers, case entries


ROLE_RANK = {ApiRole.VIEWER: 0, ApiRole.APPROVAL: 1, ApiRole.SUPERVISOR: 2}


class CaseFeed(StrEnum):
    """How a caller's case facts reach central, which decides when its cases may be judged."""

    LIVE = "live"  # a person at a form: facts are stated as they happen
    SYNCED = "synced"  # an approval system that sends its facts in batches (nightly, hourly)


class ApiUser(Section):
    """One caller of the API. The token itself stays out of the file: its hash or a file holding it."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[^/]+$",
                      description="recorded as the author (`by`) of every case fact it states")
    role: ApiRole
    units: list[str] | None = Field(
        None, min_length=1,
        description="the units (departments, as cases name them) whose cases this token may enter and "
        "state facts of; required for the approval role; none: every unit (the supervision office)",
    )
    token_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="sha256 hex digest of the bearer token"
    )
    token_file: Path | None = Field(None, description="a file whose first line is the token")
    token: SecretStr | None = Field(None, description="the token itself (tests and demo only)")
    feed: CaseFeed = Field(
        CaseFeed.LIVE,
        description="`synced` for a system that sends its case facts in batches: its cases wait "
        "until one of its imports says its facts are complete past an escalation's instant",
    )

    @model_validator(mode="after")
    def _one_token(self) -> ApiUser:
        given = [x for x in (self.token_sha256, self.token_file, self.token) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of token_sha256, token_file or token")
        if self.role == ApiRole.APPROVAL and self.units is None:
            raise ValueError("an approval system's token is scoped to its units: give units = [...]")
        return self

    def token_digest(self) -> str:
        if self.token_sha256 is not None:
            return self.token_sha256
        if self.token_file is not None:
            secret = self.token_file.read_text(encoding="utf-8").strip()
        else:
            assert self.token is not None
            secret = self.token.get_secret_value()
        return hashlib.sha256(secret.encode()).hexdigest()
