"""Attachment and e-mail rules: plain functions, no app and no database."""
from __future__ import annotations

import pytest

from core.mail import contains_personal_data
from app.messages.attachments import AttachmentRefused, check_attachment, safe_filename
from app.messages.notice import new_message_mail

MB = 1024 * 1024
PDF = b"%PDF-1.7\n1 0 obj\n"


def test_notice_names_the_configured_system_and_my_page_and_nothing_else():
    subject, body = new_message_mail("Hjälpmedelsportalen")
    assert subject == "Du har ett nytt meddelande i Hjälpmedelsportalen"
    assert body.strip() == "Gå till 'Min sida' i Hjälpmedelsportalen för att läsa meddelandet."
    assert not contains_personal_data(subject, body)


@pytest.mark.parametrize(("given", "kept"), [
    ("C:\\Users\\karin\\Dokument\\Rutin hösten.pdf", "Rutin hösten.pdf"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("<script>x</script>.pdf", "script.pdf"),
    ("Ord\x00lista\n.txt", "Ordlista.txt"),
    ("a" * 200 + ".pdf", "a" * 116 + ".pdf"),
])
def test_file_names_lose_folders_and_odd_characters(given, kept):
    assert safe_filename(given) == kept


def test_a_pdf_is_accepted_and_served_as_pdf():
    checked = check_attachment("Rutin.PDF", PDF, 5 * MB)
    assert (checked.filename, checked.content_type, checked.size) == ("Rutin.PDF", "application/pdf", len(PDF))


@pytest.mark.parametrize(("name", "data", "says"), [
    ("virus.exe", b"MZ\x90\x00", "Filtypen är inte tillåten"),
    ("ingen-filtyp", PDF, "Filtypen är inte tillåten"),
    ("falsk.pdf", b"MZ\x90\x00 not a pdf", "stämmer inte med filtypen"),
    ("bild.png", PDF, "stämmer inte med filtypen"),
    ("tom.pdf", b"", "är tom"),
    ("binar.txt", b"abc\x00def", "inte en textfil"),
    ("latin1.txt", "Åsa".encode("latin-1"), "inte en textfil"),
])
def test_files_whose_type_or_content_is_wrong_are_refused(name, data, says):
    with pytest.raises(AttachmentRefused) as refused:
        check_attachment(name, data, 5 * MB)
    assert says in refused.value.message


def test_a_file_over_the_limit_is_refused_with_the_limit_named():
    with pytest.raises(AttachmentRefused) as refused:
        check_attachment("stor.pdf", PDF + b"x" * MB, MB)
    assert "för stor (högst 1 MB)" in refused.value.message
