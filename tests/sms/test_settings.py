"""The [sms] section: the examples in docs/citizens.md are valid, and mistakes are refused at start-up."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from central.config import CentralConfig
from central.guide import MatterGuide
from central.sms.settings import SmsSettings
from spine.config import ConfigError, load_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "citizens.md"


def test_every_sms_example_in_the_technicians_guide_is_a_valid_configuration() -> None:
    blocks = [tomllib.loads(block) for block in
              re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)]
    sms = [block["sms"] for block in blocks if "sms" in block]
    assert len(sms) == 3  # the technician's step 4, the whole section, the HTTP platform
    backends = [SmsSettings.model_validate(section).backend for section in sms]
    assert backends == ["gammu", "gammu", "http"]
    # The guide's other examples ([sms_feed], [public], [booking], the matter guide) are valid too.
    for block in blocks:
        if "departments" in block:
            MatterGuide.model_validate(block)
        else:
            CentralConfig.model_validate(block)
    assert len(blocks) == 7


def test_a_misspelt_key_and_a_half_success_criterion_are_both_reported(tmp_path: Path) -> None:
    path = tmp_path / "sms.toml"
    path.write_text('backend = "http"\nquite_hours = {}\n[http]\nsuccess_field = "code"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(SmsSettings, path)
    message = str(error.value)
    assert "quite_hours" in message and "success_field and success_value go together" in message
