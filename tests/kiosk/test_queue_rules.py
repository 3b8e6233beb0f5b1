"""The hall queue's rules on their own: who is called next, and what each window action does."""

from __future__ import annotations

from dataclasses import replace

from contract.events.queue import WindowActionKind as K
from contract.events.queue import WindowState
from gateway.queue.rules import (
    Action,
    Limits,
    Situation,
    Visit,
    VisitState,
    Window,
    choose_next,
    decide,
    same_ticket,
)

DAY = "2026-11-26"
MIN = 60_000


def visit(key: int, ticket: str, issued_at: int, service: str = "A", **extra: object) -> Visit:
    return Visit(key=key, day=DAY, ticket=ticket, service=service, state=VisitState.WAITING,
                 issued_at=issued_at, waiting_since=issued_at, **extra)  # type: ignore[arg-type]


def open_window(id: str = "1", officer: str = "o-07", services: str = "AG") -> Window:
    return Window(id, frozenset(services), officer, WindowState.OPEN)


def test_call_next_takes_the_oldest_ticket_of_the_windows_services() -> None:
    waiting = [visit(1, "A003", 30), visit(2, "A001", 10), visit(3, "B002", 5, service="B")]
    assert choose_next(Situation(open_window(services="A"), waiting=waiting)).ticket == "A001"


def test_green_channel_and_appointments_go_before_ordinary_tickets() -> None:
    waiting = [
        visit(1, "A001", 10),
        visit(2, "G001", 50, service="G", priority=True),
        visit(3, "A005", 90, priority=True, appointment="123456", booked_officer="o-07"),
    ]
    window = open_window()
    order = []
    pending = list(waiting)
    while (chosen := choose_next(Situation(window, waiting=pending))) is not None:
        order.append(chosen.ticket)
        pending.remove(chosen)
    # Booked for this officer first, then the green channel, then everyone else.
    assert order == ["A005", "G001", "A001"]


def test_an_appointment_for_an_officer_at_another_window_waits_for_them() -> None:
    booked = visit(1, "A002", 10, priority=True, appointment="654321", booked_officer="o-09")
    other = visit(2, "A003", 20)
    here = Situation(open_window(officer="o-07"), waiting=[booked, other],
                     officers_elsewhere=frozenset({"o-09"}))
    assert choose_next(here).ticket == "A003"
    # When that officer is not logged in anywhere, the appointment is simply a priority ticket.
    assert choose_next(replace(here, officers_elsewhere=frozenset())).ticket == "A002"


def test_a_window_calls_only_when_logged_in_open_and_free() -> None:
    waiting = [visit(1, "A001", 10)]
    closed = Situation(Window("1", frozenset("A")), waiting=waiting)
    assert decide(Action(K.CALL_NEXT, 100), closed, Limits()).message == "log in first"
    paused = Situation(replace(open_window(), state=WindowState.PAUSED), waiting=waiting)
    assert not decide(Action(K.CALL_NEXT, 100), paused, Limits()).ok
    busy = Situation(replace(open_window(), current=9), current=visit(9, "A000", 1), waiting=waiting)
    assert "finish A000 first" in decide(Action(K.CALL_NEXT, 100), busy, Limits()).message


def test_a_call_records_the_wait_and_a_completion_the_service_time() -> None:
    window = open_window()
    called = decide(Action(K.CALL_NEXT, 10 * MIN), Situation(window, waiting=[visit(1, "A001", 2 * MIN)]),
                    Limits())
    assert called.ok and called.called is not None
    [(type, body)] = called.facts
    assert type == "queue.called"
    assert body["wait_ms"] == 8 * MIN and body["window"] == "1" and body["officer"] == "o-07"
    current = called.visits[0]
    done = decide(Action(K.COMPLETE, 25 * MIN), Situation(called.window, current=current), Limits())
    [(type, body)] = done.facts
    assert type == "queue.served"
    assert body["service_ms"] == 15 * MIN and body["called_at"] == 10 * MIN
    assert done.window.current is None and done.visits[0].state is VisitState.SERVED


def test_recalls_are_capped() -> None:
    window = open_window()
    called = decide(Action(K.CALL_NEXT, 1000), Situation(window, waiting=[visit(1, "A001", 0)]), Limits())
    current = called.visits[0]
    for n in (1, 2):
        recall = decide(Action(K.RECALL, 1000 + n), Situation(called.window, current=current), Limits(2))
        assert recall.ok and recall.facts[0] == ("queue.recalled", recall.facts[0][1])
        assert recall.facts[0][1]["recalls"] == n
        current = recall.visits[0]
    third = decide(Action(K.RECALL, 2000), Situation(called.window, current=current), Limits(2))
    assert not third.ok and "no-show" in third.message
    gone = decide(Action(K.NO_SHOW, 3000), Situation(called.window, current=current), Limits(2))
    assert gone.visits[0].state is VisitState.NO_SHOW and gone.facts[0][0] == "queue.no_show"


def test_a_parked_citizen_is_called_back_and_parked_time_is_not_service_time() -> None:
    window = open_window()
    called = decide(Action(K.CALL_NEXT, 0), Situation(window, waiting=[visit(1, "A007", 0)]), Limits())
    parked = decide(Action(K.PARK, 4 * MIN), Situation(called.window, current=called.visits[0]), Limits())
    assert parked.visits[0].state is VisitState.PARKED and parked.window.current is None
    # Typed on a digits-only keypad: "7" finds A007.
    back = decide(Action(K.CALL_BACK, 20 * MIN, ticket="7"),
                  Situation(parked.window, parked=parked.visits), Limits())
    assert back.ok and back.facts[0][1]["call_back"] is True
    done = decide(Action(K.COMPLETE, 26 * MIN), Situation(back.window, current=back.visits[0]), Limits())
    assert done.facts[0][1]["service_ms"] == 4 * MIN + 6 * MIN


def test_a_transfer_puts_the_visit_back_in_line_for_the_other_service_keeping_its_issue_time() -> None:
    window = open_window(services="A")
    called = decide(Action(K.CALL_NEXT, 5 * MIN), Situation(window, waiting=[visit(1, "A001", 0)]), Limits())
    at_window = Situation(called.window, current=called.visits[0], known_services=frozenset("AB"))
    moved = decide(Action(K.TRANSFER, 9 * MIN, service="B"), at_window, Limits())
    [(type, body)] = moved.facts
    assert type == "queue.transferred" and body["to_service"] == "B" and body["active_ms"] == 4 * MIN
    transferred = moved.visits[0]
    assert transferred.state is VisitState.WAITING and transferred.service == "B"
    newcomer = visit(2, "B009", 6 * MIN, service="B")
    window_b = open_window("2", "o-02", "B")
    assert choose_next(Situation(window_b, waiting=[newcomer, transferred])).ticket == "A001"
    unknown = decide(Action(K.TRANSFER, 9 * MIN, service="Z"), at_window, Limits())
    assert not unknown.ok


def test_logout_waits_for_the_current_ticket_and_pause_toggles_calling() -> None:
    login = decide(Action(K.LOGIN, 0, officer="o-07"), Situation(Window("1", frozenset("A"))), Limits())
    assert login.window.state is WindowState.OPEN and login.facts[0][0] == "queue.window_changed"
    paused = decide(Action(K.PAUSE, 1), Situation(login.window), Limits())
    assert paused.window.state is WindowState.PAUSED
    resumed = decide(Action(K.RESUME, 2), Situation(paused.window), Limits())
    assert resumed.window.state is WindowState.OPEN
    busy = Situation(replace(resumed.window, current=1), current=visit(1, "A001", 0))
    assert not decide(Action(K.LOGOUT, 3), busy, Limits()).ok


def test_typed_digits_match_a_ticket_by_number() -> None:
    assert same_ticket("A007", "7") and same_ticket("A007", "007") and same_ticket("A007", "A007")
    assert not same_ticket("A017", "7") and not same_ticket("B007", "A007")
