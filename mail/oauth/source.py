"""The token an SMTP connection signs in with: cached, renewed when refused, throttling honoured within the budget.

`mail.transport` sees only `token()` and `refused()`: which provider, which secret and which cache stay here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mail.oauth.cache import CachedTokens
from mail.oauth.errors import Throttled, TokenError, smtp_refusal
from mail.oauth.http import WORST_CASE_FETCH

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
# A throttled token call is tried again only when the wait leaves this much of the action's budget: the next token
# call at its slowest, and then the mail.
MAIL_RESERVE = 10.0
BUDGET_RESERVE = WORST_CASE_FETCH + MAIL_RESERVE
DEFAULT_WAIT = 2.0
# The longest wait for a throttled provider, whatever it asks (its own figure is still reported).
MAX_WAIT = 300.0


@dataclass
class TokenSource:
    """`fetch` gets a new token (token, seconds it lives); `remaining` says how much of the action's time is left."""

    provider: str
    fetch: Callable[[], tuple[str, float]] = field(repr=False)
    tokens: CachedTokens = field(repr=False)
    remaining: Callable[[], float] = field(repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def token(self) -> str:
        return self.tokens.get(self._fetch_within_budget)

    def refused(self) -> None:
        """The mail server refused the token: drop it, so the next `token()` fetches a new one."""
        self.tokens.forget()

    def refusal(self, code: int, text: str) -> TokenError:
        """What the mail server's refusal of a fresh token means (SMTP AUTH off, mailbox not allowed, …)."""
        return smtp_refusal(code, text)

    def _fetch_within_budget(self) -> tuple[str, float]:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self.fetch()
            except Throttled as throttled:
                asked = throttled.retry_after if throttled.retry_after is not None else DEFAULT_WAIT * attempt
                wait = min(asked, MAX_WAIT)
                if attempt == MAX_ATTEMPTS or wait + BUDGET_RESERVE > self.remaining():
                    raise
                log.info("%s token endpoint throttled; trying again in %.1f s", self.provider, wait)
                self.sleep(wait)
        raise TokenError("oauth_rate_limited")  # not reached: the last attempt raises
