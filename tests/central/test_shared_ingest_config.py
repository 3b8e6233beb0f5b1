"""`[ingest] shared_group`: off by default (one process receives every batch, as before), and a
group name that could not be one level of an MQTT 5 shared subscription is refused at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.config import CentralConfig
from central.ingest import events_filter
from spine.config import ConfigError, load_config

SHARED_DATABASE = 'url = "postgresql://hall_central@db/hallwatch"'


def write(tmp_path: Path, ingest: str, database: str = SHARED_DATABASE) -> Path:
    path = tmp_path / "central.toml"
    path.write_text(f'[ingest]\nhalls = [{{hall = "hall-01", gateway = "gw-hall-01"}}]\n{ingest}\n'
                    f"[database]\n{database}\n")
    return path


def test_without_a_group_central_receives_every_halls_batches_itself(tmp_path: Path) -> None:
    config = load_config(CentralConfig, write(tmp_path, ""))
    assert config.ingest.shared_group is None
    assert events_filter(config.ingest.shared_group) == "central/+/events"
    # The embedded trial (`make demo`, no --config) too.
    assert load_config(CentralConfig, None).ingest.shared_group is None


def test_a_group_shares_the_halls_event_streams_among_its_members(tmp_path: Path) -> None:
    config = load_config(CentralConfig, write(tmp_path, 'shared_group = "central-prod.1"'))
    assert events_filter(config.ingest.shared_group) == "$share/central-prod.1/central/+/events"


@pytest.mark.parametrize("group", ["a/b", "central+", "#", "", "two words", "组"])
def test_a_group_that_is_not_one_topic_level_is_refused_with_the_rule(tmp_path: Path, group: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(CentralConfig, write(tmp_path, f'shared_group = "{group}"'))
    message = str(refused.value)
    assert "ingest.shared_group" in message
    assert "no '/', '+', '#'" in message


def test_a_group_over_sqlite_files_is_refused_each_member_would_keep_its_share_apart(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="shared_group needs the event store on PostgreSQL"):
        load_config(CentralConfig, write(tmp_path, 'shared_group = "central"', database=""))
