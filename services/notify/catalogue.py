"""Template management: every change is a new approved version; notifications keep the version they used."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from services.notify import provider_templates
from services.notify.exceptions import TemplateExists, TemplateNotFound
from services.notify.models import ProviderTemplate, Template
from services.notify.templating import check_template
from shared.platform.errors import ValidationError
from shared.platform.validation import echo


def latest(session, template_id: str) -> Template:
    template = session.scalars(
        select(Template).where(Template.template_id == template_id).order_by(Template.version.desc()).limit(1)
    ).first()
    if template is None:
        raise TemplateNotFound(f"no template {echo(template_id)}")
    return template


def version(session, template_id: str, number: int | None) -> Template:
    errors = {}
    if not isinstance(template_id, str) or not 0 < len(template_id) <= 50:
        errors["template_id"] = ["Must be a template id (text of at most 50 characters)."]
    if number is not None and (isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 2**31):
        errors["version"] = ["Must be a positive version number."]
    if errors:
        raise ValidationError(errors)
    if number is None:
        return latest(session, template_id)
    template = session.get(Template, (template_id, number))
    if template is None:
        raise TemplateNotFound(f"no template {echo(template_id)} version {echo(number)}")
    return template


def current_versions(session) -> list[Template]:
    newest = (
        select(Template.template_id, func.max(Template.version).label("version"))
        .group_by(Template.template_id)
        .subquery()
    )
    query = select(Template).join(
        newest, (Template.template_id == newest.c.template_id) & (Template.version == newest.c.version)
    )
    return list(session.scalars(query.order_by(Template.template_id)))


def _check(body: str, kind: str, signature: str, codes: dict, required: tuple[str, ...]) -> None:
    """The text, and each provider's code and variables; a provider in use (`required`) must have a code."""
    errors: dict[str, list[str]] = {}
    problems = check_template(body, kind, signature)
    if problems:
        errors["body"] = problems
    errors.update(provider_templates.registration_errors(body, codes))
    for provider in required:
        if provider not in codes:
            errors[f"provider_templates.{provider}"] = [f"the template code {provider} approved is required"]
    if errors:
        raise ValidationError(errors)


def provider_specs(session, template: Template) -> dict[str, dict]:
    """{provider: {"code", "variables", "allow_links"}} of one template version."""
    rows = session.scalars(
        select(ProviderTemplate).where(
            ProviderTemplate.template_id == template.template_id, ProviderTemplate.version == template.version
        )
    )
    return {row.provider: row.spec() for row in rows}


def _store_codes(session, template: Template, codes: dict) -> None:
    for provider, spec in codes.items():
        session.add(
            ProviderTemplate(
                template_id=template.template_id,
                version=template.version,
                provider=provider,
                code=spec["code"],
                variables=list(spec["variables"]),
                allow_links=bool(spec.get("allow_links", False)),
            )
        )


def create(session, data: dict, signature: str, by: str, now: datetime, required: tuple[str, ...] = ()) -> Template:
    if session.scalar(select(Template.template_id).where(Template.template_id == data["template_id"]).limit(1)):
        raise TemplateExists(f"template {data['template_id']!r} exists; update_template makes a new version")
    codes = data.pop("provider_templates", None) or {}
    _check(data["body"], data["kind"], signature, codes, required)
    template = Template(**data, version=1, active=True, created_by=by, created_at=now)
    session.add(template)
    _store_codes(session, template, codes)
    return template


def update(session, data: dict, signature: str, by: str, now: datetime, required: tuple[str, ...] = ()) -> Template:
    """A new version with the changes; an `active` flip alone changes the current version in place. Without
    new `provider_templates` the new version keeps the current one's codes (valid only if the variables stay)."""
    current = latest(session, data["template_id"])
    changes = {key: value for key, value in data.items() if key != "template_id" and value is not None}
    if set(changes) <= {"active"}:
        current.active = changes.get("active", current.active)
        return current
    body = changes.get("body", current.body)
    codes = changes.pop("provider_templates", None) or provider_specs(session, current)
    _check(body, current.kind, signature, codes, required)
    template = Template(
        template_id=current.template_id,
        version=current.version + 1,
        name=changes.get("name", current.name),
        kind=current.kind,
        body=body,
        wechat_template_id=changes.get("wechat_template_id", current.wechat_template_id),
        active=changes.get("active", True),
        created_by=by,
        created_at=now,
    )
    session.add(template)
    _store_codes(session, template, codes)
    return template
