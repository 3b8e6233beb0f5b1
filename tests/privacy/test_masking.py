"""The one mask at every way out: every usual form of a phone or ID number, inside Chinese text, is found
and masked; case numbers, dates, amounts and tickets beside it are left as they were."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contract.privacy import (
    ERASED,
    PersonalKind,
    find_personal_data,
    mask_id_number,
    mask_name,
    mask_phone,
    normalize_phone,
    redact,
)
from hallwatch.logsetup import configure_logging

WIDE = str.maketrans("0123456789+-()", "０１２３４５６７８９＋－（）")
HAN = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"
    "同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自"
    "二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日"
    "那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变"
    "条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总"
    "次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指"
    "几九区强放决西被干做必战先回则任取据处府研"
)
SEPARATOR = st.text(alphabet=HAN + "，。：；、 ", min_size=1, max_size=6).filter(
    lambda s: s.strip(" ") != "")
"""Between two pieces of a sentence: Han characters and punctuation, never a digit."""


@dataclass(frozen=True)
class Piece:
    text: str
    value: str | None = None
    """The normal form, for a piece that is personal data."""
    kind: PersonalKind | None = None

    @property
    def masked(self) -> str:
        if self.kind is None:
            return self.text
        return mask_id_number(self.value) if self.kind is PersonalKind.ID_NUMBER else mask_phone(self.value)


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


@st.composite
def mobiles(draw: st.DrawFn) -> Piece:
    number = "1" + draw(st.sampled_from("3456789")) + draw(digits(9))
    sep = draw(st.sampled_from(["", " ", "-", "."]))
    grouped = f"{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}"
    if draw(st.booleans()):
        grouped = f"{number[:3]}{draw(st.sampled_from(['', ' ', '-']))}{number[3:7]}" \
                  f"{draw(st.sampled_from(['', ' ', '-']))}{number[7:]}"
    prefix = draw(st.sampled_from(["", "", "+86", "+86 ", "+86-", "0086", "0086 ", "0086-", "86", "86-"]))
    text = prefix + grouped
    if draw(st.booleans()):
        text = text.translate(WIDE)  # typed on a Chinese keyboard in full-width mode
    return Piece(text, number, PersonalKind.MOBILE)


AREA_CODES = ["010", "020", "021", "029", "0931", "0937", "0755", "0571"]


@st.composite
def landlines(draw: st.DrawFn) -> Piece:
    area = draw(st.sampled_from(AREA_CODES))
    local = draw(st.sampled_from("23456789")) + draw(digits(draw(st.sampled_from([6, 7]))))
    form = draw(st.sampled_from(["{a}-{n}", "({a}){n}", "({a}) {n}", "{a} {n}", "{a}{n}"]))
    text = form.format(a=area, n=local)
    if draw(st.booleans()):
        text = text.translate(WIDE)
    return Piece(text, area + local, PersonalKind.LANDLINE)


@st.composite
def id_numbers(draw: st.DrawFn) -> Piece:
    region = draw(st.sampled_from("123456789")) + draw(digits(5))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)))
    tail = draw(digits(3)) + draw(st.sampled_from(list("0123456789Xx")))
    number = f"{region}{born:%Y%m%d}{tail}"
    return Piece(number, number.upper(), PersonalKind.ID_NUMBER)


@st.composite
def not_personal(draw: st.DrawFn) -> Piece:
    """What stands beside a phone in a note and must stay readable: numbers that are not personal."""
    year = draw(st.integers(2000, 2099))
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    text = draw(st.sampled_from([
        f"{year}-{draw(digits(6))}",  # a case number of the approval system
        f"JQ-{year}-{draw(digits(4))}",
        f"TS{year}{month:02d}{day:02d}-{draw(digits(4))}",  # a complaint number
        f"{year}-{month:02d}-{day:02d}",
        f"{year}年{month}月{day}日",
        f"{year}-{month:02d}-{day:02d}T{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}",
        f"{draw(st.integers(0, 23))}:{draw(st.integers(0, 59)):02d}",
        f"{draw(st.integers(1, 999))},{draw(digits(3))},{draw(digits(3))}.{draw(digits(2))}元",
        f"¥{draw(st.integers(1, 99999))}",
        f"{draw(st.sampled_from('ABCDE'))}{draw(digits(3))}号",  # a ticket
        f"{draw(st.integers(1, 20))}个工作日",
        f"17{draw(digits(11))}",  # an instant in ms
        draw(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)).join("[]"),  # a hash
    ]))
    return Piece(text)


PIECES = st.one_of(mobiles(), landlines(), id_numbers(), not_personal())


@st.composite
def notes(draw: st.DrawFn) -> list[Piece]:
    """A note as an officer types it: pieces of text, personal or not, between Chinese words."""
    pieces = draw(st.lists(PIECES, min_size=1, max_size=6))
    out = [Piece(draw(SEPARATOR))]
    for piece in pieces:
        out += [piece, Piece(draw(SEPARATOR))]
    return out


def _digits_of(text: str) -> str:
    return re.sub(r"\D", "", text.translate(str.maketrans("０１２３４５６７８９", "0123456789")))


@settings(max_examples=400, deadline=None)
@given(notes())
@example([Piece("家属电话 "), Piece("138 1111 0002", "13811110002", PersonalKind.MOBILE)])
@example([Piece("联系"), Piece("138-1111-0003", "13811110003", PersonalKind.MOBILE), Piece("或"),
          Piece("+8613811110004", "13811110004", PersonalKind.MOBILE), Piece("。")])
def test_every_phone_and_id_number_in_a_note_is_found_and_masked_and_nothing_else(
    pieces: list[Piece],
) -> None:
    text = "".join(piece.text for piece in pieces)
    found = find_personal_data(text)
    personal = [piece for piece in pieces if piece.kind is not None]
    assert [(span.kind, span.value) for span in found] == [(p.kind, p.value) for p in personal]
    masked = redact(text)
    assert masked == "".join(piece.masked for piece in pieces)
    assert redact(masked) == masked  # masking twice changes nothing


@settings(max_examples=300, deadline=None)
@given(st.lists(not_personal(), min_size=1, max_size=5), SEPARATOR)
def test_case_numbers_dates_amounts_and_tickets_are_not_personal_data(
    pieces: list[Piece], separator: str,
) -> None:
    text = separator.join(piece.text for piece in pieces)
    assert find_personal_data(text) == []
    assert redact(text) == text


@settings(max_examples=200, deadline=None)
@given(mobiles())
def test_a_mobile_in_any_form_is_one_number(piece: Piece) -> None:
    assert normalize_phone(piece.text) == piece.value
    assert mask_phone(piece.text) == f"{piece.value[:3]}****{piece.value[-4:]}"  # type: ignore[index]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="张王李赵欧阳司马诸葛娜伟芳小明丰", min_size=2, max_size=5))
def test_a_name_keeps_its_first_character_only(name: str) -> None:
    masked = mask_name(name)
    assert masked[0] == name[0] and set(masked[1:]) == {"*"} and len(masked) == len(name)
    assert mask_name(masked) == masked


def test_the_documented_masks() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("张三丰") == "张**"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_phone("13811110002") == "138****0002"
    assert mask_phone("0937-1234567") == "093****4567"
    assert mask_id_number("11010119900307123x") == "110***********123X"
    assert mask_phone(ERASED) == ERASED and mask_name(ERASED) == ERASED


def test_the_findings_forms_are_masked_in_complaint_text() -> None:
    """Finding 7 as typed: only eleven digits in a row used to be masked."""
    text = "投诉人电话 138 1111 0002，备用 138-1111-0003，微信 +8613811110004，座机 (0937)2345678"
    masked = redact(text)
    for number in ("13811110002", "13811110003", "13811110004", "09372345678"):
        assert number not in _digits_of(masked)
    assert masked == "投诉人电话 138****0002，备用 138****0003，微信 138****0004，座机 093****5678"


def test_log_lines_are_masked_with_their_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO")
    try:
        log = logging.getLogger("tests.privacy.log")
        log.info("SMS for 138 1111 0002 queued")
        try:
            raise ValueError("input_value='+8613811110004' is not a case")
        except ValueError:
            log.exception("refused a fact from 0937-2345678")
    finally:
        root.handlers[:], root.level = handlers, level
    written = capsys.readouterr().err
    assert "138****0002" in written and "138****0004" in written and "093****5678" in written
    assert not {"13811110002", "13811110004", "09372345678"} & {
        span.value for span in find_personal_data(written)}
