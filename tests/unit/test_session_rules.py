"""Session rules: idle timeout and lifetime, the once-a-minute touch, the browser summary, the settings."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.auth.rules import SessionTimeouts, browser_summary, is_alive, touch_due

LOGIN = datetime(2026, 11, 2, 8, 0)
DEFAULTS = SessionTimeouts(idle=timedelta(minutes=30), lifetime=timedelta(hours=10))


def test_a_session_lives_until_thirty_minutes_without_a_request():
    last_seen = LOGIN + timedelta(hours=2)
    assert is_alive(LOGIN, last_seen, last_seen + timedelta(minutes=29, seconds=59), DEFAULTS)
    assert not is_alive(LOGIN, last_seen, last_seen + timedelta(minutes=30), DEFAULTS)


def test_a_session_ends_ten_hours_after_login_even_when_used_a_second_ago():
    now = LOGIN + timedelta(hours=10)
    assert is_alive(LOGIN, now - timedelta(seconds=1), now - timedelta(seconds=1), DEFAULTS)
    assert not is_alive(LOGIN, now - timedelta(seconds=1), now, DEFAULTS)


def test_last_use_is_written_once_a_minute():
    assert not touch_due(LOGIN, LOGIN + timedelta(seconds=59))
    assert touch_due(LOGIN, LOGIN + timedelta(minutes=1))


def test_the_timeouts_come_from_the_config_as_minutes_and_hours():
    limits = SessionTimeouts.from_config({"SESSION_IDLE_TIMEOUT_MINUTES": 15, "SESSION_ABSOLUTE_LIFETIME_HOURS": 7.5})
    assert limits == SessionTimeouts(idle=timedelta(minutes=15), lifetime=timedelta(hours=7, minutes=30))


@pytest.mark.parametrize("value", [0, -5, "30", None, True])
def test_a_setting_that_is_not_a_positive_number_is_refused_by_name(value):
    with pytest.raises(ValueError, match="SESSION_IDLE_TIMEOUT_MINUTES"):
        SessionTimeouts.from_config({"SESSION_IDLE_TIMEOUT_MINUTES": value, "SESSION_ABSOLUTE_LIFETIME_HOURS": 10})


@pytest.mark.parametrize(("agent", "summary"), [
    (("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
      "Safari/537.36 Edg/131.0.0.0"), "Edge på Windows"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
     "Chrome på Windows"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox på Linux"),
    (("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/17.5 Mobile/15E148 Safari/604.1"), "Safari på iOS"),
    (("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
      "Safari/605.1.15"), "Safari på macOS"),
    (("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
      "Safari/537.36"), "Chrome på Android"),
    ("curl/8.5.0", "Program (curl)"),
    ("", "Okänd webbläsare"),
    (None, "Okänd webbläsare"),
])
def test_a_browser_is_named_by_program_and_system(agent, summary):
    assert browser_summary(agent) == summary
