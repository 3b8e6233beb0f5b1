"""Central's store is chosen by URL; a password lives in a file and never in any text form of the URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from central.config import CentralConfig
from spine.config import format_validation_error
from spine.storeurl import StoreUrl, StoreUrlError


def test_without_a_url_the_event_store_is_the_sqlite_file_it_always_was(tmp_path: Path) -> None:
    config = CentralConfig.model_validate({"data_dir": str(tmp_path)})
    assert config.event_store == StoreUrl.sqlite_file(tmp_path / "events.sqlite")
    assert config.event_store.path == config.events_path


def test_a_postgresql_url_reads_its_password_from_the_file_and_shows_it_nowhere(tmp_path: Path) -> None:
    secret = tmp_path / "central-db.password"
    secret.write_text("Wo-shi-mi-ma\n")
    config = CentralConfig.model_validate({"database": {
        "url": "postgresql://hall_central@db.example:5433/hallwatch", "password_file": str(secret)}})
    url = config.event_store

    assert (url.user, url.host, url.port, url.database) == ("hall_central", "db.example", 5433, "hallwatch")
    assert url.secret_url() == "postgresql+psycopg://hall_central:Wo-shi-mi-ma@db.example:5433/hallwatch"
    for shown in (str(url), repr(url), url.masked(), repr(config), str(config.model_dump())):
        assert "Wo-shi-mi-ma" not in shown
    assert "hall_central:***@db.example" in str(url)


@pytest.mark.parametrize(("database", "complaint"), [
    ({"url": "postgresql://hall:pw@db/hallwatch"}, "carries no password"),
    ({"url": "mysql://hall@db/hallwatch"}, "sqlite:/// or postgresql://"),
    ({"url": "postgresql://db.example/hallwatch"}, "USER@HOST"),
    ({"url": "sqlite:///events.sqlite", "password_file": "/etc/pw"}, "no password"),
    ({"password_file": "/etc/pw"}, "without a url"),
])
def test_a_store_url_that_cannot_work_is_refused_at_start_up_with_what_would_be_right(
        database: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint) as refused:
        CentralConfig.model_validate({"database": database})
    # What the operator reads at start-up (`load_config`) quotes no password typed into the URL.
    shown = format_validation_error(refused.value, "central.toml")
    assert complaint in shown and ":pw@" not in shown


def test_a_relative_and_an_absolute_sqlite_url_name_their_files() -> None:
    assert StoreUrl.parse("sqlite:///var/central/events.sqlite").path == Path("var/central/events.sqlite")
    assert StoreUrl.parse("sqlite:////srv/events.sqlite").path == Path("/srv/events.sqlite")
    with pytest.raises(StoreUrlError):
        StoreUrl.parse("sqlite://host/events.sqlite")
