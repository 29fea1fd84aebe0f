"""Synthetic Confluence page bodies, one per way a page can break a mail (issue 9), written the way Confluence's
export_view writes them. The unit tests use them and the client-compatibility gate (tests/mailcheck) renders
every one of them to the final MIME message."""

from __future__ import annotations

from collections.abc import Callable

LONG_URL = (
    "https://stuconestogacon.sharepoint.com/:w:/s/VARLab/EXgC1f7fwFFAijpTqafhfiMBFo_zd0_zLfA-sgesFt5_gg"
    "/Shared%20Documents/Playable%20Demo/Feedback/Round-3/TE-Scenario-1-Select-and-Install-Devices.docx"
    "?e=PqLsnW&web=1&action=edit"
)
LONG_TOKEN = "AbstractSingletonProxyFactoryBeanConfigurationManagerProviderServiceLocatorImpl" * 3


def long_bare_urls() -> str:
    """Bare URLs as link text (206 characters), in a paragraph, a list and a table cell."""
    link = f'<a href="{LONG_URL}" class="external-link" rel="nofollow">{LONG_URL}</a>'
    return (
        f"<h2>Links</h2><p>The spec lives at {link} for now.</p>"
        f"<ul><li><p>{link}</p></li><li><p>www.example.com/{'a' * 120}/index.html</p></li></ul>"
        '<div class="table-wrap"><table class="confluenceTable"><tbody>'
        '<tr><th class="confluenceTh"><p>Document</p></th><th class="confluenceTh"><p>Link</p></th></tr>'
        f'<tr><td class="confluenceTd"><p>Scenario 1</p></td><td class="confluenceTd"><p>{link}</p></td></tr>'
        "</tbody></table></div>"
    )


def long_code_tokens() -> str:
    """A code block with a 240-character token and a very long line, and long tokens in running text."""
    code = (
        "public class Example {\n"
        f'    private static final String KEY = "{LONG_TOKEN}";\n'
        "    void run() { " + "callSomething(argumentNumberOne, argumentNumberTwo); " * 8 + "}\n"
        "}"
    )
    return (
        '<div class="code panel pdl"><div class="codeHeader panelHeader pdl"><b>Example.java</b></div>'
        f'<div class="codeContent panelContent pdl"><pre class="syntaxhighlighter-pre">{code}</pre></div></div>'
        f"<p>Set <code>{LONG_TOKEN}</code> in the file /opt/{'very-long-directory-name/' * 8}settings.yaml.</p>"
    )


def coloured_text() -> str:
    """Text coloured the way the Confluence editor does it: data-colorid plus a <style> block in the body."""
    return (
        "<style>[data-colorid=a0ly2vjssz]{color:#ff5630} html[data-color-mode=dark] [data-colorid=a0ly2vjssz]"
        "{color:#cf2600}[data-colorid=zk3dzjyyum]{color:#006644} html[data-color-mode=dark] "
        "[data-colorid=zk3dzjyyum]{color:#99ffdd}</style>"
        '<p><span data-colorid="a0ly2vjssz">Blocked</span> until the review; '
        '<strong><span data-colorid="zk3dzjyyum">approved</span></strong> by QA.</p>'
    )


def escaped_emoji() -> str:
    """Emoji whose fallback Confluence wrote as JavaScript escapes, next to a valid emoji id (and without one)."""
    return (
        '<p><img class="emoticon emoticon-blue-star" data-emoji-id="1f4cb" data-emoji-shortname=":clipboard:" '
        'data-emoji-fallback="\\uD83D\\uDCCB" src="images/icons/emoticons/72/1f4cb.png" alt="(blue star)"> Agenda</p>'
        '<p><img class="emoticon" data-emoji-id="0b6e0fd3-8a39-4c4e-a5b7-0b8f4c6b1e2d" '
        'data-emoji-fallback="\\uD83D\\uDE80" src="x.png" alt=":rocket:"> Launch</p>'
        '<p><img class="emoticon emoticon-tick" data-emoji-id="atlassian-check_mark" '
        'data-emoji-fallback=":check_mark:" src="check.png" alt="(tick)"> Done</p>'
    )


def eight_column_table() -> str:
    """An 8-column table with long words, a list and struck text in its cells."""
    header = "".join(
        f'<th class="confluenceTh"><p>{name}</p></th>'
        for name in ("Ticket", "Component", "Environment", "Responsibility", "Status", "Priority", "Owner", "Notes")
    )
    cells = (
        "TE-{n}",
        "Infrastructure",
        "Production-Environment",
        "Internationalisation",
        "<del>Open</del> Done",
        "High",
        "Ann Example",
    )
    notes = '<td class="confluenceTd"><ul><li><p>first point</p></li><li><p>second point</p></li></ul></td>'
    rows = "".join(
        "<tr>"
        + "".join(f'<td class="confluenceTd"><p>{cell.format(n=400 + number)}</p></td>' for cell in cells)
        + notes
        + "</tr>"
        for number in range(6)
    )
    return (
        '<h2>Tracking</h2><div class="table-wrap"><table class="confluenceTable"><colgroup><col><col></colgroup>'
        f"<tbody><tr>{header}</tr>{rows}</tbody></table></div>"
    )


def big_page(kilobytes: int = 150) -> str:
    """A long page (sections of paragraphs, lists and tables) of about `kilobytes` of HTML."""
    sections: list[str] = []
    number = 0
    while sum(map(len, sections)) < kilobytes * 1024:
        number += 1
        sections.append(
            f'<h2 id="Big-Section{number}">Section {number}</h2>'
            f"<p>Paragraph {number} of a long page. " + "Some words that make up a sentence of the page. " * 12 + "</p>"
            "<ul>" + "".join(f"<li><p>Point {number}.{i} with a few words</p></li>" for i in range(5)) + "</ul>"
            '<div class="table-wrap"><table class="confluenceTable"><tbody>'
            '<tr><th class="confluenceTh"><p>Key</p></th><th class="confluenceTh"><p>Value</p></th></tr>'
            + "".join(
                f'<tr><td class="confluenceTd"><p>Row {i}</p></td>'
                f'<td class="confluenceTd"><p>Value {number}.{i}</p></td></tr>'
                for i in range(6)
            )
            + "</tbody></table></div>"
        )
    return "".join(sections)


def centred_images() -> str:
    """Attachment images centred by Confluence (alone in a paragraph, and inside text), one of them in a cell."""

    def image(resource_id: int, width: int, alt: str) -> str:
        return (
            '<span class="confluence-embedded-file-wrapper image-center-wrapper confluence-embedded-manual-size">'
            f'<img class="confluence-embedded-image image-center" alt="{alt}" width="{width}" '
            f'src="attachments/1/{resource_id}.png" data-linked-resource-id="{resource_id}" '
            'data-linked-resource-type="attachment" '
            f'data-linked-resource-default-alias="screenshot-{resource_id}.png" '
            'data-linked-resource-content-type="image/png"></span>'
        )

    return (
        f"<p>{image(9001, 600, 'screenshot-9001.png')}</p>"
        f"<p>Before the image {image(9002, 300, 'The login form')} after the image.</p>"
        '<div class="table-wrap"><table class="confluenceTable"><tbody><tr>'
        f'<td class="confluenceTd"><p>{image(9003, 500, "")}</p></td><td class="confluenceTd"><p>Text</p></td>'
        f'<td class="confluenceTd"><p>More</p></td></tr></tbody></table></div>'
    )


def mention_runs() -> str:
    """Mentions one after the other, as Confluence writes them (separated by a space or by nothing)."""

    def mention(account: str, name: str) -> str:
        return (
            f'<a class="confluence-userlink user-mention" data-account-id="{account}" '
            f'href="https://acme.atlassian.net/wiki/people/{account}?ref=confluence">{name}</a>'
        )

    return (
        f"<p>Observers: {mention('1', 'Cam Turner')} {mention('2', 'User bf53c')} {mention('3', 'Sana Javeed')}"
        f"{mention('4', 'Corey Berry')}</p>"
    )


def headings_and_toc() -> str:
    """A numbered table of contents (Confluence's outline numbers, its bullets hidden by a dropped <style>) and
    content headings from h1 down."""
    return (
        "<style>div.rbtoc1 ul {list-style: none; margin: 0; padding-left: 0;}</style>"
        "<div class='toc-macro rbtoc1'><ul class='toc-indentation'>"
        "<li><span class='TOCOutline'>1</span> <a href='#P-Intro'>Intro</a>"
        "<ul class='toc-indentation'><li><span class='TOCOutline'>1.1</span> <a href='#P-Scope'>Scope</a></li></ul>"
        "</li><li><span class='TOCOutline'>2</span> <a href='#P-Plan'>Plan</a></li></ul></div>"
        '<h1 id="P-Intro">Intro</h1><p>Words.</p><h2 id="P-Scope">Scope</h2><p>Words.</p>'
        '<h3 id="P-Plan">Plan</h3><p><span style="text-decoration: line-through;">cancelled</span> kept</p>'
    )


# name → page body; the gate renders each one (with images for the attachment images it shows)
PAGES: dict[str, Callable[[], str]] = {
    "long-bare-urls": long_bare_urls,
    "long-code-tokens": long_code_tokens,
    "data-colorid": coloured_text,
    "escaped-emoji": escaped_emoji,
    "eight-column-table": eight_column_table,
    "page-150kb": big_page,
    "centred-images": centred_images,
    "mention-runs": mention_runs,
    "headings-and-toc": headings_and_toc,
}
