"""Reading a batch in one pass gives exactly what json.loads gives, plus each event's own text."""

from __future__ import annotations

import json

import pytest

from spine.wire import read_batch

EVENT = '{"v":1,"id":"e1","body":{"events":[1,2],"text":"叫号 \\"events\\":["}}'
SHAPES = {
    "as senders write it": '{"v":1,"batch":"b-01","sender":"sim-01","events":[' + EVENT + ',{"v":1}]}',
    "events first, spaced out": '{ "events" : [ ' + EVENT + ' ,\n {"v":1} ] , "v":1 }',
    "no events": '{"v":1,"batch":"b-01","events":[]}',
    "events not a list of objects": '{"v":1,"events":[1,"two",null,[3]]}',
    "an events key deeper in the header": '{"x":{"events":[9]},"events":[' + EVENT + "]}",
    "the events key twice": '{"events":[' + EVENT + '],"v":1,"events":[]}',
    "no events key": '{"v":1,"batch":"b-01"}',
    "not an object": "[1,2,3]",
    "NaN in a body": '{"events":[{"v":1,"body":{"x":NaN}}]}',
}


@pytest.mark.parametrize("payload", SHAPES.values(), ids=SHAPES.keys())
def test_a_batch_reads_as_json_loads_reads_it(payload: str) -> None:
    parsed, texts = read_batch(payload.encode())

    expected = json.loads(payload)
    assert json.dumps(parsed, sort_keys=True) == json.dumps(expected, sort_keys=True)
    if texts is not None:
        events = expected["events"]
        assert len(texts) == len(events)
        assert [json.loads(text) for text in texts] == json.loads(json.dumps(events))


def test_each_event_keeps_the_senders_own_text() -> None:
    _parsed, texts = read_batch(SHAPES["as senders write it"].encode())
    assert texts == [EVENT, '{"v":1}']


def test_what_is_not_json_fails_as_json_loads_fails() -> None:
    with pytest.raises(json.JSONDecodeError):
        read_batch(b'{"events":[{"v":1},]}')
    with pytest.raises(UnicodeDecodeError):
        read_batch(b'{"events":["\xff"]}')
