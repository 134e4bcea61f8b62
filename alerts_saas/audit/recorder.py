"""Writes the audit entries: model signals for the tracked models (`registry`), and
`record` for changes that no signal sees (a compare-and-set `update()`, an invitation
accepted).

An entry is written in the transaction of the change it records, so a change rolled back
leaves no entry. Within one request, the parts of one change are one entry: an alert saved
with its targets and custom details reads "changed 'Checkout errors': threshold 5 → 10,
PagerDuty services: added Ops". Saving costs one query per tracked object, for its values
before the change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import ManyToManyField, Model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from alerts_saas.accounts.models import Organization
from alerts_saas.accounts.signals import invitation_accepted, invitation_revoked
from alerts_saas.audit import context, registry
from alerts_saas.audit.models import Action, Entry
from alerts_saas.audit.registry import Tracked

Change = dict[str, Any]
BEFORE = "_audit_before"
CLEARED = "_audit_cleared"
# Actions that a change of the same object later in the request folds into.
FOLDS_INTO = {Action.CREATED, Action.CHANGED, Action.ENABLED, Action.DISABLED}


def record(
    instance: Model,
    action: str,
    changes: Iterable[Change] = (),
    *,
    force_new: bool = False,
    name: str | None = None,
) -> Entry | None:
    """Record `action` on a tracked object, with `changes` (see `Entry`); a change made
    earlier in the same request to the same object gets these changes too, unless
    `force_new`. `name` says the object's name when its attributes alone can't."""
    tracked = registry.tracked_for(instance._meta.concrete_model)
    if tracked is None:
        return None
    organization_id = tracked.organization_of(instance)
    if organization_id is None or organization_id in _deleting_org_marks.get():
        return None
    changes = list(changes)
    if action == Action.CHANGED and not changes:
        return None
    ctx = context.in_context()
    key = (tracked.kind, str(instance.pk))
    if ctx is not None and not force_new and action == Action.CHANGED and key in ctx.written:
        entry = Entry.objects.filter(pk=ctx.written[key]).first()
        if entry is not None and entry.action in FOLDS_INTO:
            entry.changes = merge(entry.changes, changes)
            entry.action = decide(tracked, entry.action, entry.changes)
            entry.save(update_fields=["changes", "action"])
            return entry
    entry = Entry.objects.create(
        organization_id=organization_id,
        object_type=tracked.kind,
        object_id=str(instance.pk),
        object_name=(tracked.name_of(instance) if name is None else name)[:200],
        action=decide(tracked, action, changes),
        changes=changes,
        **context.describe(ctx or context.current()),
    )
    if ctx is not None:
        ctx.written[key] = entry.pk
    return entry


def record_each(instances: Iterable[Model], changes: list[Change]) -> None:
    """`record` of the same change on many tracked objects of one kind (a service given 30
    alerts at once, by a removal): one insert for all of them, however many; an object
    changed earlier in the request gets the change in its entry, as `record` does."""
    instances = list(instances)
    tracked = registry.tracked_for(instances[0]._meta.concrete_model) if instances else None
    if tracked is None:
        return
    ctx = context.in_context()
    new: list[tuple[Model, int]] = []
    for instance in instances:
        organization_id = tracked.organization_of(instance)
        if organization_id is None or organization_id in _deleting_org_marks.get():
            continue
        if ctx is not None and (tracked.kind, str(instance.pk)) in ctx.written:
            record(instance, Action.CHANGED, changes)
        else:
            new.append((instance, organization_id))
    if not new:
        return
    actor = context.describe(ctx or context.current())
    entries = Entry.objects.bulk_create(
        Entry(
            organization_id=organization_id,
            object_type=tracked.kind,
            object_id=str(instance.pk),
            object_name=tracked.name_of(instance),
            action=decide(tracked, Action.CHANGED, changes),
            changes=[dict(c) for c in changes],
            **actor,
        )
        for instance, organization_id in new
    )
    if ctx is not None:
        ctx.written.update({(tracked.kind, entry.object_id): entry.pk for entry in entries})


def change(tracked: Tracked, name: str, before: Any, after: Any) -> Change:
    """One field's change in words; a secret's values are never kept."""
    label = tracked.field_label(name)
    if tracked.is_secret(name):
        return {"field": label, "secret": True}
    shown = tracked.show
    found: Change = {"field": label, "before": shown(name, before), "after": shown(name, after)}
    if tracked.is_text(name):
        found["text"] = True
    return found


def diff(tracked: Tracked, before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    return [
        change(tracked, name, before[name], after[name])
        for name in tracked.fields
        if name in before and name in after and before[name] != after[name]
    ]


def decide(tracked: Tracked, action: str, changes: list[Change]) -> str:
    """A change of one on/off field alone (an alert's "enabled") is that field's action."""
    if action not in (Action.CHANGED, Action.ENABLED, Action.DISABLED):
        return action
    labels = {tracked.field_label(name): pair for name, pair in tracked.toggles.items()}
    if len(changes) == 1 and changes[0].get("field") in labels:
        on, off = labels[changes[0]["field"]]
        return on if changes[0].get("after") == "on" else off
    return Action.CHANGED


def merge(earlier: list[Change], later: list[Change]) -> list[Change]:
    """The changes of one object within a request, as one list: a field changed twice
    keeps its first value before and its last after (and goes if they are equal), a set's
    additions and removals add up."""
    merged: list[Change] = [dict(c) for c in earlier]
    by_field = {c["field"]: c for c in merged}
    for c in later:
        seen = by_field.get(c["field"])
        if seen is None:
            merged.append(dict(c))
            by_field[c["field"]] = merged[-1]
        elif "added" in c or "removed" in c:
            added = [n for n in seen.get("added", []) if n not in c.get("removed", [])]
            removed = [n for n in seen.get("removed", []) if n not in c.get("added", [])]
            for n in c.get("added", []):
                if n not in seen.get("removed", []) and n not in added:
                    added.append(n)
            for n in c.get("removed", []):
                if n not in seen.get("added", []) and n not in removed:
                    removed.append(n)
            seen["added"], seen["removed"] = added, removed
        elif not c.get("secret"):
            seen["after"] = c.get("after")
    return [
        c
        for c in merged
        if c.get("secret")
        or c.get("added")
        or c.get("removed")
        or ("before" in c and c.get("before") != c.get("after"))
    ]


# --- Signals ------------------------------------------------------------------------------


def _tracked(sender: type[Model]) -> Tracked | None:
    return registry.tracked_for(sender._meta.concrete_model)


def _snapshot_fields(tracked: Tracked) -> tuple[str, ...]:
    if tracked.parent:
        return (tracked.child_key, tracked.child_value)
    return tracked.fields


def before_save(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    """Read the row as it was: the values to compare with once it is saved."""
    tracked = _tracked(sender)
    if tracked is None or instance._state.adding or instance.pk is None:
        return
    names = _snapshot_fields(tracked)
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not tracked.parent:
        names = tuple(n for n in names if n in update_fields)
    if not names:
        setattr(instance, BEFORE, {})
        return
    row = sender._base_manager.filter(pk=instance.pk).values(*names).first()
    setattr(instance, BEFORE, row)


def after_save(sender: type[Model], instance: Model, created: bool, **kwargs: Any) -> None:
    tracked = _tracked(sender)
    if tracked is None:
        return
    before = None if created else getattr(instance, BEFORE, None)
    if hasattr(instance, BEFORE):
        delattr(instance, BEFORE)
    if tracked.parent:
        _child_changed(tracked, instance, before, _values(instance, _snapshot_fields(tracked)))
        return
    if created:
        initial = [
            change(tracked, n, None, tracked.value_of(instance, n)) for n in tracked.on_create
        ]
        record(instance, Action.CREATED, [c for c in initial if c.get("after") or c.get("secret")])
        return
    if before is None:  # saved over a row that was gone: nothing to compare
        return
    record(instance, Action.CHANGED, diff(tracked, before, _values(instance, before)))


def before_delete(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    if sender is Organization:
        _deleting_org_marks.get().add(instance.pk)
    tracked = _tracked(sender)
    if tracked is not None:
        _deleting_marks.get().add((tracked.kind, str(instance.pk)))


def after_delete(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    tracked = _tracked(sender)
    if tracked is not None:
        _deleting_marks.get().discard((tracked.kind, str(instance.pk)))
        if tracked.parent:
            _child_changed(tracked, instance, _values(instance, _snapshot_fields(tracked)), None)
        else:
            record(instance, Action.DELETED)
    if sender is Organization:
        _deleting_org_marks.get().discard(instance.pk)


def related_changed(
    sender: type[Model],
    instance: Model,
    action: str,
    reverse: bool,
    model: type[Model],
    pk_set: set[Any] | None,
    **kwargs: Any,
) -> None:
    """A tracked many-to-many field (an alert's PagerDuty services), changed from either
    side: recorded on the tracked object as the names added or removed."""
    if action == "pre_clear":
        setattr(instance, CLEARED, _related_names(instance, sender, reverse))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    which = "added" if action == "post_add" else "removed"
    if not reverse:
        tracked = _tracked(type(instance))
        if tracked is None:
            return
        if action == "post_clear":
            names = getattr(instance, CLEARED, [])
        else:
            names = sorted(str(o) for o in model._base_manager.filter(pk__in=pk_set or ()))
        label = tracked.field_label(_m2m_field(tracked, sender))
        if names:
            record(instance, Action.CHANGED, [{"field": label, which: names, **_other(which)}])
        return
    tracked = _tracked(model)
    if tracked is None:
        return
    label = tracked.field_label(_m2m_field(tracked, sender))
    owners = model._base_manager.filter(pk__in=pk_set) if pk_set else getattr(instance, CLEARED, [])
    record_each(owners, [{"field": label, which: [str(instance)], **_other(which)}])


def _other(which: str) -> dict[str, list[str]]:
    return {"removed" if which == "added" else "added": []}


def _related_names(instance: Model, through: type[Model], reverse: bool) -> list[Any]:
    """Before a clear: the names of the related objects (forward), or the tracked objects
    themselves (reverse)."""
    for tracked in registry.all_tracked():
        for name in tracked.m2m:
            if through_model(tracked.model, name) is through:
                if reverse:
                    return list(tracked.model._base_manager.filter(**{name: instance}))
                return sorted(str(o) for o in getattr(instance, name).all())
    return []


def _m2m_field(tracked: Tracked, through: type[Model]) -> str:
    for name in tracked.m2m:
        if through_model(tracked.model, name) is through:
            return name
    return through.__name__


def through_model(model: type[Model], name: str) -> type[Model] | None:
    """The table behind a many-to-many field."""
    field = model._meta.get_field(name)
    if isinstance(field, ManyToManyField):
        through: type[Model] | None = field.remote_field.through
        return through
    return None


def _child_changed(
    tracked: Tracked, instance: Model, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    """A child (an alert's custom detail) made, changed or removed: a change of its
    parent, unless the parent is being deleted with it."""
    parent = registry.resolve(instance, tracked.parent)
    parent_tracked = _tracked(type(parent)) if parent is not None else None
    if parent is None or parent_tracked is None:
        return
    if (parent_tracked.kind, str(parent.pk)) in _deleting_marks.get():
        return
    key, value = tracked.child_key, tracked.child_value
    changes: list[Change] = []
    old_key = before[key] if before else None
    new_key = after[key] if after else None
    if before and after and old_key == new_key:
        if before[value] != after[value]:
            changes.append(_detail(tracked, new_key, before[value], after[value]))
    else:
        if before:
            changes.append(_detail(tracked, old_key, before[value], None))
        if after:
            changes.append(_detail(tracked, new_key, None, after[value]))
    if changes:
        record(parent, Action.CHANGED, changes)


def _detail(tracked: Tracked, key: Any, before: Any, after: Any) -> Change:
    return {
        "field": f"{tracked.label} “{key}”",
        "before": tracked.show(tracked.child_value, before),
        "after": tracked.show(tracked.child_value, after),
        "text": True,
    }


def _values(instance: Model, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in names}


# Deletions in progress, kept from pre_delete to post_delete: a parent's (its children's
# deletions are part of it) and an organization's (nothing is recorded for it: its entries
# go with it).
_deleting_marks: context.Marks[tuple[str, str]] = context.Marks("audit_deleting")
_deleting_org_marks: context.Marks[int] = context.Marks("audit_deleting_organizations")


def _invitation_used(
    sender: type[Model], invitation: Model, signal: object, why: str = "", **_: object
) -> None:
    """An invitation accepted or withdrawn; `why`, when it was not a person's choice (its
    sender lost the right to send it), is said as the entry's reason."""
    reason = [{"field": "reason", "after": why}] if why else []
    record(invitation, Action.ACCEPTED if signal is invitation_accepted else Action.REVOKED, reason)


def connect() -> None:
    """Connect the signals of every tracked model (after `tracked.register_all`), and
    those accounts sends of an invitation's use (`accounts.signals`)."""
    invitation_accepted.connect(_invitation_used, dispatch_uid="audit-invitation-accepted")
    invitation_revoked.connect(_invitation_used, dispatch_uid="audit-invitation-revoked")
    pre_delete.connect(before_delete, sender=Organization, dispatch_uid="audit-org-deleting")
    post_delete.connect(after_delete, sender=Organization, dispatch_uid="audit-org-deleted")
    for tracked in registry.all_tracked():
        if not tracked.signals:
            continue
        model = tracked.model
        uid = f"audit-{model._meta.label_lower}"
        pre_save.connect(before_save, sender=model, dispatch_uid=f"{uid}-pre-save")
        post_save.connect(after_save, sender=model, dispatch_uid=f"{uid}-post-save")
        if model is not Organization and tracked.deletions:
            pre_delete.connect(before_delete, sender=model, dispatch_uid=f"{uid}-pre-delete")
            post_delete.connect(after_delete, sender=model, dispatch_uid=f"{uid}-post-delete")
        for name in tracked.m2m:
            m2m_changed.connect(
                related_changed,
                sender=through_model(model, name),
                dispatch_uid=f"{uid}-{name}",
            )
