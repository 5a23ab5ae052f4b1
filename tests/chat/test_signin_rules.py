"""The throttle's pure rules: growing waits and addresses grouped per network."""

from __future__ import annotations

import pytest

from bot.chat.signin_rules import Limits, address_group, decide


def test_failures_in_a_row_make_the_next_try_wait_longer_each_time_until_a_quiet_day() -> None:
    limits = Limits(tries=3, wait_s=60, max_wait_s=300, forget_s=3600)
    counts: dict = {}
    now = 0.0
    for expected in [0, 0, 60, 120, 240, 300, 300]:
        decision = decide(counts, now, limits)
        assert decision.allowed and decision.wait_s == expected
        if expected:
            early = decide(decision.counts, now + expected - 1, limits)
            assert not early.allowed and early.wait_s == pytest.approx(1.0)
        counts, now = decision.counts, now + expected + 1
    assert decide(counts, now + 3601, limits).wait_s == 0  # an hour without tries: it starts over


@pytest.mark.parametrize(
    ("address", "group"),
    [
        ("10.1.2.3", "10.1.2.3"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::/64"),  # one line's addresses count as one
        ("::ffff:10.1.2.3", "10.1.2.3"),
        ("unbekannt", "unbekannt"),
    ],
)
def test_an_ipv6_client_counts_as_its_whole_64(address: str, group: str) -> None:
    assert address_group(address) == group
