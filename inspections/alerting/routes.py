"""Alertmanager's routes and receivers for the notices, from the directory
(``inspections notices config``): for each unit's authority, and each of the city's, a route
that sends its notices (``assigned``, ``reminder``, ``breached``) to its people by e-mail and
to their chat robots' webhooks, once (grouped by every label, repeated after a year), then
lets the alert go on to the routes below (the duty officer's, the breaches' receiver).

The routes are put before the base configuration's own (``deploy/alertmanager/alertmanager.yml``);
the e-mails' texts are ``deploy/alertmanager/notices.tmpl`` (Chinese first, then English).
"""

from __future__ import annotations

import copy
import re

from inspections.alerting.directory import Directory

STEPS = "assigned|reminder|breached"
NOBODY = "notices-nobody-else"  # where an assigned or reminder notice ends: no one more
TEMPLATE = "notices.tmpl"


def receiver_name(unit: str | None, authority: str) -> str:
    return f"notices {unit or 'city'} {authority}"


def _quoted(value: str) -> str:
    return '"' + re.sub(r'(["\\\\])', r"\\\1", value) + '"'


def config(base: dict, directory: Directory, template_path: str = TEMPLATE,
           smtp: dict[str, str] | None = None) -> dict:
    """The base configuration with the directory's routes first and their receivers."""
    out = copy.deepcopy(base)
    routes, receivers = [], []
    for (unit, authority), people in sorted(directory.people().items(),
                                            key=lambda x: (x[0][0] or "", x[0][1])):
        matchers = [f"notice=~{_quoted(STEPS)}", f"authority={_quoted(authority)}"]
        if unit is not None:
            matchers.append(f"unit={_quoted(unit)}")
        name = receiver_name(unit, authority)
        routes.append({"matchers": matchers, "receiver": name, "group_by": ["..."],
                       "group_wait": "0s", "group_interval": "1m",
                       "repeat_interval": "8760h", "continue": True})
        receiver: dict = {"name": name}
        emails = [p.email for p in people if p.email]
        if emails:
            receiver["email_configs"] = [{
                "to": ", ".join(emails), "send_resolved": False,
                "headers": {"Subject": "{{ .CommonAnnotations.subject }}"},
                "html": '{{ template "inspections.notice.html" . }}',
                "text": '{{ template "inspections.notice.text" . }}'}]
        chats = [p.chat for p in people if p.chat]
        if chats:
            receiver["webhook_configs"] = [{"url": url, "send_resolved": False}
                                           for url in chats]
        receivers.append(receiver)
    # An assigned or reminder notice is for the directory's people alone (a breach goes on
    # to the breaches' receiver, as before).
    routes.append({"matchers": ['notice=~"assigned|reminder"'], "receiver": NOBODY})
    receivers.append({"name": NOBODY})
    out["route"]["routes"] = routes + list(out["route"].get("routes", []))
    out["receivers"] = list(out.get("receivers", [])) + receivers
    templates = list(out.get("templates", []))
    if template_path not in templates:
        templates.append(template_path)
    out["templates"] = templates
    if smtp:
        out.setdefault("global", {}).update(smtp)
    return out
