"""Templates as the Chinese SMS providers take them: an approved template code and its variables, never text.

Alibaba Cloud and Tencent Cloud send only a template their reviewers approved, named by its code, with the
variables as parameters (Alibaba by name, Tencent by position). Each version of our template therefore holds,
per provider, the code it was approved under and the ordered list of its variables. The providers refuse a
message whose variables are missing, too long, or carry a link or a phone number the template was not
approved for; `problem` checks the same before a message goes, `registration_errors` refuses at
registration what could never be approved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.notify.templating import placeholders

ALIYUN = "aliyun"
TENCENT = "tencent"


@dataclass(frozen=True)
class Rules:
    code: re.Pattern
    code_shape: str
    max_variables: int
    max_value_chars: int  # the provider's limit on one variable's value


# Alibaba: "SMS_" + digits, a value of at most 35 characters; Tencent: a numeric id, at most 26 characters
# a value for an enterprise account (both as their template review rules state them)
RULES = {
    ALIYUN: Rules(re.compile(r"^SMS_\d{6,12}$"), "SMS_ followed by 6–12 digits", 20, 35),
    TENCENT: Rules(re.compile(r"^\d{5,10}$"), "5–10 digits", 10, 26),
}
PROVIDERS = tuple(RULES)

URL = re.compile(r"(?i)(https?://|www\.|\b[a-z0-9-]+\.(com|cn|net|org|gov|top|xyz|cc)\b)")
PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|[48]00-?\d{3}-?\d{4})(?!\d)")


def registration_errors(body: str, given: dict | None) -> dict[str, list[str]]:
    """What the providers could never approve in `given` ({provider: {"code", "variables", "allow_links"}})."""
    errors: dict[str, list[str]] = {}
    wanted = placeholders(body)
    for provider, spec in (given or {}).items():
        where = f"provider_templates.{provider}"
        rules = RULES.get(provider)
        if rules is None:
            errors[where] = [f"unknown provider; one of {', '.join(PROVIDERS)}"]
            continue
        if not isinstance(spec, dict):
            errors[where] = ["must be {code, variables, allow_links}"]
            continue
        problems = []
        code = spec.get("code")
        if not isinstance(code, str) or not rules.code.match(code):
            problems.append(f"code must be {rules.code_shape}")
        variables = spec.get("variables")
        if not isinstance(variables, list) or not all(isinstance(v, str) for v in variables):
            problems.append("variables must be the list of the template's placeholder names, in the provider's order")
        else:
            if len(set(variables)) != len(variables):
                problems.append("a variable is listed twice")
            if set(variables) != set(wanted):
                problems.append(f"variables must be exactly the placeholders {wanted}")
            if len(variables) > rules.max_variables:
                problems.append(f"at most {rules.max_variables} variables")
        if not isinstance(spec.get("allow_links", False), bool):
            problems.append("allow_links must be true or false")
        if URL.search(body) and not spec.get("allow_links"):
            problems.append("the text carries a link: register the template with allow_links (and the link approved)")
        if problems:
            errors[where] = problems
    return errors


def problem(provider: str, spec: dict | None, personalisation: dict) -> str | None:
    """Why `provider` would refuse this message (None: it would take it). Never echoes a value."""
    if not spec:
        return f"no {provider} template code for this template version"
    rules = RULES[provider]
    for name in spec["variables"]:
        value = personalisation.get(name)
        if value is None or str(value) == "":
            return f"variable {name} is missing"
        text = str(value)
        if len(text) > rules.max_value_chars:
            return f"variable {name} is longer than {provider}'s {rules.max_value_chars} characters"
        if not spec.get("allow_links") and (URL.search(text) or PHONE.search(text)):
            return f"variable {name} carries a link or a phone number the template is not approved for"
    return None


def named_parameters(spec: dict, personalisation: dict) -> dict[str, str]:
    """Alibaba's TemplateParam: the variables by name."""
    return {name: str(personalisation[name]) for name in spec["variables"]}


def ordered_parameters(spec: dict, personalisation: dict) -> list[str]:
    """Tencent's TemplateParamSet: the variables in the approved order ({1}, {2}, …)."""
    return [str(personalisation[name]) for name in spec["variables"]]
