"""Ratings: satisfaction statistics for readers, the bad-rating follow-up steps for writers."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from central.ratings import FollowUpError, RatingBook, UnknownFollowUp
from central.ratings.book import RatingGroup
from central.web.auth import Principal, reader, writer
from central.web.context import CentralContext

router = APIRouter(prefix="/api/ratings", tags=["ratings"])

# Epoch ms, bounded so that SQLite can hold them (an unbounded int overflowed into a 500).
Millis = Annotated[int | None, Query(ge=0, le=2**62)]


class FollowUpAction(BaseModel):
    # An unknown field is an error, as in the complaint desk's bodies: a typo is not ignored.
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=500)


def ratings_book(request: Request) -> RatingBook:
    context: CentralContext = request.app.state.central
    if context.ratings is None:
        raise HTTPException(503, "this central keeps no ratings")
    return context.ratings


Book = Annotated[RatingBook, Depends(ratings_book)]


@router.get("/satisfaction", summary="Counts per grade, satisfaction, bad and not-rated shares")
def satisfaction(
    _who: Annotated[Principal, Depends(reader)], book: Book,
    by: RatingGroup | None = None, since_ms: Millis = None, until_ms: Millis = None,
    hall: str | None = None,
) -> list[dict[str, Any]]:
    return [asdict(row) for row in book.satisfaction(by, since_ms=since_ms, until_ms=until_ms, hall=hall)]


@router.get("/followups", summary="Rectification follow-ups of bad ratings, soonest due first")
def followups(
    request: Request, _who: Annotated[Principal, Depends(reader)], book: Book,
    hall: str | None = None, state: str | None = None,
    overdue: Annotated[bool, Query(description="only overdue ones")] = False,
) -> list[dict[str, Any]]:
    now = request.app.state.central.clock.wall_ms()
    return [asdict(f) for f in book.followups(now, hall=hall, state=state, overdue_only=overdue)]


@router.post(
    "/followups/{hall}/{rating}/{action}",
    summary="Rectified, called back, or closed",
    responses={404: {"description": "no follow-up for that rating"},
               409: {"description": "the step is out of order (e.g. closed before called back)"}},
)
def act(request: Request, hall: str, rating: str, action: Literal["rectify", "callback", "close"],
        body: FollowUpAction, who: Annotated[Principal, Depends(writer)], book: Book) -> dict[str, Any]:
    step = {"rectify": book.rectify, "callback": book.callback, "close": book.close}[action]
    try:
        step(hall, rating, who.name, body.note, request.app.state.central.clock.wall_ms())
    except UnknownFollowUp as exc:
        raise HTTPException(404, str(exc)) from exc
    except FollowUpError as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"history": book.history(hall, rating)}
