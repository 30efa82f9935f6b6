"""What each provider allows and expects: request rate, burst, where the key goes, quota headers.

Figures come from the providers reference (reference/providers.md §1-§4; [C] confirmed,
[R] reported, [I] inferred); every one can be overridden per client through `SourceConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

KeyLocation = Literal["query", "header"]


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A provider key and where it goes; its repr never shows the value."""

    value: str
    location: KeyLocation
    name: str

    def __repr__(self) -> str:
        return f"ApiKey(location={self.location!r}, name={self.name!r}, value='***')"


@dataclass(frozen=True, slots=True)
class ProviderDefaults:
    """One provider's request budget and key placement."""

    rate: float  # sustained requests per second
    burst: int  # requests that may go back to back
    key_location: KeyLocation | None = None
    key_name: str | None = None
    tracks_quota: bool = False  # sends x-requests-remaining/-used/-last

    def api_key(self, value: str | None) -> ApiKey | None:
        """The key placed the way this provider wants it; None when no key is needed or given."""
        if not value or self.key_location is None or self.key_name is None:
            return None
        return ApiKey(value, self.key_location, self.key_name)


PROVIDERS: dict[str, ProviderDefaults] = {
    # §1 "429 EXCEEDED_FREQ_LIMIT, limit currently 30 API calls per second" [C], but "requests near
    # the limit can still get 429s" [C]: two thirds of it. Key: query `apiKey` [C error page].
    # The monthly credit quota is the real limit; QuotaTracker paces polling against it.
    "odds_api": ProviderDefaults(20.0, 10, "query", "apiKey", tracks_quota=True),
    # §2 Rate limits: "1 request per second on trial keys" [R]; production limits are shown only
    # in the portal, so override for production keys. Key: header `x-api-key` [C].
    "sportradar": ProviderDefaults(1.0, 1, "header", "x-api-key"),
    # §3: no published limits, 429s and DataDome blocks for eager clients [R]: one call every
    # two seconds. No auth.
    "prizepicks": ProviderDefaults(0.5, 2),
    # §4: unofficial, no rate-limit headers [R], a WAF in front: a polite 2/s. No auth.
    "espn": ProviderDefaults(2.0, 4),
}


def provider_defaults(source: str) -> ProviderDefaults:
    """The defaults for `source`; an unknown source gets a cautious 1/s with no key."""
    return PROVIDERS.get(source, ProviderDefaults(1.0, 1))
