"""Settings: defaults, then the TOML config file, then `PEERCHAT_*` variables, then the command line.

Everything a deployment can tune is here, with the reason for each default next to it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from moderation import Policy
from server.protocol.frames import ROOM_ID


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class RoomConfig:
    id: str
    title: str
    topic: str
    guidelines: str
    # The moderation engine's policy for this room: which boundary kinds are held for review
    # (default contact details and drug sourcing), extra terms, allowed terms. From the room's
    # `moderation` table, over the deployment's [moderation] table.
    policy: Policy = field(default_factory=Policy)
    # Raids: a member session younger than this may not join (0: any session may).
    min_session_age: float = 0.0
    locale: str = ""  # which crisis resources its members see; "": the deployment's [crisis] locale


@dataclass(frozen=True, slots=True)
class Resource:
    """One place a member in crisis can turn to: shown to them at once, as configured."""

    name: str
    contact: str
    hours: str = ""

    def wire(self) -> dict[str, str]:
        item = {"name": self.name, "contact": self.contact}
        if self.hours:
            item["hours"] = self.hours
        return item


@dataclass(frozen=True, slots=True)
class CrisisConfig:
    # Why 60 s: long enough for a staff member who saw the case to acknowledge it, short enough that
    # a case nobody saw at 3 a.m. reaches the webhook (a pager, a phone) within a minute.
    escalation_seconds: float = 60.0
    webhook_url: str | None = None  # POSTed on escalation, and at once when no staff is connected
    webhook_secret: str | None = None  # HMAC-SHA256 key of the X-Peerchat-Signature header
    # Off by default: the webhook leaves the deployment (a pager service, a chat tool), and what a
    # member in crisis wrote stays here unless the deployment decides otherwise.
    webhook_include_text: bool = False
    locale: str = "en-US"
    resources: Mapping[str, tuple[Resource, ...]] = field(default_factory=dict)

    def resources_for(self, locale: str = "") -> tuple[Resource, ...]:
        """The resources of `locale`, else of the deployment's locale, else of en-US."""
        for key in (locale, self.locale, "en-US"):
            if key and key in self.resources:
                return self.resources[key]
        return ()


# Keys of a [moderation] table that are the server's, not the engine's Policy.
SERVER_MODERATION_KEYS = frozenset({"audit_retention_days", "join_wave", "join_wave_window",
                                    "fresh_session_age", "min_session_age", "flag_recent_minutes"})


@dataclass(frozen=True, slots=True)
class Limits:
    max_text: int = 2000  # characters in one message
    max_frame_bytes: int = 16 * 1024  # a larger frame gets `too_long` and the connection stays open
    transport_max_bytes: int = 1024 * 1024  # beyond this the transport closes with 1009
    send_burst: int = 10  # messages a member may send at once ...
    send_rate: float = 2.0  # ... then this many per second
    joins_per_minute: int = 30
    typing_interval: float = 2.0  # at most one `typing` relayed per member and room in this time
    frame_burst: int = 60  # any frames, whatever their type: a backstop against floods
    frame_rate: float = 20.0
    flood_strikes: int = 30  # frames refused for rate in a row (decaying 1/s) before close 4429
    bad_frames: int = 10  # malformed frames (decaying 1 per 6 s) before close 4400
    outbound_queue: int = 1024  # frames waiting for a slow client before it is closed with 4408
    hello_timeout: float = 10.0
    sessions_per_second: float = 20.0  # new anonymous sessions, deployment-wide, after a burst
    sessions_burst: int = 200
    login_failures_per_second: float = 1.0  # failed logins, deployment-wide, after a burst
    login_failures_burst: int = 30


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    redis_url: str | None = None
    data_dir: Path = Path("peerchat-data")
    config_file: Path | None = None
    secret: str | None = None  # shared by every node; generated into the data dir when not given
    token_ttl: float = 24 * 3600.0
    allowed_origins: tuple[str, ...] = ()
    node_timeout: float = 20.0  # Redis mode: a node silent this long leaves presence with its members
    history_max: int = 500
    history_max_age: float = 7 * 24 * 3600.0
    history_page: int = 50
    since_cap: int = 500
    log_level: str = "info"
    rooms: tuple[RoomConfig, ...] = ()
    limits: Limits = field(default_factory=Limits)
    audit_max_age: float = 365 * 86400.0  # how long the audit log keeps an entry
    # Join waves: this many sessions younger than `fresh_session_age` joining one room within
    # `join_wave_window` seconds raise a flag by themselves.
    join_wave: int = 8
    join_wave_window: float = 60.0
    fresh_session_age: float = 600.0
    flag_recent_minutes: float = 60.0  # "flagged recently" in a facilitator's member list
    crisis: CrisisConfig = field(default_factory=lambda: CrisisConfig(resources=default_resources()))

    def room(self, room_id: str) -> RoomConfig | None:
        for room in self.rooms:
            if room.id == room_id:
                return room
        return None


ENV_PREFIX = "PEERCHAT_"
# (settings field, type) for every option that the command line and the environment may set
OPTIONS: dict[str, type] = {
    "host": str, "port": int, "redis_url": str, "data_dir": Path, "config_file": Path, "secret": str,
    "log_level": str,
}
ENV_ONLY: dict[str, type] = {"allowed_origins": tuple, "token_ttl": float, "history_max": int,
                             "history_max_age": float, "node_timeout": float, "audit_max_age": float}


ENV_NAMES = {"config_file": "PEERCHAT_CONFIG"}
# [crisis] options: (type, environment variable)
CRISIS_OPTIONS: dict[str, tuple[type, str]] = {
    "escalation_seconds": (float, "PEERCHAT_ESCALATION_SECONDS"),
    "webhook_url": (str, "PEERCHAT_WEBHOOK_URL"),
    "webhook_secret": (str, "PEERCHAT_WEBHOOK_SECRET"),
    "webhook_include_text": (bool, "PEERCHAT_WEBHOOK_INCLUDE_TEXT"),
    "locale": (str, "PEERCHAT_CRISIS_LOCALE"),
}


def env_name(option: str) -> str:
    return ENV_NAMES.get(option, ENV_PREFIX + option.upper())


def default_rooms() -> tuple[RoomConfig, ...]:
    text = resources.files("server").joinpath("rooms.toml").read_text(encoding="utf-8")
    return _rooms(tomllib.loads(text).get("rooms", []))


def _resources(table: Any, where: str) -> dict[str, tuple[Resource, ...]]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table of locales")
    out: dict[str, tuple[Resource, ...]] = {}
    for locale, items in table.items():
        if not isinstance(items, list) or not items:
            raise ConfigError(f"{where}.{locale}: list at least one resource ([[{where}.{locale}]])")
        try:
            out[str(locale)] = tuple(Resource(str(i["name"]), str(i["contact"]), str(i.get("hours", "")))
                                     for i in items)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{where}.{locale}: each resource needs name and contact") from exc
    return out


def default_resources() -> dict[str, tuple[Resource, ...]]:
    text = resources.files("server").joinpath("resources.toml").read_text(encoding="utf-8")
    return _resources(tomllib.loads(text).get("resources", {}), "resources")


def _crisis(table: Mapping[str, Any], env: Mapping[str, str]) -> CrisisConfig:
    """[crisis] from the config file, then the PEERCHAT_* variables over it."""
    if not isinstance(table, Mapping):
        raise ConfigError("[crisis] must be a table")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "resources":
            continue
        if key not in CRISIS_OPTIONS:
            raise ConfigError(f"[crisis] {key}: unknown option")
        values[key] = _coerce(f"crisis.{key}", CRISIS_OPTIONS[key][0], value)
    for key, (kind, name) in CRISIS_OPTIONS.items():
        if env.get(name):
            values[key] = _coerce(name, kind, env[name])
    crisis = CrisisConfig(**values, resources={**default_resources(),
                                               **_resources(table.get("resources", {}), "crisis.resources")})
    if not crisis.escalation_seconds > 0:
        raise ConfigError("crisis.escalation_seconds must be more than 0")
    if crisis.webhook_url:
        if not crisis.webhook_url.startswith(("http://", "https://")):
            raise ConfigError("crisis.webhook_url must be an http:// or https:// URL")
        if not crisis.webhook_secret:
            raise ConfigError("crisis.webhook_url needs webhook_secret (PEERCHAT_WEBHOOK_SECRET): "
                              "receivers must be able to tell the POST is ours")
    if not crisis.resources_for():
        raise ConfigError(f"crisis: no resources for locale {crisis.locale!r}")
    return crisis


def _policy(table: Any, base: Mapping[str, Any], where: str) -> tuple[Policy, dict[str, Any]]:
    """The engine's policy from a moderation table laid over `base`, and the server's own keys."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    merged = {**base, **table}
    server_keys = {k: v for k, v in merged.items() if k in SERVER_MODERATION_KEYS}
    try:
        policy = Policy.from_mapping({k: v for k, v in merged.items() if k not in SERVER_MODERATION_KEYS})
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    return policy, server_keys


def _rooms(items: Any, moderation: Mapping[str, Any] | None = None) -> tuple[RoomConfig, ...]:
    if not isinstance(items, list) or not items:
        raise ConfigError("[[rooms]] must list at least one room")
    base = {k: v for k, v in (moderation or {}).items()
            if k not in SERVER_MODERATION_KEYS or k == "min_session_age"}
    rooms = []
    for item in items:
        try:
            policy, own = _policy(item.get("moderation", {}), base, f"room {item.get('id')!r} moderation")
            room = RoomConfig(str(item["id"]), str(item["title"]), str(item["topic"]),
                              str(item.get("guidelines", "")).strip(), policy,
                              float(own.get("min_session_age", 0)), str(item.get("locale", "")))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"a room needs id, title and topic: {item!r}") from exc
        if not ROOM_ID.match(room.id) or ":" in room.id:
            raise ConfigError(f"room id {room.id!r}: use lowercase letters, digits, '-' and '_'")
        rooms.append(room)
    if len({r.id for r in rooms}) != len(rooms):
        raise ConfigError("room ids must be unique")
    return tuple(rooms)


def _coerce(name: str, kind: type, value: Any) -> Any:
    try:
        if kind is tuple:
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(v).strip().rstrip("/") for v in items if str(v).strip())
        if kind is Path:
            return Path(value)
        if kind is bool and isinstance(value, str):
            if value.strip().lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError(value)
            return value.strip().lower() in ("1", "true", "yes", "on")
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: {value!r} is not a valid {kind.__name__}") from exc


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc


def _from_file(path: Path) -> dict[str, Any]:
    data = _read_toml(path)
    values: dict[str, Any] = {}
    server = data.get("server", {})
    for key, value in server.items():
        if key not in OPTIONS and key not in ENV_ONLY:
            raise ConfigError(f"[server] {key}: unknown option")
        values[key] = _coerce(key, {**OPTIONS, **ENV_ONLY}[key], value)
    history = data.get("history", {})
    if "max_messages" in history:
        values["history_max"] = _coerce("history.max_messages", int, history["max_messages"])
    if "max_age_days" in history:
        values["history_max_age"] = _coerce("history.max_age_days", float, history["max_age_days"]) * 86400
    limit_names = {f.name: f.type for f in fields(Limits)}
    limits = {}
    for key, value in data.get("limits", {}).items():
        if key not in limit_names:
            raise ConfigError(f"[limits] {key}: unknown limit")
        limits[key] = _coerce(key, float if limit_names[key] in (float, "float") else int, value)
    if limits:
        values["limits"] = replace(Limits(), **limits)
    moderation = data.get("moderation", {})
    if not isinstance(moderation, Mapping):
        raise ConfigError("[moderation] must be a table")
    if "audit_retention_days" in moderation:
        values["audit_max_age"] = _coerce("moderation.audit_retention_days", float,
                                          moderation["audit_retention_days"]) * 86400
    for key in ("join_wave", "join_wave_window", "fresh_session_age", "flag_recent_minutes"):
        if key in moderation:
            values[key] = _coerce(f"moderation.{key}", int if key == "join_wave" else float, moderation[key])
    if "rooms" in data:
        values["rooms"] = _rooms(data["rooms"], moderation)
    elif moderation:
        text = resources.files("server").joinpath("rooms.toml").read_text(encoding="utf-8")
        values["rooms"] = _rooms(tomllib.loads(text).get("rooms", []), moderation)
    return values


def load_settings(cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings; `cli` holds only the options given on the command line."""
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    env = os.environ if env is None else env
    from_env = {}
    for name, kind in {**OPTIONS, **ENV_ONLY}.items():
        raw = env.get(env_name(name))
        if raw:
            from_env[name] = _coerce(env_name(name), kind, raw)
    config_file = cli.get("config_file") or from_env.get("config_file")
    values: dict[str, Any] = {"rooms": default_rooms()}
    crisis_table: Any = {}
    if config_file:
        values.update(_from_file(Path(config_file)))
        crisis_table = _read_toml(Path(config_file)).get("crisis", {})
    values["crisis"] = _crisis(crisis_table, env)
    values.update(from_env)
    values.update({k: _coerce(k, OPTIONS[k], v) for k, v in cli.items()})
    settings = Settings(**values)
    if not 0 < settings.port < 65536 and settings.port != 0:
        raise ConfigError(f"port {settings.port} out of range")
    if settings.history_max < 1 or settings.history_max_age <= 0:
        raise ConfigError("history must keep at least one message for some time")
    return settings
