"""Case facts through the API: a token states facts only of its units' cases, and is their author.

The same authority table as the halls' (`contract.authority`): an API client
may enter cases and state their facts, for the units its token is scoped to
(`[web] users ... units`; the supervision office's token has none and may for
every unit). The `by` of what it states is the token's user, not whatever the
body says: an approval system naming its own officer keeps that name after the
user's, as `approval-hr/李四`. A refusal answers 403 and is a security alarm,
like a hall's.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, NoReturn, TypeVar

from fastapi import HTTPException, status
from pydantic import BaseModel

from central.alarms import SecurityAlarm, record_alarm
from central.cases.store import CaseStore, UnknownCase
from central.web.auth import Principal
from central.web.context import CentralContext
from contract.authority import Speaker, author_refusal, case_refusal
from contract.catalog import spec_for
from contract.kinds import Author

FactT = TypeVar("FactT", bound=BaseModel)
BY_LENGTH = 80


def speaker_of(principal: Principal) -> Speaker:
    return Speaker(Author.API_CLIENT, principal.name, units=principal.units)


def attributed_by(principal: Principal, by: str) -> str:
    """The token's user, then the approval system's own word for who did it (cut, never the user)."""
    if by == principal.name:
        return by
    return f"{principal.name}/{by}"[:BY_LENGTH]


def scope_in(store: CaseStore) -> Any:
    """A stored case's hall and unit, read through the store the request holds alone."""

    def scope(case_id: str) -> tuple[str, str] | None:
        try:
            case = store.case(case_id)
        except UnknownCase:
            return None
        return case.hall, case.unit

    return scope


def refusal_of(principal: Principal, kind: str, body: Mapping[str, Any], store: CaseStore) -> str | None:
    speaker = speaker_of(principal)
    rule = spec_for(kind).authority
    scope = scope_in(store)
    problem = author_refusal(kind, rule, speaker) or case_refusal(kind, body, speaker, scope)
    if problem is not None and problem.startswith("unknown case"):
        return None  # not an overstep: the store answers 404 for a case it does not have
    return problem


def authorised(context: CentralContext, principal: Principal, kind: str, fact: FactT,
               store: CaseStore) -> FactT:
    """The fact as the token may state it (its `by` the token's), or 403 and an alarm."""
    body = fact.model_dump(mode="json")
    problem = refusal_of(principal, kind, body, store)
    if problem is not None:
        refuse(context, principal, kind, body, problem, store)
    return fact.model_copy(update={"by": attributed_by(principal, str(body["by"]))})


def refuse(context: CentralContext, principal: Principal, kind: str, body: Mapping[str, Any],
           problem: str, store: CaseStore) -> NoReturn:
    found = scope_in(store)(str(body.get("case_id")))
    hall = body.get("hall") if kind == "case.accepted" else (found[0] if found else None)
    alarm = SecurityAlarm(alarm=f"api:{uuid.uuid4().hex}", at=context.clock.wall_ms(), refused_by="api",
                          hall=hall if isinstance(hall, str) else None, device=principal.name,
                          kind=Author.API_CLIENT.value, type=kind, reason=problem)
    with context.store.statements() as tx:
        record_alarm(tx, alarm)
    context.feed.publish("security", {"hall": alarm.hall, "device": alarm.device, "type": kind,
                                      "reason": problem, "refused_by": "api"})
    raise HTTPException(status.HTTP_403_FORBIDDEN, problem)
