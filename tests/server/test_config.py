from __future__ import annotations

from pathlib import Path

import pytest

from server.config import ConfigError, load_settings


def test_defaults_have_the_recovery_rooms() -> None:
    settings = load_settings({}, {})
    ids = [r.id for r in settings.rooms]
    for wanted in ("newcomers", "alcohol", "opioids", "stimulants", "family", "smart", "twelve-step", "open"):
        assert wanted in ids
    for room in settings.rooms:
        assert room.title and room.topic and "Need help now?" in room.guidelines
    assert settings.history_max == 500 and settings.history_max_age == 7 * 86400
    assert settings.limits.max_text == 2000 and settings.token_ttl == 86400


def test_precedence_cli_over_env_over_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[server]\nport = 7000\nhost = "0.0.0.0"\n[history]\nmax_messages = 10\n'
                      '[limits]\nsend_rate = 0.5\n[[rooms]]\nid = "only"\ntitle = "Only"\ntopic = "t"\n')
    settings = load_settings({"port": 9000}, {"PEERCHAT_CONFIG": str(config), "PEERCHAT_HOST": "::1"})
    assert settings.port == 9000 and settings.host == "::1"
    assert settings.history_max == 10 and settings.limits.send_rate == 0.5
    assert [r.id for r in settings.rooms] == ["only"]


@pytest.mark.parametrize("text", [
    '[server]\nwhat = 1\n', '[limits]\nnope = 1\n', '[[rooms]]\nid = "Bad Id"\ntitle = "x"\ntopic = "y"\n',
    '[[rooms]]\ntitle = "x"\n', 'not toml [', '[server]\nport = "x"\n',
])
def test_bad_config_says_what_is_wrong(tmp_path: Path, text: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text)
    with pytest.raises(ConfigError):
        load_settings({"config_file": config}, {})


def test_redis_location_is_described_without_password() -> None:
    from server import redis_client

    assert redis_client.describe("redis://:hunter2@redis.internal:6380/0") == "redis://redis.internal:6380"
    assert redis_client.describe("redis+cluster://user:pw@10.0.0.1:7000") == "redis+cluster://10.0.0.1:7000"
    assert redis_client.is_cluster("redis+cluster://h:1") and not redis_client.is_cluster("redis://h:1")

def test_room_moderation_policy_over_deployment_defaults(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[moderation]\nhold = ["contact"]\naudit_retention_days = 30\njoin_wave = 4\n'
                    '[[rooms]]\nid = "a"\ntitle = "A"\ntopic = "t"\n'
                    '[[rooms]]\nid = "b"\ntitle = "B"\ntopic = "t"\n'
                    '[rooms.moderation]\nhold = ["contact", "solicitation"]\nmin_session_age = 300\n')
    settings = load_settings({"config_file": path}, env={})
    a, b = settings.rooms
    assert a.policy.hold == frozenset({"contact"}) and a.min_session_age == 0
    assert b.policy.hold == frozenset({"contact", "solicitation"}) and b.min_session_age == 300
    assert settings.audit_max_age == 30 * 86400 and settings.join_wave == 4


def test_a_typo_in_a_room_policy_is_an_error(tmp_path) -> None:
    import pytest

    from server.config import ConfigError
    path = tmp_path / "c.toml"
    path.write_text('[[rooms]]\nid = "a"\ntitle = "A"\ntopic = "t"\n[rooms.moderation]\nhodl = ["contact"]\n')
    with pytest.raises(ConfigError, match="hodl"):
        load_settings({"config_file": path}, env={})


def test_crisis_defaults_and_resources_per_locale(tmp_path: Path) -> None:
    crisis = load_settings({}, {}).crisis
    assert crisis.escalation_seconds == 60 and crisis.webhook_url is None and not crisis.webhook_include_text
    us = {r.contact for r in crisis.resources_for()}
    assert {"Call or text 988", "Text HOME to 741741", "1-800-662-4357", "Call 911"} <= us
    assert any("116 123" in r.contact for r in crisis.resources_for("en-GB"))
    assert crisis.resources_for("xx-XX") == crisis.resources_for()  # unknown locale: the deployment's
    config = tmp_path / "c.toml"
    config.write_text('[crisis]\nescalation_seconds = 90\nlocale = "de-DE"\nwebhook_url = "https://pager.example/h"\n'
                      'webhook_secret = "s3cret"\n[[crisis.resources.de-DE]]\nname = "Telefonseelsorge"\n'
                      'contact = "0800 111 0 111"\nhours = "24/7"\n'
                      '[[rooms]]\nid = "r"\ntitle = "R"\ntopic = "t"\nlocale = "en-GB"\n')
    settings = load_settings({}, {"PEERCHAT_CONFIG": str(config), "PEERCHAT_ESCALATION_SECONDS": "2",
                                  "PEERCHAT_WEBHOOK_INCLUDE_TEXT": "true"})
    crisis = settings.crisis
    assert crisis.escalation_seconds == 2 and crisis.webhook_include_text and crisis.webhook_secret == "s3cret"
    assert [r.name for r in crisis.resources_for()] == ["Telefonseelsorge"]
    assert settings.rooms[0].locale == "en-GB" and crisis.resources_for("en-US")  # the defaults stay


def test_crisis_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="webhook_secret"):
        load_settings({}, {"PEERCHAT_WEBHOOK_URL": "https://pager.example/h"})
    with pytest.raises(ConfigError, match="http"):
        load_settings({}, {"PEERCHAT_WEBHOOK_URL": "ftp://x", "PEERCHAT_WEBHOOK_SECRET": "s"})
    with pytest.raises(ConfigError, match="escalation_seconds"):
        load_settings({}, {"PEERCHAT_ESCALATION_SECONDS": "0"})
    config = tmp_path / "c.toml"
    config.write_text('[crisis]\nsurprise = 1\n')
    with pytest.raises(ConfigError, match="surprise"):
        load_settings({}, {"PEERCHAT_CONFIG": str(config)})
