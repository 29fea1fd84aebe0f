"""Confluence macros on the real pages become readable mail markup (checked on the finished mail)."""

from __future__ import annotations

import re

import lxml.html
import pytest

from mail.render import Layout, MailContent, RenderedMail, prepare_page, render_mail
from tests.mail.pages import (
    PAGE,
    body_of,
    code_cells,
    code_text,
    content_cell,
    content_tables,
    images_for,
    lozenges,
    panel_cells,
    panel_label,
    styled,
)


def render(body: str, locale: str = "en") -> RenderedMail:
    prepared = prepare_page(body, PAGE, Layout())
    content = MailContent("Ann Example", locale=locale)
    return render_mail(prepared, PAGE, content, Layout(), "s", images_for(prepared))


@pytest.fixture(scope="module")
def usability() -> RenderedMail:
    return render(body_of("Usability-Testing_-PHI_-Sep_1237385238.html"))


@pytest.fixture(scope="module")
def feedback() -> RenderedMail:
    return render(body_of("1153105921.html"))


def test_info_and_warning_panels_become_bordered_cells_with_a_label() -> None:
    mail = render(body_of("Converting-UI-To-Flex-XR-Panels_1514799110.html"))
    (warning,) = panel_cells(mail.html, "warning")
    assert warning.getparent().getparent().getparent().get("role") == "presentation"  # a one-cell table
    assert "background-color:#ffebe6" in warning.get("style")
    assert panel_label(warning) == "Warning"
    assert len(warning.text_content()) > 40  # the panel body moved into the cell
    (info,) = panel_cells(mail.html, "info")
    assert panel_label(info) == "Info"
    assert "confluence-information-macro" not in mail.html


def test_note_panel_label_is_localized(usability: RenderedMail) -> None:
    (note,) = panel_cells(usability.html, "note")
    assert panel_label(note) == "Note"
    german = render(body_of("Usability-Testing_-PHI_-Sep_1237385238.html"), locale="de_DE")
    (note,) = panel_cells(german.html, "note")
    assert panel_label(note) == "Hinweis"
    assert "GREEN CIRCLEs" in note.text_content()


def test_panel_macro_keeps_its_background(usability: RenderedMail) -> None:
    cells = panel_cells(usability.html, "plain")
    # The page's own colour comes last in the style, so it wins over the stylesheet's default.
    assert [cell.get("style").rsplit("background-color:", 1)[1] for cell in cells] == ["#E6FCFF", "#EAE6FF"]
    assert "Inspirations to choose a career" in cells[0].text_content()


def test_code_block_becomes_a_monospace_cell_of_wrapping_lines() -> None:
    mail = render(body_of("Converting-Interactions-To-VR_1514799182.html"))
    (cell,) = code_cells(mail.html)
    # One cell (Outlook draws border, padding and background only on cells), no <pre> and no white-space
    # (Outlook ignores it; a long line wraps like text instead of widening the mail).
    assert cell.getparent().getparent().getparent().get("role") == "presentation"
    assert "<pre" not in mail.html and "white-space" not in mail.html
    assert "border:1px solid #dfe1e6" in cell.get("style") and "padding:8px" in cell.get("style")
    assert "public class InspectActionCall : MonoBehaviour" in code_text(cell)
    assert "    {\n        public InputActionReference Trigger;" in code_text(cell)  # layout kept
    # Verbatim in the text part too (indented as a whole: the block sits in a list item).
    lines = mail.text.splitlines()
    brace = next(i for i, line in enumerate(lines) if line.strip() == "{")
    assert lines[brace + 1] == lines[brace].replace("{", "    public InputActionReference Trigger;")


def test_expand_is_shown_open_with_its_title() -> None:
    source = body_of("Designing-Learning-Simulations_13992558.html")
    mail = render(source)
    expands = panel_cells(mail.html, "expand")  # one-cell tables, a grey border on the left
    assert len(expands) == source.count('class="expand-container"') == 4
    for expand in expands:
        assert expand.find("p").find("strong").text == "For example..."
        assert len(expand.text_content()) > len("For example...") + 20
    assert "In a hydraulics lab - students" in mail.html
    assert "display:none" not in mail.html.replace(" ", "").split("<body", 1)[1].split("mso-hide", 1)[1]
    assert "expand-control" not in mail.html and "grey_arrow_down" not in mail.html


def test_status_lozenge_is_a_coloured_uppercase_span(usability: RenderedMail) -> None:
    spans = lozenges(content_cell(usability.html))
    assert [span.text for span in spans] == ["DONE"]
    assert "background-color:#e3fcef" in spans[0].get("style")


def test_task_lists_get_checkboxes(usability: RenderedMail) -> None:
    source = body_of("Usability-Testing_-PHI_-Sep_1237385238.html")
    tasks = lxml.html.fragment_fromstring(source, create_parent="div").xpath(
        '//ul[contains(@class, "inline-task-list")]/li'
    )
    done = sum(1 for li in tasks if "checked" in (li.get("class") or ""))
    assert done and len(tasks) - done
    cell = content_cell(usability.html)
    assert cell.text_content().count("☑") == done
    assert cell.text_content().count("☐") == len(tasks) - done
    assert "☑ Send out email to CE for confirmation and Plan" in usability.text
    assert "☐ Time slot" in usability.text


def test_layouts_are_flattened_with_all_content() -> None:
    mail = render(body_of("98487_overview.view.html"))
    cell = content_cell(mail.html)
    text = cell.text_content()
    for expected in (
        "Say hello to your colleagues",
        "Recent pages that I've worked on",
        "Recently Updated",
        "Blog Posts",
        "Get in touch",
        "End with a bang!",
    ):
        assert expected in text
    assert "columnLayout" not in mail.html and "innerCell" not in mail.html
    # Relative links in the layout resolve against the tenant's base URL.
    hrefs = [a.get("href") for a in cell.iter("a")]
    assert "https://acme.atlassian.net/wiki/spaces/~5fc9e78d2730d800760becc4/overview" in hrefs


def test_toc_links_point_at_the_page() -> None:
    mail = render(body_of("Converting-Interactions-To-VR_1514799182.html"))
    hrefs = [a.get("href") for a in content_cell(mail.html).iter("a")]
    assert PAGE.web_url + "#ConvertingInteractionsToVR-Introduction" in hrefs
    assert PAGE.web_url + "#ConvertingInteractionsToVR-OutlinesNotAppearingInVR" in hrefs
    # An export-relative link becomes absolute on the tenant.
    assert "https://acme.atlassian.net/wiki/XR-Interactables_1518501893.html" in hrefs


def test_all_content_links_are_absolute(feedback: RenderedMail) -> None:
    for name in (
        "Supply-Chain-Project-Page_1116635137.html",
        "Converting-Interactions-To-VR_1514799182.html",
    ):
        mail = render(body_of(name))
        for a in content_cell(mail.html).iter("a"):
            href = a.get("href")
            assert href is None or re.match(r"^(https?://[^/]+|mailto:)", href), href


def test_mentions_are_bold_profile_links(usability: RenderedMail) -> None:
    mentions = [a for a in styled(content_cell(usability.html), "a", "font-weight:bold") if "/people/" in a.get("href")]
    names = [a.text for a in mentions]
    assert "Sana Javeed" in names
    first = mentions[names.index("Sana Javeed")]
    assert first.get("href").startswith("https://varlab-dev.atlassian.net/wiki/people/")
    assert "text-decoration:none" in first.get("style")


def test_emoticons_become_characters(feedback: RenderedMail) -> None:
    text = content_cell(feedback.html).text_content()
    assert "🥚" in text  # data-emoji-fallback
    assert "✅" in text and "❌" in text  # Atlassian emoji ids without a unicode fallback
    assert "emoticon" not in feedback.html and "images/icons" not in feedback.html
    assert "🥚 Easter egg ideas" in feedback.text


def test_jira_macros_become_links_with_status(feedback: RenderedMail) -> None:
    links = {a.text: a.get("href") for a in content_cell(feedback.html).iter("a")}
    assert links["AMB-817"] == "https://varlab-dev.atlassian.net/browse/AMB-817"
    assert "universal_avatar" not in feedback.html  # the issue-type icon is not fetched
    expected = "AMB-817 <https://varlab-dev.atlassian.net/browse/AMB-817> \N{EN DASH} CE Feedback"
    assert expected in feedback.text
    placeholder = render(body_of("PHI-VR-Research-Project_1514897411.html"))
    links = {a.text: a.get("href") for a in content_cell(placeholder.html).iter("a")}
    assert links["PHI-1333"] == "https://varlab-dev.atlassian.net/browse/PHI-1333"
    assert "Getting issue details" not in placeholder.html and "STATUS" not in placeholder.html


def test_leftover_storage_markup_is_removed_but_its_text_kept() -> None:
    source = body_of("Converting-Interactions-To-VR_1514799182.html")
    assert "<ac:inline-comment-marker" in source
    mail = render(
        source + '<p><ac:structured-macro ac:name="x"><ac:parameter ac:name="p">param-value'
        "</ac:parameter><ac:rich-text-body>body text kept</ac:rich-text-body></ac:structured-macro>"
        '<ri:page ri:content-title="Other"/> <ac:emoticon ac:name="tick"/> done</p>'
    )
    assert "ac:" not in mail.html and "ri:" not in mail.html
    text = " ".join(mail.text.split())
    assert "found in another document" in text and "body text kept" in text
    assert "param-value" not in mail.text
    assert "✅ done" in mail.text


def test_embeds_become_a_link_to_the_page() -> None:
    mail = render(
        '<p>Before</p><iframe src="https://www.youtube.com/embed/x"></iframe><p>Middle</p>'
        '<video src="https://example.com/v.mp4"></video><p>After</p>',
        locale="de",
    )
    links = [(a.text, a.get("href")) for a in content_cell(mail.html).iter("a")]
    assert ("Diesen eingebetteten Inhalt in Confluence öffnen", PAGE.web_url) in links
    assert ("Dieses Medium in Confluence öffnen", PAGE.web_url) in links
    assert "youtube" not in mail.html
    for word in ("Before", "Middle", "After"):
        assert word in mail.text


def test_attachments_macro_becomes_a_link() -> None:
    mail = render(body_of("Supply-Chain-Project-Page_1116635137.html"))
    links = [(a.text, a.get("href")) for a in content_cell(mail.html).iter("a")]
    assert ("View the attachments in Confluence", PAGE.web_url) in links
    assert "Drag and drop" not in mail.text and "removeAttachmentLink" not in mail.html


def test_tables_keep_their_grid(usability: RenderedMail) -> None:
    tables = content_tables(content_cell(usability.html))
    assert len(tables) == 6
    table = tables[0]
    assert table.get("border") == "1" and table.get("cellpadding") == "6"
    cell = table.find(".//td")
    assert "border:1px solid #c1c7d0" in cell.get("style")
    assert cell.get("bgcolor") == "#f4f5f7"  # Confluence's cell highlight
    assert "Status: DONE" in usability.text  # a row headed by its first cell, as text


def test_code_keeps_line_breaks_written_as_br() -> None:
    mail = render("<pre>first line<br>second line<br/>third</pre>")
    (cell,) = code_cells(mail.html)
    assert code_text(cell) == "first line\nsecond line\nthird"
    assert "first line\nsecond line\nthird" in mail.text
