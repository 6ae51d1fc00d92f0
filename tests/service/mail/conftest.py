"""Mail outbox test kit: mail goes to a loopback port nobody listens on unless a test starts SMTP."""
from tests.smtp_server import no_stray_smtp  # noqa: F401 - autouse for every test here
