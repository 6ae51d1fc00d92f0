"""Rules of withdrawals (uttag) and order types (seed 000, 002): plain values and functions, no Flask.

What a row "has left": every withdrawal uses one of the row's withdrawals (antal uttag) and takes
at most the row's packages per withdrawal (förpackningar per uttag), one consumption period's worth.
So the packages left on a row are withdrawals_left × packages_per_withdrawal, and one withdrawal
may ask for 1 … packages_per_withdrawal of them. An aborted withdrawal gives its withdrawal back.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

U_NUMBER = re.compile(r"[Uu]?(\d{1,9})")
NUMBER_DIGITS = 9


class WithdrawalStatus(str, Enum):
    NEW = "new"  # Ny: not yet sent to the distributor ("Uttag som måste åtgärdas")
    SENT = "sent"  # Skickad
    DELIVERED = "delivered"  # Levererad
    ABORTED = "aborted"  # Avbruten

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    WithdrawalStatus.NEW: "Ny",
    WithdrawalStatus.SENT: "Skickad",
    WithdrawalStatus.DELIVERED: "Levererad",
    WithdrawalStatus.ABORTED: "Avbruten",
}

# Ny → Skickad → Levererad, or Ny → Avbruten. A sent withdrawal is with the distributor and is
# no longer the portal's to abort (the seed: needing action = neither sent nor aborted).
TRANSITIONS: dict[WithdrawalStatus, frozenset[WithdrawalStatus]] = {
    WithdrawalStatus.NEW: frozenset({WithdrawalStatus.SENT, WithdrawalStatus.ABORTED}),
    WithdrawalStatus.SENT: frozenset({WithdrawalStatus.DELIVERED}),
    WithdrawalStatus.DELIVERED: frozenset(),
    WithdrawalStatus.ABORTED: frozenset(),
}


def can_move(current: WithdrawalStatus, target: WithdrawalStatus) -> bool:
    """Return whether a withdrawal in `current` may move to `target`."""
    return target in TRANSITIONS[current]


def refused_transition_message(current: WithdrawalStatus, target: WithdrawalStatus) -> str:
    """Return the Swedish reason a transition is refused."""
    verb = {WithdrawalStatus.SENT: "skickas", WithdrawalStatus.ABORTED: "avbrytas",
            WithdrawalStatus.DELIVERED: "levereras"}.get(target, "ändras")
    if current is WithdrawalStatus.SENT and target is WithdrawalStatus.ABORTED:
        return "Uttaget är redan skickat till distributören och kan inte avbrytas."
    return f"Uttaget har status {current.label} och kan inte {verb}."


class Channel(str, Enum):
    """Where a withdrawal was created (SPEC section 3: customer service, the e-service, the prescriber)."""

    CUSTOMER_SERVICE = "customer_service"
    PRESCRIBER = "prescriber"
    E_SERVICE = "e_service"

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]


CHANNEL_LABELS = {
    Channel.CUSTOMER_SERVICE: "Kundservice",
    Channel.PRESCRIBER: "Förskrivare",
    Channel.E_SERVICE: "E-tjänst (API)",
}


def ui_channel(role_values: set[str]) -> Channel:
    """Return the channel of a withdrawal made in the web UI: customer service if the user is that."""
    return Channel.CUSTOMER_SERVICE if "customer_service" in role_values else Channel.PRESCRIBER


@dataclass(frozen=True)
class RowAllowance:
    """What a prescription row allows one withdrawal to take."""

    packages_per_withdrawal: int
    withdrawals: int
    withdrawals_used: int

    @property
    def withdrawals_left(self) -> int:
        return self.withdrawals - self.withdrawals_used

    @property
    def packages_left(self) -> int:
        return self.withdrawals_left * self.packages_per_withdrawal


def packages_problem(allowance: RowAllowance, packages: int) -> str | None:
    """Return why `packages` cannot be withdrawn from the row, or None when it can."""
    if packages < 1:
        return "Ange minst 1 förpackning."
    if allowance.withdrawals_left <= 0:
        return "Raden har inga uttag kvar."
    if packages > allowance.packages_per_withdrawal:
        return (f"Högst {allowance.packages_per_withdrawal} förpackningar per uttag "
                f"(raden har {allowance.withdrawals_left} uttag kvar, {allowance.packages_left} förpackningar).")
    return None


def parse_u_number(text: str) -> int:
    """Return the 9 digits of a whole U-number (`U123456789`, the U optional), or raise ValueError."""
    match = U_NUMBER.fullmatch((text or "").strip())
    if match is None or len(match.group(1)) != NUMBER_DIGITS:
        raise ValueError("Ange ett uttagsnummer: U följt av 9 siffror, t.ex. U100000001.")
    return int(match.group(1))


def u_number_range(text: str) -> tuple[int, int]:
    """Return [low, high) of the U-numbers that start with the typed digits (the U optional)."""
    match = U_NUMBER.fullmatch((text or "").strip())
    if match is None:
        raise ValueError("Ange uttagsnummer: U följt av upp till 9 siffror, t.ex. U100000001.")
    digits = match.group(1)
    scale = 10 ** (NUMBER_DIGITS - len(digits))
    return int(digits) * scale, (int(digits) + 1) * scale


def format_u_number(number: int) -> str:
    return f"U{number:09d}"


# ---------------------------------------------------------------- order types (seed 002)

CENTRAL_WAREHOUSE = 10  # lager 10, HMS


class OrderType(str, Enum):
    ORDER = "order"  # beställning: always to a care unit, no medical decision
    PRESCRIPTION = "prescription"  # förskrivning from warehouse 10 to a patient
    DIRECT_PRESCRIPTION = "direct_prescription"  # direktförskrivning from own stock to a patient
    STOCK_MOVE = "stock_move"  # lagerflytt from warehouse 10 to a municipal stock

    @property
    def label(self) -> str:
        return ORDER_TYPE_LABELS[self]

    @property
    def to_patient(self) -> bool:
        return self in (OrderType.PRESCRIPTION, OrderType.DIRECT_PRESCRIPTION)


ORDER_TYPE_LABELS = {
    OrderType.ORDER: "Beställning",
    OrderType.PRESCRIPTION: "Förskrivning",
    OrderType.DIRECT_PRESCRIPTION: "Direktförskrivning",
    OrderType.STOCK_MOVE: "Lagerflytt",
}


@dataclass(frozen=True)
class WarehouseRef:
    number: int
    kind: str  # central | municipal
    unit_id: int | None

    @property
    def is_central(self) -> bool:
        return self.number == CENTRAL_WAREHOUSE


@dataclass(frozen=True)
class OrderShape:
    """Who sends and who receives, as given; checked by `order_problems`."""

    type: OrderType
    sender: WarehouseRef | None
    unit_id: int | None = None
    patient_id: int | None = None
    receiver: WarehouseRef | None = None


def order_problems(shape: OrderShape) -> list[tuple[str, str]]:
    """Return (field, Swedish message) for every way the order breaks the seed's rules."""
    problems: list[tuple[str, str]] = []
    t, sender = shape.type, shape.sender
    if sender is None:
        problems.append(("from_warehouse", "Ange levererande lager."))
    if t is OrderType.ORDER:
        if shape.patient_id is not None:
            problems.append(("patient_id", "En beställning går alltid till en vårdenhet, aldrig till en patient. "
                                        "Använd förskrivning eller direktförskrivning."))
        if shape.unit_id is None:
            problems.append(("unit_id", "Ange mottagande vårdenhet."))
        elif sender is not None and not sender.is_central and sender.unit_id != shape.unit_id:
            problems.append(("from_warehouse", "En beställning levereras från vårdenhetens eget kommunlager "
                                               "eller från lager 10."))
    elif t.to_patient:
        if shape.patient_id is None:
            problems.append(("patient_id", "En förskrivning går alltid till en patient."))
        if shape.unit_id is None:
            problems.append(("unit_id", "Ange förskrivande enhet."))
        if sender is not None and t is OrderType.PRESCRIPTION and not sender.is_central:
            problems.append(("from_warehouse", "Förskrivning levereras från lager 10; från eget lager används "
                                               "direktförskrivning."))
        if sender is not None and t is OrderType.DIRECT_PRESCRIPTION and (
                sender.is_central or sender.unit_id != shape.unit_id):
            problems.append(("from_warehouse", "Direktförskrivning levereras från enhetens eget lager; från "
                                               "lager 10 används förskrivning."))
    elif t is OrderType.STOCK_MOVE:
        if shape.patient_id is not None:
            problems.append(("patient_id", "En lagerflytt går till ett lager, inte till en patient."))
        if sender is not None and not sender.is_central:
            problems.append(("from_warehouse", "För kommuner sker lagerflytten alltid från lager 10 (HMS)."))
        if shape.receiver is None or shape.receiver.kind != "municipal":
            problems.append(("to_warehouse", "Ange det kommunlager som ska fyllas på."))
    return problems


def needs_outbound_delivery(order_type: OrderType, sender: WarehouseRef) -> bool:
    """Return whether the order is complete only once an outbound delivery (utleverans) exists.

    Orders from the unit's own stock need one (seed 002: "glöm inte att skapa utleverans");
    warehouse 10 delivers its orders itself, and a stock move is done when it is registered.
    """
    return order_type in (OrderType.ORDER, OrderType.DIRECT_PRESCRIPTION) and not sender.is_central
