"""Technicians see their own and the unassigned work orders with status and what the main server
registered (seed 004: "Arbetsordrar skrivs på papper och lämnas till ansvarig tekniker")."""
from __future__ import annotations

import html as html_lib
from datetime import timedelta

import pytest
from flask import current_app

from core.auth.roles import Role
from core.extensions import db
from reserve import capture, work_orders
from reserve.rules import CaptureInput
from tests import factories
from tests.conftest import csrf_token_from, login
from tests.service.reserve.conftest import FOUR_HOURS_LATER

LATER = FOUR_HOURS_LATER + timedelta(minutes=30)


def work_order(world, note: str, work_order_type: str = "repair"):  # noqa: ANN001, ANN201
    data = CaptureInput(kind="work_order", channel="paper", responsible_prescriber="anna",
                        work_order_type=work_order_type, note=note)
    item = capture.capture(world["hms"], data, current_app.extensions["reserve.runbooks"], LATER).item
    db.session.commit()
    return item


def page(client, user: str = "erik") -> str:  # noqa: ANN001
    login(client, user)
    response = client.get("/reserv/arbetsordrar")
    assert response.status_code == 200
    return html_lib.unescape(response.get_data(as_text=True))


def test_a_technician_sees_own_and_unassigned_work_orders_in_swedish(reserve_active, world, client):
    other = factories.user("olle", roles=(Role.TECHNICIAN,), name="Olle Berg")
    mine, free, theirs = (work_order(world, "Rullstolens broms"), work_order(world, "Sängens motor", "pickup"),
                          work_order(world, "Lyftens batteri"))
    work_orders.take(world["technician"], mine.reserve_number, LATER)
    work_orders.take(other, theirs.reserve_number, LATER)
    assert capture.mark_registered(mine.reserve_number, "A00000042", LATER + timedelta(hours=3))
    db.session.commit()
    html = page(client)
    assert 'href="/reserv/arbetsordrar"' in html and ">Arbetsordrar<" in html  # a tab of its own
    assert mine.reserve_number in html and free.reserve_number in html
    assert theirs.reserve_number not in html and "Lyftens batteri" not in html  # another technician's
    assert "Reparation" in html and "Hämtning/retur" in html
    assert ">repair<" not in html and ">pickup<" not in html  # never the stored code
    assert "Tagen av Erik Svensson · Registrerad i huvudsystemet" in html and "A00000042" in html
    assert "Ej tilldelad · väntar på registrering" in html
    assert html.count("Ta arbetsordern") == 1  # only the unassigned one can be taken
    assert theirs.reserve_number in page(client, "johan")  # Hjälpmedelsservice sees every work order


def test_a_technician_takes_an_unassigned_work_order_once(reserve_active, world, client):
    item = work_order(world, "Rullstolens broms")
    html = page(client)
    taken = client.post(f"/reserv/arbetsordrar/{item.reserve_number}/ta", data={"csrf_token": csrf_token_from(html)})
    assert taken.status_code == 302
    db.session.refresh(item)
    assert item.technician_id == world["technician"].id and item.taken_at is not None
    other = factories.user("olle", roles=(Role.TECHNICIAN,), name="Olle Berg")
    with pytest.raises(work_orders.AlreadyTaken):
        work_orders.take(other, item.reserve_number, LATER)
    login(client, "olle")
    again = client.post(f"/reserv/arbetsordrar/{item.reserve_number}/ta",
                        data={"csrf_token": csrf_token_from(client.get("/reserv/arbetsordrar").get_data(as_text=True))})
    assert again.status_code == 409 and "redan tagits av en annan tekniker" in again.get_data(as_text=True)
    db.session.refresh(item)
    assert item.technician_id == world["technician"].id


def test_the_work_order_list_is_not_for_prescribers_or_customer_service(reserve_active, world, client):
    login(client, "anna")
    assert client.get("/reserv/arbetsordrar").status_code == 403
    login(client, "maria")
    assert client.get("/reserv/arbetsordrar").status_code == 403
