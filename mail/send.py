"""A send, end to end: the page as the user → permission gate → images, attachments and recipients concurrently →
render → MIME → SMTP. Also the preview (the same HTML, not sent). Nothing of a mail is stored or logged.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from confluence.client import RestClient
from confluence.fanout import map_bounded
from errors import AppError, ConfirmationRequired, ForbiddenError, ValidationError
from header_text import header_text, unsafe_header_text
from mail.images import SEND_PIXEL_BUDGET, ImageError, PixelBudget, scale_image
from mail.mime import Attachment, build_message, readdress
from mail.page import (
    AttachmentInfo,
    Page,
    attachment_api_id,
    check_content_id,
    download_attachment,
    excerpt_html,
    fetch_page,
    list_attachments,
)
from mail.permissions import Decision, Rules, decide, refusal_details, user_group_ids
from mail.recipients import (
    FIELDS,
    Field,
    Pick,
    RecipientRules,
    ResolvedRecipients,
    emails_for,
    parse_picks,
    resolve,
    split_batches,
)
from mail.render import CONTENT_WIDTH, DENSITY, Layout, MailContent, PageInfo, RenderedMail, prepare_page, render_mail
from mail.retry import RetrySeal
from mail.transport import Envelope, SmtpServer, deliver_batches
from mail.viewers import ViewCheck, check_viewers

log = logging.getLogger(__name__)

MAX_SUBJECT = 255
MAX_MESSAGE = 5000
MAX_PICKS_PER_FIELD = 500
MAX_IMAGE_BYTES = 25 * 1024 * 1024
# Gmail shows "[Message clipped]" once a mail's HTML is larger than this.
GMAIL_CLIP_BYTES = 102 * 1024
# Downloads of one send in flight at once: a page with 20 images and 3 attachments arrives in one round (with the
# recipients and the sender's address); each download holds at most MAX_IMAGE_BYTES, so this also bounds memory.
FETCH_CONCURRENCY = 24


@dataclass(frozen=True)
class SendRequest:
    content_id: str
    picks: dict[Field, list[Pick]]
    subject: str | None
    message: str
    attachments: Literal["none", "all"] | list[str]
    excerpt_only: bool
    copy_to_self: bool
    confirmed: bool = False  # the sender confirmed a send above the admin's recipient threshold
    retry: str | None = None  # a sealed token from a partly delivered send: only its missed addresses

    @property
    def has_recipients(self) -> bool:
        return any(self.picks[f] for f in FIELDS)


TEXT_LABELS = {"subject": "The subject", "message": "The message"}


def _text_field(body: dict[str, Any], name: str, limit: int, *, one_line: bool) -> str:
    value = body.get(name) or ""
    label = TEXT_LABELS[name]
    if not isinstance(value, str):
        raise ValidationError(f"{label} must be text", code="text_invalid", details={"field": name})
    if len(value) > limit:
        raise ValidationError(
            f"{label} can be at most {limit:,} characters long (now {len(value):,})",
            code="text_too_long",
            details={"field": name, "limit": limit, "length": len(value)},
        )
    if "\0" in value or (one_line and unsafe_header_text(value)):
        raise ValidationError(
            f"{label} must be a single line of text", code="header_injection", details={"field": name}
        )
    return value.strip() if one_line else value


def parse_send_request(body: Any) -> SendRequest:
    """Validate the dialog's send body (DESIGN §7); any problem is a 400 naming the field."""
    if not isinstance(body, dict):
        raise ValidationError("The request body must be a JSON object")
    attachments = body.get("attachments", "none")
    if attachments not in ("none", "all"):
        if (
            not isinstance(attachments, list)
            or len(attachments) > 500
            or not all(isinstance(a, str) and a for a in attachments)
        ):
            raise ValidationError(
                '\'attachments\' must be "none", "all" or a list of attachment ids', details={"field": "attachments"}
            )
        attachments = [attachment_api_id(a) for a in attachments]
    for flag in ("excerptOnly", "copyToSelf", "confirmed"):
        if not isinstance(body.get(flag, False), bool):
            raise ValidationError(f"'{flag}' must be true or false", details={"field": flag})
    return SendRequest(
        content_id=check_content_id(body.get("contentId")),
        picks={f: parse_picks(body, f, MAX_PICKS_PER_FIELD) for f in FIELDS},
        subject=_text_field(body, "subject", MAX_SUBJECT, one_line=True) or None,
        message=_text_field(body, "message", MAX_MESSAGE, one_line=False),
        attachments=attachments,
        excerpt_only=bool(body.get("excerptOnly", False)),
        copy_to_self=bool(body.get("copyToSelf", False)),
        confirmed=bool(body.get("confirmed", False)),
        retry=_retry_token(body.get("retry")),
    )


def _retry_token(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 200_000:
        raise ValidationError("This retry is not valid for this page", code="retry_invalid", details={"field": "retry"})
    return value


@dataclass(frozen=True)
class MailSettings:
    """The tenant's (and the space's) settings as the send needs them."""

    sender_name: str = "Confluence"
    sender_address: str = ""
    subject_prefix: str = "[Confluence]"
    reply_to_sender: bool = True
    layout: Layout = field(default_factory=Layout)
    permission_mode: str = "all"
    allowed_group_ids: Sequence[str] = ()
    enforce_in_all_spaces: bool = False
    allow_external: bool = True
    allowed_domains: Sequence[str] = ()
    max_recipients: int = 100
    max_attachment_bytes: int = 20 * 1024 * 1024
    confirm_above: int = 25  # recipients; more need the sender's confirmation
    without_access: Literal["warn", "block"] = "warn"  # recipients who can't open the page in Confluence


@dataclass(frozen=True)
class SpaceRules:
    enabled: bool = True
    group_ids: Sequence[str] = ()


@dataclass
class SendContext:
    """Everything one send needs; built by the view from the authenticated request."""

    account_id: str
    settings: MailSettings
    space_rules: Callable[[str], SpaceRules]
    user_client: RestClient
    app_client: RestClient
    smtp: SmtpServer | None
    default_from: str
    message_id_domain: str
    locale: str = "en"
    retry_seal: RetrySeal | None = None  # seals what a partly delivered split send did not reach


@dataclass
class Composition:
    page: Page
    rendered: RenderedMail
    attachments: list[Attachment]
    sender_name: str
    sender_email: str | None
    recipients: ResolvedRecipients | None
    sender_email_visible: bool = False  # Confluence shows the sender's address to others (not hidden)
    chosen_attachments: list[AttachmentInfo] = field(default_factory=list)
    view: ViewCheck | None = None  # who of the recipients can open the page, when checked alongside the downloads


def build_subject(settings: MailSettings, requested: str | None, title: str) -> str:
    subject = requested or f"{settings.subject_prefix} {header_text(title)}".strip()
    return header_text(subject)[:MAX_SUBJECT]


def page_and_permission(
    ctx: SendContext, content_id: str, *, with_storage: bool, with_attachments: bool = False
) -> tuple[Page, dict[str, Any], list[AttachmentInfo]]:
    """Read the page as the user (restricted → 404) and apply the gate; also answers the user's profile and,
    when asked, the page's attachment list, fetched alongside (all as the user, discarded if the gate refuses)."""
    settings = ctx.settings
    needs_groups = settings.permission_mode == "groups" or not settings.enforce_in_all_spaces
    jobs: list[Callable[[], Any]] = [
        lambda: fetch_page(ctx.user_client, content_id, with_storage=with_storage),
        lambda: ctx.user_client.get_json("rest/api/user/current"),
        lambda: list_attachments(ctx.user_client, content_id) if with_attachments else [],
    ]
    page, me, attachments = map_bounded(lambda job: job(), jobs)
    space = ctx.space_rules(page.space_key)
    rules = Rules(
        settings.permission_mode,
        settings.allowed_group_ids,
        settings.enforce_in_all_spaces,
        space.enabled,
        space.group_ids,
    )
    decision: Decision = decide(
        rules, lambda: user_group_ids(ctx.user_client, ctx.account_id) if needs_groups else set()
    )
    if not decision.allowed:
        message, details = refusal_details(ctx.user_client, decision)
        raise ForbiddenError(message, code=decision.code, details=details)
    return page, me if isinstance(me, dict) else {}, attachments


def check_permission(ctx: SendContext, content_id: str) -> tuple[Page, dict[str, Any], list[AttachmentInfo]]:
    """What the dialog needs to set itself up: the page (with storage, for the excerpt) and its attachments."""
    return page_and_permission(ctx, content_id, with_storage=True, with_attachments=True)


def choose_attachments(
    available: list[AttachmentInfo], choice: Literal["none", "all"] | list[str], limit: int
) -> list[AttachmentInfo]:
    if choice == "none":
        return []
    by_id = {a.id: a for a in available}
    if choice == "all":
        chosen = list(available)
    else:
        missing = [a for a in choice if a not in by_id]
        if missing:
            raise ValidationError(
                "Some chosen attachments are not on this page",
                code="attachment_not_found",
                details={"field": "attachments", "attachments": missing},
            )
        chosen = [by_id[a] for a in dict.fromkeys(choice)]
    total = sum(a.size for a in chosen)
    if total > limit:
        raise ValidationError(
            f"The attachments add up to {total / 1048576:.1f} MB; the limit is {limit / 1048576:.1f} MB",
            code="attachments_too_large",
            details={"field": "attachments", "total": total, "limit": limit},
        )
    return chosen


def compose(ctx: SendContext, request: SendRequest, *, for_send: bool) -> Composition:
    settings = ctx.settings
    page, me, available = page_and_permission(
        ctx, request.content_id, with_storage=request.excerpt_only, with_attachments=request.attachments != "none"
    )
    sender_name = str(me.get("displayName") or me.get("publicName") or "")
    body_html = page.export_view
    if request.excerpt_only:
        excerpt = excerpt_html(ctx.user_client, page)
        if excerpt is None:
            raise ValidationError("This page has no excerpt", code="no_excerpt", details={"field": "excerptOnly"})
        body_html = excerpt
    info = PageInfo(
        content_id=page.content_id,
        title=page.title,
        web_url=page.web_url,
        base_url=page.base_url,
        space_key=page.space_key,
    )
    prepared = prepare_page(body_html, info, settings.layout)
    max_total = settings.max_attachment_bytes
    chosen: list[AttachmentInfo] = []
    if request.attachments != "none":
        chosen = choose_attachments(available, request.attachments, max_total)

    # One round of concurrent work: images and attachments (each file fetched once, even when it is both), and
    # for a send the recipients (then whether they can open the page) and the sender's address. A preview fetches
    # no attachments.
    wanted: dict[str, int] = {attachment_api_id(ref.attachment_id): MAX_IMAGE_BYTES for ref in prepared.images}
    if for_send:
        for item in chosen:
            wanted[item.id] = max(wanted.get(item.id, 0), max_total)

    image_ids = {attachment_api_id(ref.attachment_id) for ref in prepared.images}
    shown_at = {attachment_api_id(ref.attachment_id): ref.display_width for ref in prepared.images}
    attachment_ids = {item.id for item in chosen} if for_send else set()
    layout = settings.layout
    pixels = PixelBudget(SEND_PIXEL_BUDGET)  # this send's decoded images, at once

    def fetch(api_id: str) -> tuple[str, str, Any]:
        """Download once; an image is scaled right here, so scaling overlaps the other downloads."""
        try:
            data = download_attachment(ctx.user_client, page.content_id, api_id, wanted[api_id]).data
        except AppError as error:
            return "file", api_id, error
        image = prescale(data, layout, pixels, shown_at.get(api_id, CONTENT_WIDTH)) if api_id in image_ids else None
        return "file", api_id, (image, data if api_id in attachment_ids else None)

    jobs: list[Callable[[], Any]] = [lambda api_id=api_id: fetch(api_id) for api_id in wanted]
    if for_send:
        rules = RecipientRules(settings.allow_external, settings.allowed_domains)

        def recipients_and_view() -> tuple[str, str, Any]:
            found = resolve(request.picks, user_client=ctx.user_client, app_client=ctx.app_client, rules=rules)
            # A retry reaches only the missed addresses, known after this round: their check waits until then.
            checked = None if request.retry else check_viewers(ctx.app_client, page.content_id, found.account_ids)
            return "recipients", "", (found, checked)

        jobs.append(recipients_and_view)
        jobs.append(lambda: ("sender", "", emails_for(ctx.app_client, [ctx.account_id]).get(ctx.account_id)))
    files: dict[str, Any] = {}
    recipients: ResolvedRecipients | None = None
    view: ViewCheck | None = None
    sender_email: str | None = None
    for kind, key, value in map_bounded(lambda job: job(), jobs, limit=FETCH_CONCURRENCY):
        if kind == "file":
            files[key] = value
        elif kind == "recipients":
            recipients, view = value
        else:
            sender_email = value
    # An image that could not be fetched becomes a link to the page; a chosen attachment must arrive.
    image_data: dict[str, bytes | bytearray | None] = {}
    for ref in prepared.images:
        fetched = files.get(attachment_api_id(ref.attachment_id))
        image_data[ref.attachment_id] = None if isinstance(fetched, AppError) or fetched is None else fetched[0]
    attachments: list[Attachment] = []
    for item in chosen if for_send else []:
        fetched = files[item.id]
        if isinstance(fetched, AppError):
            raise fetched
        data = fetched[1]
        attachments.append(
            Attachment(
                filename=item.title or item.id, content_type=item.media_type or "application/octet-stream", data=data
            )
        )
    del files
    if sum(len(a.data) for a in attachments) > max_total:
        raise ValidationError(
            "The attachments are larger than allowed", code="attachments_too_large", details={"field": "attachments"}
        )
    subject = build_subject(settings, request.subject, page.title)
    locale = str(me.get("locale") or ctx.locale)
    content = MailContent(sender_name=sender_name, message=request.message, locale=locale)
    rendered = render_mail(prepared, info, content, settings.layout, subject, image_data)
    visible = bool(sender_email) and str(me.get("email") or "").strip().lower() == (sender_email or "").lower()
    return Composition(page, rendered, attachments, sender_name, sender_email, recipients, visible, chosen, view)


def prescale(
    data: bytes | bytearray, layout: Layout, budget: PixelBudget | None = None, display_width: int = CONTENT_WIDTH
) -> bytes | None:
    """Scale an image for the mail as soon as it arrives, to twice the width the page shows it at (the renderer
    then embeds it as it is)."""
    try:
        return scale_image(
            bytes(data),
            mode=layout.image_mode,
            max_side=layout.image_max_side,
            content_width=DENSITY * CONTENT_WIDTH,
            budget=budget,
            max_width=DENSITY * display_width,
        ).data
    except ImageError:
        return None


def preview(ctx: SendContext, request: SendRequest) -> dict[str, Any]:
    """The exact HTML of the mail; CID images inlined as data: URIs for display in the dialog only."""
    composition = compose(ctx, request, for_send=False)
    rendered = composition.rendered
    html = rendered.html
    for image in rendered.images:
        encoded = base64.b64encode(image.data).decode("ascii")
        html = html.replace(f"cid:{image.cid}", f"data:{image.content_type};base64,{encoded}")
    html_bytes = len(rendered.html.encode("utf-8"))
    attachments = [{"title": a.title, "size": a.size} for a in composition.chosen_attachments]
    # Base64 grows parts by a third; quoted-printable grows text a little. An estimate, within a few per cent.
    size = int(
        html_bytes * 1.05
        + len(rendered.text.encode("utf-8")) * 1.05
        + sum(len(i.data) for i in rendered.images) * 4 / 3
        + sum(a.size for a in composition.chosen_attachments) * 4 / 3
    )
    return {
        "subject": rendered.subject,
        "html": html,
        "text": rendered.text,
        "htmlBytes": html_bytes,
        "gmailClipBytes": GMAIL_CLIP_BYTES,
        "clipped": html_bytes > GMAIL_CLIP_BYTES,
        # The page was cut at a block boundary to stay under the clip; the mail says it continues in Confluence.
        "truncated": rendered.truncated,
        "mailBytes": size,
        "attachments": attachments,
        "images": len(rendered.images),
    }


def _token_ahead(server: SmtpServer) -> Future[str] | None:
    """A Microsoft 365 or Google connection's access token, asked for while the page is read and its images scaled:
    a token that is not cached (the first send in an hour) costs a round trip to the provider, which would otherwise
    come after all of that. The SMTP sign-in then takes it from the token cache."""
    if server.oauth is None or server.security == "none":  # (an unencrypted connection is refused before its token)
        return None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="token")
    try:
        return pool.submit(server.oauth.token)
    finally:
        pool.shutdown(wait=False)


def _self_copy(composition: Composition, recipients: ResolvedRecipients, wanted: bool) -> list[str]:
    """The sender's own copy: an extra envelope recipient no header names (none when they already get the mail)."""
    own = composition.sender_email
    if not wanted or not own or own.lower() in {a.lower() for a in recipients.addresses}:
        return []
    return [own]


def summary(recipients: ResolvedRecipients) -> dict[str, Any]:
    """Who receives the mail, for the dialog: counts per field, groups by name, never a hidden address."""
    return {
        "recipients": recipients.total,
        "byField": {f: recipients.count(f) for f in FIELDS},
        "groups": [
            {"groupId": g.group_id, "name": g.name, "field": g.field, "members": g.members} for g in recipients.groups
        ],
        "unlisted": recipients.unlisted_picks,
        "externals": recipients.externals,
        "skipped": [
            {"accountId": s.account_id, "displayName": s.display_name, "reason": s.reason} for s in recipients.skipped
        ],
    }


def guard_rails(settings: MailSettings, recipients: ResolvedRecipients, view: ViewCheck) -> dict[str, Any]:
    return {
        "cannotView": view.cannot_view,
        "notChecked": view.not_checked,
        "confirmAbove": settings.confirm_above,
        "needsConfirmation": recipients.total > settings.confirm_above,
        "withoutAccess": settings.without_access,
    }


def recipients_summary(ctx: SendContext, request: SendRequest) -> dict[str, Any]:
    """What the dialog shows before a send: who receives it (counts, groups by name) and its guard-rails."""
    page, _me, _attachments = page_and_permission(ctx, request.content_id, with_storage=False)
    rules = RecipientRules(ctx.settings.allow_external, ctx.settings.allowed_domains)
    recipients = resolve(request.picks, user_client=ctx.user_client, app_client=ctx.app_client, rules=rules)
    view = check_viewers(ctx.app_client, page.content_id, recipients.account_ids)
    return {**summary(recipients), **guard_rails(ctx.settings, recipients, view)}


def _enforce_guard_rails(
    ctx: SendContext, request: SendRequest, page: Page, recipients: ResolvedRecipients, view: ViewCheck | None
) -> ViewCheck:
    settings = ctx.settings
    if recipients.total > settings.confirm_above and not request.confirmed:
        raise ConfirmationRequired(
            f"This mail goes to {recipients.total} recipients; confirm that you want to send it",
            details={"recipients": recipients.total, "threshold": settings.confirm_above},
        )
    if view is None:
        view = check_viewers(ctx.app_client, page.content_id, recipients.account_ids)
    if view.cannot_view and settings.without_access == "block":
        raise ForbiddenError(
            f"{view.cannot_view} recipients can't open this page in Confluence; your site admin doesn't allow "
            "sending it to them",
            code="recipients_cannot_view",
            details={"count": view.cannot_view},
        )
    return view


def send(ctx: SendContext, request: SendRequest) -> dict[str, Any]:
    if not request.has_recipients and not request.copy_to_self:
        raise ValidationError("Add at least one recipient", code="no_recipients", details={"field": "to"})
    if ctx.smtp is None:
        raise ValidationError(
            "No mail server is configured for this site; ask your site admin", code="smtp_not_configured"
        )
    token_ahead = _token_ahead(ctx.smtp)
    composition = compose(ctx, request, for_send=True)
    recipients = composition.recipients
    assert recipients is not None
    own_copy = _self_copy(composition, recipients, request.copy_to_self)
    if request.retry is not None:
        if ctx.retry_seal is None:
            raise ValidationError("Retries are not available", code="retry_invalid", details={"field": "retry"})
        missed_before = ctx.retry_seal.open(request.retry, ctx.account_id, composition.page.content_id)
        recipients.recipients = [r for r in recipients.recipients if r.address.lower() in missed_before]
        own_copy = [a for a in own_copy if a.lower() in missed_before]
        if not recipients.recipients and not own_copy:
            raise ValidationError(
                "Everyone this mail was meant for has received it", code="nothing_to_retry", details={"field": "retry"}
            )
    view = _enforce_guard_rails(ctx, request, composition.page, recipients, composition.view)
    if recipients.total + len(own_copy) == 0:
        raise ValidationError(
            "None of the recipients has an email address Confluence lets us use",
            code="no_deliverable_recipients",
            details={"field": "to", "skipped": summary(recipients)["skipped"]},
        )
    settings = ctx.settings
    from_address = settings.sender_address or ctx.default_from
    from_name = (
        f"{composition.sender_name} via {settings.sender_name}" if composition.sender_name else (settings.sender_name)
    )
    # Replies reach the sender, unless their profile hides the address: then no header may show it.
    reply_to = composition.sender_email if settings.reply_to_sender and composition.sender_email_visible else None
    batches = split_batches(recipients, settings.max_recipients, own_copy)
    deferred: dict[str, bytes | bytearray] = {}
    message = build_message(
        composition.rendered,
        from_addr=from_address,
        from_name=from_name,
        reply_to=reply_to,
        to=batches[0].to,
        cc=batches[0].cc,
        attachments=composition.attachments,
        message_id_domain=ctx.message_id_domain,
        defer_attachments_into=deferred,
    )
    # The message holds the inline images and `deferred` the attachment bytes: drop every other reference.
    composition.attachments.clear()
    composition.rendered.images.clear()

    def envelopes() -> Iterator[Envelope]:
        # One assembled message, readdressed for each batch just before it is sent.
        for index, batch in enumerate(batches):
            if index:
                readdress(message, to=batch.to, cc=batch.cc, message_id_domain=ctx.message_id_domain)
            yield Envelope(message, from_address, batch.envelope, deferred)

    if token_ahead is not None:
        token_ahead.result()  # its failure is the send's, as when the connection asks for the token itself
    outcomes = deliver_batches(ctx.smtp, envelopes())
    if all(o.status != "delivered" for o in outcomes):
        first = next(o.error for o in outcomes if o.error is not None)
        raise first
    refused = {a.lower() for o in outcomes for a in o.refused}
    missed = {a.lower() for o in outcomes if o.status != "delivered" for a in o.recipients}
    delivered = sum(1 for a in recipients.addresses if a.lower() not in refused | missed)
    copied = bool(own_copy) and own_copy[0].lower() not in refused | missed
    log.info("mail sent", extra={"mails": len(batches), "recipients": delivered})
    result: dict[str, Any] = {
        **summary(recipients),
        "sent": delivered > 0 or copied,
        "recipients": delivered,
        "mails": len(batches),
        # The sender gets a copy of their own, or already receives the mail as a recipient.
        "copyToSelf": request.copy_to_self and bool(composition.sender_email) and (copied or not own_copy),
        "cannotView": view.cannot_view,
    }
    if refused:
        result["refused"] = len(refused)
    if missed:
        # Some mails of a split send went out, others not: say which, so nobody is sent the page twice.
        result["partial"] = True
        result["notDelivered"] = len(missed)
        if ctx.retry_seal is not None:
            result["retry"] = ctx.retry_seal.seal(ctx.account_id, composition.page.content_id, missed)
        result["batches"] = [
            {
                "status": o.status,
                "recipients": len(o.recipients),
                **({"error": {"code": o.error.code, "message": o.error.message}} if o.error else {}),
            }
            for o in outcomes
        ]
    return result
