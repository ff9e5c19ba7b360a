"""Friendly anonymous aliases: calm words, never a name someone could mistake for their own.

Adjective × noun × two digits gives 48 × 48 × 90 ≈ 207,000 aliases; a room makes its members'
aliases unique on join (see `server.store.presence`).
"""

from __future__ import annotations

import secrets

ADJECTIVES = (
    "Quiet", "Gentle", "Steady", "Bright", "Calm", "Brave", "Kind", "Patient", "Hopeful", "Warm",
    "Clear", "Soft", "Open", "Honest", "Early", "Still", "Golden", "Silver", "Green", "Blue",
    "Amber", "Misty", "Sunny", "Rising", "Peaceful", "Humble", "Curious", "Mellow", "Tender", "Wise",
    "Evening", "Morning", "Northern", "Southern", "Coastal", "Wild", "Cozy", "Lucky", "Cheerful", "Grateful",
    "Resilient", "Careful", "Clever", "Graceful", "Healing", "Spring", "Autumn", "Winter",
)
NOUNS = (
    "Harbor", "River", "Meadow", "Lantern", "Willow", "Sparrow", "Maple", "Cedar", "Harvest", "Horizon",
    "Garden", "Island", "Valley", "Beacon", "Pebble", "Compass", "Heron", "Otter", "Falcon", "Fern",
    "Brook", "Canyon", "Summit", "Trail", "Orchard", "Tide", "Breeze", "Ember", "Aurora", "Comet",
    "Lake", "Forest", "Pine", "Robin", "Finch", "Dove", "Shore", "Cove", "Field", "Hill",
    "Moon", "Star", "Cloud", "Rain", "Stone", "Bridge", "Path", "Haven",
)


def random_alias() -> str:
    return f"{secrets.choice(ADJECTIVES)} {secrets.choice(NOUNS)} {secrets.randbelow(90) + 10}"
