"""Mail chrome and in-content labels in English and German; the sender's Confluence locale picks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class MailStrings:
    lang: str
    sent_you_a_page: str  # "{sender}" is replaced by the sender's display name
    sent_a_page: str  # when Confluence gives no display name
    open_in_confluence: str
    footer: str
    image_word: str  # text part: "[image: alt]"
    # Labels that prepare_page writes in English and render_mail localizes (see LABEL_CLASS_PREFIX).
    labels: Mapping[str, str] = field(default_factory=dict)

    def intro(self, sender_name: str) -> str:
        sender_name = sender_name.strip()
        return self.sent_you_a_page.replace("{sender}", sender_name) if sender_name else self.sent_a_page

    def label(self, key: str) -> str:
        return self.labels.get(key, ENGLISH.labels.get(key, key))


# Elements carrying this class prefix + a label key get their text from MailStrings.labels.
LABEL_CLASS_PREFIX = "pm-k-"

ENGLISH = MailStrings(
    lang="en",
    sent_you_a_page="{sender} sent you a page",
    sent_a_page="A page was sent to you",
    open_in_confluence="Open in Confluence",
    footer="Sent with pagemail from Confluence",
    image_word="image",
    labels=MappingProxyType(
        {
            "info": "Info",
            "note": "Note",
            "warning": "Warning",
            "tip": "Tip",
            "success": "Success",
            "error": "Error",
            "embed": "Open this embedded content in Confluence",
            "media": "Open this media in Confluence",
            "attachments": "View the attachments in Confluence",
            "pagetree": "View the page tree in Confluence",
            "image": "Image",
        }
    ),
)

LABEL_KEYS = tuple(ENGLISH.labels)

GERMAN = MailStrings(
    lang="de",
    sent_you_a_page="{sender} hat Ihnen eine Seite gesendet",
    sent_a_page="Ihnen wurde eine Seite gesendet",
    open_in_confluence="In Confluence öffnen",
    footer="Gesendet mit pagemail aus Confluence",
    image_word="Bild",
    labels=MappingProxyType(
        {
            "info": "Info",
            "note": "Hinweis",
            "warning": "Warnung",
            "tip": "Tipp",
            "success": "Erfolg",
            "error": "Fehler",
            "embed": "Diesen eingebetteten Inhalt in Confluence öffnen",
            "media": "Dieses Medium in Confluence öffnen",
            "attachments": "Die Anhänge in Confluence ansehen",
            "pagetree": "Den Seitenbaum in Confluence ansehen",
            "image": "Bild",
        }
    ),
)


def strings_for(locale: str) -> MailStrings:
    """Confluence locales look like "de_DE" or "de-DE"; anything German gets German, the rest English."""
    return GERMAN if (locale or "").strip().lower().startswith("de") else ENGLISH
