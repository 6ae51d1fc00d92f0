"""Browser test: a newcomer follows a password reset end to end through the admin page "Utgående e-post".

The shared stack sends its mail to a real SMTP server on loopback; the page says the mail is on its
way (never that it was sent), the admin sees it as "Skickad", opens it, and the link in it sets a
new password that logs in. Screenshots: test-output/browser/mail_outbox*.png.
"""
from __future__ import annotations

import re
import subprocess
import sys

from playwright.sync_api import expect

from app.demo.stack import ROOT, Stack
from tests.e2e.browser.conftest import OUTPUT, assert_accessible, log_in, unique, wait_for_mail
from tests.smtp_server import Inbox

NEW_USER = """
from app import create_app
from core.auth.passwords import hash_password
from core.extensions import db
from core.models import User, UserRole
app = create_app()
with app.app_context():
    user = User(username={username!r}, name="Eva Ny", email={email!r}, password_hash=hash_password("Start 2026 nr1"))
    user.role_rows = [UserRole(role="it_staff")]
    db.session.add(user)
    db.session.commit()
"""


def add_user(stack: Stack, username: str, email: str) -> None:
    """Add an account of the test's own to the running stack (the demo accounts' passwords stay as they are)."""
    subprocess.run([sys.executable, "-c", NEW_USER.format(username=username, email=email)], cwd=ROOT,
                   env=stack.env, check=True, capture_output=True)


def test_a_password_reset_followed_end_to_end_through_outgoing_mail(stack: Stack, new_page, inbox: Inbox) -> None:  # noqa: ANN001
    username = unique("eva")
    email = f"{username}@region.example"
    add_user(stack, username, email)

    person = new_page(stack.web_url)
    person.goto("/login")
    person.get_by_role("link", name="Glömt ditt lösenord?").click()
    assert_accessible(person)
    person.get_by_label("Användarnamn eller e-post").fill(username)
    person.get_by_role("button", name="Skicka länk").click()
    expect(person.locator(".flash")).to_contain_text("är ett e-postmeddelande på väg")
    expect(person.locator(".flash")).not_to_contain_text("skickat")
    wait_for_mail(inbox, email, "lösenord")  # it really left, to the SMTP server

    admin = new_page(stack.web_url)
    log_in(admin, "admin")
    admin.get_by_role("navigation", name="Flikar").get_by_role("link", name="Administration").click()
    admin.get_by_role("link", name="Utgående e-post").click()
    assert_accessible(admin)
    row = admin.locator("#e-post tbody tr", has_text=email)
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(3)).to_have_text("Skickad")
    expect(row.locator("td").nth(0)).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}"))
    OUTPUT.mkdir(parents=True, exist_ok=True)
    admin.screenshot(path=OUTPUT / "mail_outbox.png", full_page=True)

    row.get_by_role("link").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text("lösenord")
    link = admin.locator("pre.mail-body a", has_text="/losenord")
    expect(link).to_have_count(1)
    admin.screenshot(path=OUTPUT / "mail_outbox_message.png", full_page=True)
    href = link.get_attribute("href") or ""
    assert username not in href and "t=" in href  # a token, never the account in the link

    person.goto(href)
    person.get_by_label("Nytt lösenord *").fill("Sommarsol 2027 nr9")
    person.get_by_label("Upprepa lösenordet *").fill("Sommarsol 2027 nr9")
    person.get_by_role("button", name="Spara lösenord").click()
    expect(person.locator(".flash")).to_contain_text("Ditt lösenord är sparat")
    log_in(person, username, "Sommarsol 2027 nr9")
    expect(person.get_by_role("button", name="Logga ut")).to_be_visible()
