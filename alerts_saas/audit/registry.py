"""What the audit log records, model by model: `track("app.Model", ...)` is the one line
that puts a model's changes in the log (`tracked.py` holds those lines).

A tracked model's creation, edits (before → after, for its editable fields or those named)
and deletion are recorded by model signals. A child model (`parent=`, e.g. an alert's
custom details) is recorded as a change of its parent. Secrets are never recorded: a field
named like one (token, secret, key, hash, password, digest) or stored encrypted is said to
have "changed", without its values. A field may also be derived: said in words made from
the object by a function (`derived=`, e.g. a weekly mute's days, hours and zone as one line).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models
from django.utils.module_loading import import_string

from alerts_saas.crypto import EncryptedTextField

SECRET_NAME = re.compile(r"token|secret|password|hash|digest|(^|_)key$")
VALUE_CHARS = 200


@dataclass(frozen=True)
class Tracked:
    model: type[models.Model]
    kind: str  # the entry's object_type, e.g. "alert"
    label: str  # in words, e.g. "PagerDuty service"
    fields: tuple[str, ...]  # compared before → after on every save
    on_create: tuple[str, ...]  # also recorded, as set, when the object is made
    m2m: tuple[str, ...]
    labels: Mapping[str, str]
    units: Mapping[str, str]
    name: str  # attribute path of the object's name
    organization: str  # attribute path of its organization's id
    phrases: Mapping[str, str]  # action -> what was done, e.g. "invited “{name}”"
    self_phrases: Mapping[str, str]  # the same, when the actor is the object (joined, left)
    toggles: Mapping[str, tuple[str, str]]  # boolean field -> (action when on, when off)
    parent: str = ""  # attribute of the parent object this one is recorded under
    child_key: str = ""  # the child's name within its parent (e.g. a detail's key)
    child_value: str = ""  # its value
    secret: frozenset[str] = field(default_factory=frozenset)
    deletions: bool = True  # False: deleting is housekeeping (beat purging old rows)
    signals: bool = True  # False: only what `recorder.record` is called for (no saves)
    derived: Mapping[str, str] = field(default_factory=dict)  # name -> "module.function"

    def field_label(self, name: str) -> str:
        if name in self.labels or name in self.derived:
            return self.labels.get(name, name.replace("_", " "))
        found = self.model._meta.get_field(name)
        return str(getattr(found, "verbose_name", name))

    def is_secret(self, name: str) -> bool:
        return name in self.secret

    def show(self, name: str, value: Any) -> str | None:
        """A field's value in words: a choice's label, on/off, with its unit, cut short."""
        if value is None or value == "":
            return None
        if name in self.derived:
            return str(value)
        found = self.model._meta.get_field(name)
        if isinstance(value, bool):
            return "on" if value else "off"
        choices = getattr(found, "flatchoices", None)
        if choices:
            value = dict(choices).get(value, value)
        text = str(value)
        if name in self.units:
            text = f"{text} {self.units[name]}"
        return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"

    def is_text(self, name: str) -> bool:
        """Text a person wrote (quoted in sentences), not a choice or a number."""
        if name in self.derived:
            return False
        found = self.model._meta.get_field(name)
        return isinstance(found, models.CharField | models.TextField) and not found.choices

    def value_of(self, instance: models.Model, name: str) -> Any:
        """A field's value, or a derived field's words (None: nothing to say)."""
        if name in self.derived:
            return import_string(self.derived[name])(instance)
        return getattr(instance, name)

    def name_of(self, instance: models.Model) -> str:
        return str(resolve(instance, self.name) or "")[:200]

    def organization_of(self, instance: models.Model) -> int | None:
        value = resolve(instance, self.organization)
        return int(value) if value is not None else None


_registry: dict[type[models.Model], Tracked] = {}
_by_kind: dict[str, Tracked] = {}


def track(
    label: str,
    *,
    kind: str,
    words: str,
    fields: tuple[str, ...] = (),
    on_create: tuple[str, ...] = (),
    m2m: tuple[str, ...] = (),
    labels: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    name: str = "",
    organization: str = "organization_id",
    phrases: Mapping[str, str] | None = None,
    self_phrases: Mapping[str, str] | None = None,
    toggles: Mapping[str, tuple[str, str]] | None = None,
    parent: str = "",
    child_key: str = "",
    child_value: str = "",
    secret: tuple[str, ...] = (),
    deletions: bool = True,
    signals: bool = True,
    derived: Mapping[str, str] | None = None,
) -> Tracked | None:
    """Record the changes of the model `label` ("app_label.Model"). Without `fields`, its
    editable fields that are not relations are compared. Nothing happens for a model that
    does not exist (yet): the line can be written before the model."""
    try:
        model = apps.get_model(label)
    except LookupError:
        return None
    concrete = [f for f in model._meta.concrete_fields if not f.primary_key]
    if not fields:
        fields = tuple(f.name for f in concrete if f.editable and not f.is_relation)
    secrets = {
        f.name for f in concrete if isinstance(f, EncryptedTextField) or SECRET_NAME.search(f.name)
    } | set(secret)
    tracked = Tracked(
        model=model,
        kind=kind,
        label=words,
        fields=fields,
        on_create=on_create,
        m2m=m2m,
        labels=dict(labels or {}),
        units=dict(units or {}),
        name=name,
        organization=organization,
        phrases=dict(phrases or {}),
        self_phrases=dict(self_phrases or {}),
        toggles=dict(toggles or {}),
        parent=parent,
        child_key=child_key,
        child_value=child_value,
        secret=frozenset(secrets),
        deletions=deletions,
        signals=signals,
        derived=dict(derived or {}),
    )
    _registry[model] = tracked
    _by_kind[kind] = tracked
    return tracked


def tracked_for(model: type[models.Model] | None) -> Tracked | None:
    return _registry.get(model) if model is not None else None


def all_tracked() -> list[Tracked]:
    return list(_registry.values())


def kinds() -> list[tuple[str, str]]:
    """(object type, its words) of every tracked model recorded under its own name."""
    return sorted(((t.kind, t.label) for t in _by_kind.values() if not t.parent), key=_second)


def _second(pair: tuple[str, str]) -> str:
    return pair[1].lower()


def tracked_model(kind: str) -> type[models.Model] | None:
    found = _by_kind.get(kind)
    return found.model if found else None


def words_for(kind: str) -> str:
    found = _by_kind.get(kind)
    return found.label if found else kind.replace("_", " ")


def phrase_for(kind: str, action: str, *, by_itself: bool = False) -> str:
    """What was done, with `{name}` for the object's name: "changed alert “{name}”"."""
    found = _by_kind.get(kind)
    if found is None:
        return f"{action} {words_for(kind)} “{{name}}”"
    if by_itself and action in found.self_phrases:
        return found.self_phrases[action]
    return found.phrases.get(action, f"{action} {found.label} “{{name}}”")


def resolve(instance: object, path: str) -> Any:
    """`a.b.c` of an object; '' is the object's text."""
    if not path:
        return str(instance)
    value: Any = instance
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    return value
