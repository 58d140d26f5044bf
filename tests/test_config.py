"""Settings: one registry, documented, with the documented precedence."""

from __future__ import annotations

from pathlib import Path

from runyard.config import SETTINGS, Settings

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_every_setting_is_documented_in_the_readme():
    missing = [s.name for s in SETTINGS if s.env not in README or s.flag not in README]
    assert missing == [], f"document these settings in README.md: {missing}"


def test_flag_beats_environment_beats_default():
    env = {"RUNYARD_PORT": "6000", "RUNYARD_WORKERS": "3"}
    settings = Settings.load({"port": 7000}, env=env)
    assert settings.port == 7000
    assert settings.workers == 3
    assert settings.host == "127.0.0.1"


def test_booleans_from_environment():
    assert Settings.load(env={"RUNYARD_SERVE_ARTIFACTS": "false"}).serve_artifacts is False
    assert Settings.load(env={"RUNYARD_SERVE_ARTIFACTS": "1"}).serve_artifacts is True


def test_defaults_live_under_runyard_home(tmp_path):
    settings = Settings.load(env={"RUNYARD_HOME": str(tmp_path)})
    assert settings.backend_store_uri == f"sqlite:///{tmp_path / 'runyard.db'}"
    assert settings.artifacts_destination == str(tmp_path / "artifacts")
