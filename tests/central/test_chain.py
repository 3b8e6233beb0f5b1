"""The one hash chain behind central's append-only logs: each tampering is found and named."""

from __future__ import annotations

from dataclasses import replace

from central.chain import EMPTY, GENESIS, Head, Link, canonical_body, link_hash, verify_chain


def _chain(count: int, start: Head = EMPTY, tag: str = "") -> list[Link]:
    links: list[Link] = []
    head = start
    for n in range(head.seq + 1, head.seq + 1 + count):
        link = Link.after(head, (f"case-{n}", "case.accepted", 1_700_000_000 + n, "官员"),
                          canonical_body({"n": n, "tag": tag, "窗口": "A01"}))
        links.append(link)
        head = Head(link.seq, link.hash)
    return links


def test_an_intact_chain_verifies_and_reports_its_head() -> None:
    links = _chain(4)
    report = verify_chain(links)
    assert report.ok and report.checked == 4
    assert report.head == Head(4, links[-1].hash)
    assert links[0].prev_hash == GENESIS


def test_an_empty_log_verifies_with_the_genesis_head() -> None:
    report = verify_chain([])
    assert report.ok and (report.checked, report.head) == (0, Head(0, GENESIS))


def test_the_hash_covers_position_header_and_body() -> None:
    link = _chain(1)[0]
    assert link.hash == link_hash(GENESIS, (1, *link.header), link.body_text)
    assert link_hash(GENESIS, (2, *link.header), link.body_text) != link.hash
    assert link_hash(GENESIS, (1, "other", *link.header[1:]), link.body_text) != link.hash
    # The header delimits itself: moving text between header and body changes the hash.
    assert link_hash(GENESIS, ["a"], '"b') != link_hash(GENESIS, ['a"'], "b")


def test_canonical_body_is_one_text_whatever_the_key_order() -> None:
    assert canonical_body({"b": 1, "a": "窗口"}) == canonical_body({"a": "窗口", "b": 1})
    assert canonical_body({"b": 1, "a": "窗口"}) == '{"a":"窗口","b":1}'


def test_an_edited_row_is_named_as_changed() -> None:
    links = _chain(4)
    links[2] = replace(links[2], body_text=links[2].body_text.replace("A01", "A02"))
    report = verify_chain(links)
    assert (report.ok, report.first_bad, report.checked) == (False, 3, 2)
    assert report.problem == "record 3 was changed after it was written"
    assert report.head == Head(2, links[1].hash)


def test_an_edited_header_field_is_named_as_changed() -> None:
    links = _chain(3)
    links[0] = replace(links[0], header=("case-1", "case.accepted", 1_700_000_001, "someone else"))
    assert verify_chain(links).first_bad == 1


def test_a_deleted_row_is_named_as_missing() -> None:
    links = _chain(4)
    del links[1]
    report = verify_chain(links)
    assert (report.ok, report.first_bad) == (False, 2)
    assert report.problem == "record 2 is missing (next is 3)"


def test_a_reordered_row_no_longer_links_to_the_one_before() -> None:
    links = _chain(4)
    # Swap the contents of records 2 and 3, each keeping its position.
    second, third = links[1], links[2]
    links[1] = replace(third, seq=2)
    links[2] = replace(second, seq=3)
    report = verify_chain(links)
    assert (report.ok, report.first_bad) == (False, 2)
    assert report.problem == "record 2 does not link to record 1"


def test_rows_read_out_of_order_are_caught_at_the_first_gap() -> None:
    links = _chain(3)
    report = verify_chain([links[0], links[2], links[1]])
    assert (report.ok, report.first_bad) == (False, 2)


def test_a_rewritten_tail_no_longer_extends_the_published_head() -> None:
    links = _chain(4)
    published = Head(3, links[2].hash)
    # Re-chain from record 2 on: consistent on its own, but not what was published.
    rewritten = links[:1] + _chain(3, start=Head(1, links[0].hash), tag="rewritten")
    assert verify_chain(rewritten).ok
    report = verify_chain(rewritten, published)
    assert (report.ok, report.first_bad) == (False, 3)
    assert "differs from the published head" in (report.problem or "")


def test_a_log_shorter_than_the_published_head_was_cut() -> None:
    links = _chain(4)
    report = verify_chain(links[:2], Head(4, links[3].hash))
    assert not report.ok and report.first_bad is None
    assert report.problem == ("the log ends at 2, before the published head 4: "
                              "records were removed")


def test_a_log_that_grew_still_extends_the_published_head() -> None:
    links = _chain(5)
    published = Head.from_json(Head(3, links[2].hash).to_json())
    report = verify_chain(links, published)
    assert report.ok and report.head.seq == 5
