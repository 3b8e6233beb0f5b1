"""Long Chinese text: one UCS-2 SMS up to 70 characters, concatenated parts of 67 beyond."""

from __future__ import annotations

from central.sms.segments import split_ucs2, ucs2_length


def test_seventy_characters_are_one_sms_and_seventy_one_are_two_parts_of_67_and_4() -> None:
    assert split_ucs2("办" * 70) == ("办" * 70,)
    assert [len(p) for p in split_ucs2("办" * 71)] == [67, 4]
    assert [len(p) for p in split_ucs2("办" * 134)] == [67, 67]
    assert [len(p) for p in split_ucs2("办" * 135)] == [67, 67, 1]


def test_parts_join_back_to_the_exact_text() -> None:
    text = "【酒泉市政务服务中心】" + "您的办件（受理编号JQ-2026-1123-0001）已办结，请到窗口领取。" * 4
    assert "".join(split_ucs2(text)) == text


def test_a_character_outside_the_bmp_counts_twice_and_is_never_cut_in_half() -> None:
    text = "办" * 66 + "𠀀" + "办"  # U+20000 needs a surrogate pair: 66 + 2 + 1 = 69 units
    assert ucs2_length(text) == 69 and split_ucs2(text) == (text,)
    long = "办" * 66 + "𠀀" * 3
    parts = split_ucs2(long)
    assert [ucs2_length(p) for p in parts] == [66, 6] and "".join(parts) == long
