"""Escalation and subscriber mail through a real SMTP server on loopback (aiosmtpd)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import current_app
from freezegun import freeze_time
from sqlalchemy import func, select

from core.auth.roles import Role
from core.extensions import db
from core.clock import utcnow
from core.mail import PersonalDataInMail, build_message
from core.mail_outbox import deliver_due
from core.models import OutgoingMail
from status import notifications, services
from status.models import Notification, Subscriber
from status.settings import current_settings
from tests import factories
from tests.conftest import api_token, csrf_token_from
from tests.service.status.conftest import (
    OUTAGE_START, SATURDAY_NIGHT, HealthServer, all_incidents, free_port, open_incident, queued,
)
from tests.service.status.test_scenarios import EVERY_MINUTE, bearer, drive_to_down, probe

LINK = re.compile(r"https://status\.example(/status/prenumeration/(?:bekrafta|avsluta)/[\w.\-]+)")


def start_outage(main: HealthServer, first_failure=OUTAGE_START):
    probe(first_failure - EVERY_MINUTE)
    main.stop()
    return drive_to_down(first_failure)


def test_sesam_outage_mails_the_system_owner_at_once_and_the_supplier(ctx, servers, smtp):
    main, _ = servers
    confirmed = start_outage(main)
    assert services.deliver_notifications(confirmed) == 2
    (sa_mail,) = smtp.to("sa@region.example")
    assert "Driftstörning: Huvudservern är oåtkomlig" in sa_mail["Subject"]
    body = sa_mail.get_content()
    assert "Började: 2026-11-02 10:00 CET" in body and "Systemansvarig" in body
    assert "https://status.example/status" in body
    assert len(smtp.to("support@leverantor.example")) == 1
    assert smtp.to("sa-chef@region.example") == [] and smtp.to("servicedesk@region.example") == []


def test_off_duty_adds_the_manager_and_a_servicedesk_incident_whose_reference_is_stored(ctx, servers, smtp):
    main, _ = servers
    confirmed = start_outage(main, SATURDAY_NIGHT)
    incident = open_incident()
    assert incident.escalated_off_duty and incident.servicedesk_reference == f"DRIFT-{incident.id:05d}"
    services.deliver_notifications(confirmed)
    assert {address for rcpt, _ in smtp.messages for address in rcpt} == {
        "sa@region.example", "sa-chef@region.example", "servicedesk@region.example", "support@leverantor.example"}
    assert f"(ärende DRIFT-{incident.id:05d})" in smtp.to("servicedesk@region.example")[0]["Subject"]


def test_servicedesk_by_webhook_stores_the_reference_it_answers(app, ctx, servers, smtp, monkeypatch):
    servicedesk = HealthServer().start()
    try:
        monkeypatch.setitem(app.config, "STATUS_SERVICEDESK_WEBHOOK_URL", servicedesk.url + "/incidents")
        main, _ = servers
        confirmed = start_outage(main, SATURDAY_NIGHT)
        services.deliver_notifications(confirmed)
    finally:
        servicedesk.stop()
    (payload,) = servicedesk.posted
    assert payload["title"].startswith("Huvudservern") and payload["reference"].startswith("DRIFT-")
    assert open_incident().servicedesk_reference == "INC0042"
    assert smtp.to("servicedesk@region.example") == []


def test_escalation_is_sent_once_even_when_queued_again_after_a_restart(ctx, servers, smtp):
    main, _ = servers
    confirmed = start_outage(main)
    incident = open_incident()
    # A restarted monitor that sees the same transition queues the same keys: nothing new.
    assert notifications.queue_escalation(incident, "opened", confirmed, current_settings()) == 0
    db.session.commit()
    services.deliver_notifications(confirmed)
    services.deliver_notifications(confirmed + timedelta(minutes=1))
    assert len(smtp.messages) == 2


def test_reminders_repeat_at_the_configured_interval(app, ctx, servers, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "STATUS_REMINDER_MINUTES", 30)
    main, _ = servers
    confirmed = start_outage(main)
    services.deliver_notifications(confirmed + timedelta(minutes=29))
    assert len(smtp.to("sa@region.example")) == 1
    services.deliver_notifications(confirmed + timedelta(minutes=31))
    services.deliver_notifications(confirmed + timedelta(minutes=45))
    reminders = smtp.to("sa@region.example")
    assert len(reminders) == 2 and "Påminnelse 1" in reminders[1]["Subject"]


def test_unreachable_smtp_leaves_the_mails_queued_in_the_outbox_and_they_go_out_later(ctx, servers, smtp):
    main, _ = servers
    confirmed = start_outage(main, SATURDAY_NIGHT)  # four recipients off duty
    live_port = current_app.config["MAIL_PORT"]
    current_app.config["MAIL_PORT"] = free_port()  # nobody listens there
    assert services.deliver_notifications(confirmed) == 4  # handed to the mail outbox
    assert all(note.sent_at is not None for note in queued("escalation"))
    mails = list(db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)
                                    .execution_options(populate_existing=True)))
    assert len(mails) == 4 and {m.state for m in mails} == {"queued"}
    # The outbox tried them once, and gave up its run after three unreachable tries in a row.
    assert [m.attempts for m in mails] == [1, 1, 1, 0]
    assert "SMTP unreachable" in mails[0].last_error
    current_app.config["MAIL_PORT"] = live_port
    services.deliver_notifications(confirmed + timedelta(minutes=1))  # nothing of its own left to hand over
    assert smtp.messages == []
    assert deliver_due() == 1  # the untried one; the others wait for their backoff
    assert deliver_due(utcnow() + timedelta(seconds=31)) == 3
    assert len(smtp.messages) == 4


def _subscribe(client, smtp, address: str) -> None:
    page = client.get("/status").get_data(as_text=True)
    response = client.post("/status/prenumerera", data={"email": address, "csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    (confirmation,) = smtp.to(address)
    path = LINK.search(confirmation.get_content()).group(1)
    form = client.get(path)
    assert form.status_code == 200 and "Bekräfta prenumerationen" in form.get_data(as_text=True)
    done = client.post(path, data={"csrf_token": csrf_token_from(form.get_data(as_text=True))})
    assert done.status_code == 200 and "bekräftad" in done.get_data(as_text=True)


def test_double_opt_in_then_one_mail_per_update_with_an_unsubscribe_link(client, ctx, smtp):
    _subscribe(client, smtp, "anna@vard.example")
    factories.user("it", roles=(Role.IT_STAFF,))
    token = api_token(client, "it")
    with freeze_time(OUTAGE_START):
        response = client.post("/api/v1/driftinfo", headers=bearer(token),
                               json={"title": "Planerat arbete i kväll", "body": "Inloggningen kan vara långsam."})
    assert response.status_code == 201
    services.deliver_notifications(OUTAGE_START)
    services.deliver_notifications(OUTAGE_START + timedelta(minutes=5))
    mails = smtp.to("anna@vard.example")
    assert len(mails) == 2  # the confirmation and the one update
    update = mails[1]
    assert update["Subject"].endswith("Planerat arbete i kväll")
    unsubscribe = LINK.search(update.get_content()).group(1)
    assert update["List-Unsubscribe"] == f"<https://status.example{unsubscribe}>"
    page = client.get(unsubscribe)
    client.post(unsubscribe, data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 0
    with freeze_time(OUTAGE_START + timedelta(hours=1)):
        client.post("/api/v1/driftinfo", headers=bearer(token), json={"title": "Klart", "body": "Allt fungerar."})
    services.deliver_notifications(OUTAGE_START + timedelta(hours=1))
    assert len(smtp.to("anna@vard.example")) == 2


def test_subscribers_get_each_incident_update_once(client, ctx, servers, smtp):
    _subscribe(client, smtp, "anna@vard.example")
    main, _ = servers
    confirmed = start_outage(main)
    services.deliver_notifications(confirmed)
    services.run_reserve_check(OUTAGE_START + timedelta(hours=4))
    services.deliver_notifications(OUTAGE_START + timedelta(hours=4))
    services.deliver_notifications(OUTAGE_START + timedelta(hours=4, minutes=1))
    subjects = [m["Subject"] for m in smtp.to("anna@vard.example")]
    assert len(subjects) == 3  # confirmation, incident opened, reserve activated
    assert "Reservrutin gäller" in smtp.to("anna@vard.example")[2].get_content()


def test_unconfirmed_addresses_get_nothing_but_the_confirmation(client, ctx, smtp):
    page = client.get("/status").get_data(as_text=True)
    client.post("/status/prenumerera", data={"email": "ny@vard.example", "csrf_token": csrf_token_from(page)})
    staff = factories.user("it", roles=(Role.IT_STAFF,))
    services.publish_driftinfo(staff.id, "Rubrik", "Text", now=OUTAGE_START)
    services.deliver_notifications(OUTAGE_START)
    assert len(smtp.to("ny@vard.example")) == 1


def test_the_subscription_answer_does_not_reveal_existing_addresses(client, ctx, smtp):
    _subscribe(client, smtp, "anna@vard.example")
    page = client.get("/status").get_data(as_text=True)
    response = client.post("/status/prenumerera", data={"email": "anna@vard.example",
                                                          "csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    assert len(smtp.to("anna@vard.example")) == 1  # no second confirmation


def test_a_bad_address_is_named(client, ctx):
    page = client.get("/status").get_data(as_text=True)
    response = client.post("/status/prenumerera", data={"email": "inte-en-adress", "csrf_token": csrf_token_from(page)})
    assert response.status_code == 422
    assert "Ange en giltig e-postadress." in response.get_data(as_text=True)


def test_an_invalid_link_is_404(client):
    assert client.get("/status/prenumeration/bekrafta/fel").status_code == 404
    assert client.get("/status/prenumeration/avsluta/fel").status_code == 404


def test_mail_with_a_personnummer_is_refused():
    with pytest.raises(PersonalDataInMail):
        build_message("a@b.example", "c@d.example", "Hej", "Gäller 191212121212")


def test_notifications_are_remembered_in_the_store(ctx, servers):
    main, _ = servers
    start_outage(main)
    keys = [n.dedup_key for n in db.session.scalars(select(Notification))]
    assert keys and all(key.startswith(f"esc:{all_incidents()[0].id}:opened:") for key in keys)


def test_mail_queued_and_claimed_before_the_clock_went_back_a_year_is_still_sent(ctx, servers, smtp):
    main, _ = servers
    ahead = OUTAGE_START + timedelta(days=365)
    start_outage(main, ahead)
    for note in queued("escalation"):
        note.claimed_at, note.claimed_by = ahead, "a monitor killed a year ahead"
    db.session.commit()
    assert services.deliver_notifications(OUTAGE_START) == 2
    assert len(smtp.to("sa@region.example")) == 1
