"""Settings: declared once, typed, layered, failing loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceledger.config import Settings, describe_settings, load_settings
from faceledger.errors import ConfigError


@pytest.mark.sqlite_only("the default database is the SQLite file in data_dir")
def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": tmp_path}, environ={})
    assert settings.detector == "hog"
    assert settings.max_image_pixels == 40_000_000
    assert settings.db_url == f"sqlite:///{(tmp_path / 'faceledger.db').resolve()}"


def test_file_then_environment_then_overrides(tmp_path: Path) -> None:
    (tmp_path / "faceledger.toml").write_text('top_k = 7\ndetector = "cnn"\nupsample = 2\n')
    env = {"FACELEDGER_DATA_DIR": str(tmp_path), "FACELEDGER_TOP_K": "9"}
    settings = load_settings({"upsample": 0}, environ=env)
    assert settings.data_dir == tmp_path
    assert settings.detector == "cnn"  # from the file
    assert settings.top_k == 9  # environment beats the file
    assert settings.upsample == 0  # overrides beat everything


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"FACELEDGER_TOP_K": "ten"}, "setting top_k (from FACELEDGER_TOP_K) must be of type int"),
        ({"FACELEDGER_DETECTOR": "sift"}, "must be one of hog, cnn, got 'sift'"),
        ({"FACELEDGER_UPSAMPLE": "9"}, "must be at most 3, got 9"),
        ({"FACELEDGER_ENROL_DOMINANCE_RATIO": "-1"}, "must be at least 0"),
        ({"FACELEDGER_TOP_K": "80"}, "top_k (80) must not exceed max_top_k (50)"),
    ],
)
def test_bad_values_fail_loudly_naming_setting_and_source(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ=env)
    assert words in info.value.message


def test_unknown_or_broken_config_file(tmp_path: Path) -> None:
    (tmp_path / "faceledger.toml").write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown settings: colour"):
        load_settings({"data_dir": tmp_path}, environ={})
    (tmp_path / "faceledger.toml").write_text("top_k = \n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings({"data_dir": tmp_path}, environ={})


def test_every_setting_is_described_with_env_var_and_help() -> None:
    described = describe_settings()
    assert {name for name, *_ in described} == set(Settings().as_dict())
    for name, env, _default, help_text in described:
        assert env == "FACELEDGER_" + name.upper()
        assert help_text.endswith(".")


def test_replace_validates() -> None:
    settings = load_settings(environ={})
    assert settings.replace(top_k=3).top_k == 3
    with pytest.raises(ConfigError):
        settings.replace(upsample=-1)
