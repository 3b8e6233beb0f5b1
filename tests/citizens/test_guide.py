"""The matter guide: the embedded demo guide, search by words, and a wrong file refused whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.guide import load_guide
from spine.config import ConfigError


def test_the_embedded_guide_lists_the_demo_units_and_who_can_be_booked_in_hall_01() -> None:
    guide = load_guide()
    departments = [d.name for d in guide.departments]
    assert {"民政局", "人社局", "市场监管局", "住建局"} <= set(departments)
    _, matter = guide.matter("scjg-spjy") or (None, None)
    assert matter is not None and matter.name == "食品经营许可"
    assert matter.statutory == "20个工作日" and matter.committed == "10个工作日"
    assert guide.matter("mz-lnyd")[1].statutory == "2个月"  # type: ignore[index]
    bookable = {(m.id, p.hall, o.id) for _d, m, p in guide.bookable() for o in p.officers}
    # The demo hall's officers 101-103 at windows 1-3, as `hall demo` logs them in.
    assert ("scjg-spjy", "hall-01", "101") in bookable and ("mz-lnyd", "hall-01", "103") in bookable
    assert guide.hall_name("hall-01") == "市政务服务中心"


def test_search_finds_every_word_in_name_department_or_documents_in_any_width() -> None:
    guide = load_guide()
    # In a matter's name, or among the documents to bring (社会保险登记 asks for the licence).
    assert [m.name for _d, m in guide.search("营业执照")] == ["食品经营许可", "营业执照设立登记",
                                                            "社会保险登记", "户外广告设置许可"]
    assert [m.name for _d, m in guide.search("民政局 优待")] == ["老年人优待证"]
    assert [m.name for _d, m in guide.search("行政确认")] == ["收养登记"]
    assert [m.name for _d, m in guide.search("照片１张")] == ["老年人优待证"]  # a full-width digit
    assert [m.name for _d, m in guide.search("户籍迁入")] == [m.name for _d, m in guide.search("户籍迁入　")]
    assert len(guide.search("")) == len(list(guide.matters()))
    assert guide.search("不存在的事项") == []


def test_a_guide_with_mistakes_is_refused_with_every_mistake_named(tmp_path: Path) -> None:
    path = tmp_path / "matters.toml"
    path.write_text("""
[halls.hall-01]
name = "市政务服务中心"

[[departments]]
name = "民政局"

[[departments.matters]]
id = "mz-1"
name = "老年人优待证"
statutory_limit = 5
committed_limit = 9

[[departments.matters.places]]
hall = "hall-99"
service = "C"
windows = ["3"]

[[departments.matters]]
id = "mz-1"
name = "收养登记"
statutory_limit = 0
""", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_guide(path)
    text = str(refused.value)
    assert "statutory_limit" in text  # a field error, with its key


def test_an_officer_must_sit_at_one_of_the_places_windows(tmp_path: Path) -> None:
    path = tmp_path / "matters.toml"
    path.write_text("""
[halls.hall-01]
name = "市政务服务中心"
[[departments]]
name = "民政局"
[[departments.matters]]
id = "mz-1"
name = "老年人优待证"
statutory_limit = 5
[[departments.matters.places]]
hall = "hall-01"
service = "C"
windows = ["3"]
officers = [{ id = "103", name = "张伟", window = "4" }]
""", encoding="utf-8")
    with pytest.raises(ConfigError, match="windows not listed"):
        load_guide(path)


def test_unknown_halls_duplicate_ids_and_a_committed_limit_past_the_statutory_one_are_named(
        tmp_path: Path) -> None:
    path = tmp_path / "matters.toml"
    path.write_text("""
[halls.hall-01]
name = "市政务服务中心"
[[departments]]
name = "民政局"
[[departments.matters]]
id = "mz-1"
name = "老年人优待证"
statutory_limit = 5
committed_limit = 9
[[departments.matters.places]]
hall = "hall-99"
service = "C"
windows = ["3"]
[[departments.matters]]
id = "mz-1"
name = "收养登记"
statutory_limit = 5
""", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_guide(path)
    text = str(refused.value)
    assert "'mz-1' is used twice" in text and "hall 'hall-99' is not in [halls]" in text
    assert "committed limit is longer" in text
