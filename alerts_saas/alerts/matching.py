"""Which of an organization's alerts an event matches, at a cost that does not grow with the
alerts that cannot match it.

Each alert is filed once, under its most selective rule:

- an app or source rule: under (app, source), either of them possibly "any" (a team's
  alerts spread over its apps and hosts; an attribute value such as a region is shared by
  many alerts of different apps, so it comes second); there, by the lowest level it takes,
  and by its message rule if it has one, else by its attribute rule if it has one, so
  that an event asks it only when its level and message (or attribute) meet them;
- an attribute rule: under (attribute, value), looked up with the event's own attributes;
- a message rule alone: under the rule, found through two RE2 sets that test every such rule
  of the organization in one pass over the message (one for "contains", on the case-folded
  message, one for regular expressions, on the message as sent);
- nothing else (a level, or no rule at all): it is a candidate for every event.

An event's candidates are then checked against the rules their filing did not already
settle (an alert found under its app and source, at its level and message, is checked for
its attribute rule only), so the index only decides who is asked, never who matches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

import re2

from alerts_saas.alerts.conditions import Event, Matcher, attribute_text, compile_matcher
from alerts_saas.alerts.models import Alert

T = TypeVar("T")
ANY = None  # an app or source rule that is not set
_ABSENT: Any = object()  # an attribute the event does not have

# RE2 sets compile every pattern into one automaton; this bounds its memory.
SET_MAX_MEMORY = 64 << 20
# Apps and sources whose alerts an index keeps merged (a sender can make up any number).
PLACES_KEPT = 10_000


class RuleSet:
    """Message rules matched in one pass: each rule's number among those that match."""

    def __init__(self, patterns: list[str]) -> None:
        self.size = len(patterns)
        self._set: Any = None  # re2.Set
        self._each: list[Any] = []  # compiled RE2 expressions
        if not patterns:
            return
        options = re2.Options()
        options.max_mem = SET_MAX_MEMORY
        candidate = re2.Set.SearchSet(options)
        try:
            for pattern in patterns:
                candidate.Add(pattern)
            candidate.Compile()
            self._set = candidate
        except re2.error:  # too large for one automaton: one search per rule instead
            self._each = [re2.compile(pattern) for pattern in patterns]

    @property
    def in_one_pass(self) -> bool:
        return self._set is not None

    def matching(self, text: str) -> list[int]:
        if self._set is not None:
            return self._set.Match(text) or []
        return [i for i, regex in enumerate(self._each) if regex.search(text) is not None]


class MatchIndex(Generic[T]):
    """An organization's enabled alerts, filed by their most selective rule; each carries
    a value of the caller's (what `matches` returns)."""

    def __init__(self, alerts: Iterable[tuple[Alert, T]]) -> None:
        self.values: list[T] = []
        # Each alert's rules that neither its filing nor its message rule settles (None if
        # none is left), and the number of its message rule in the RE2 sets (contains or
        # regex), if it has one: every message rule of the organization is tested in one
        # pass per event, whoever asks.
        self.checks: list[Matcher | None] = []
        self.contains_rule: list[int | None] = []
        self.regex_rule: list[int | None] = []
        # Whether its message rule is left to check when it is found (filed by attribute):
        # otherwise the filing settled it, or it has none.
        self.message_left: list[bool] = []
        # The attribute rule it is filed by at its place (with no message rule there).
        self.place_attribute: list[tuple[str, str] | None] = []
        self.by_attribute: dict[tuple[str, str], list[int]] = defaultdict(list)
        # Each place's alerts; an event asks only those whose level rule it meets (most
        # events are routine), through `_placed`.
        self.by_place: dict[tuple[str | None, str | None], list[int]] = defaultdict(list)
        self.levels: list[int] = []
        self.by_contains: list[list[int]] = []
        self.by_regex: list[list[int]] = []
        self.everyone: list[int] = []
        contains: dict[str, int] = {}
        regexes: dict[str, int] = {}
        for alert, value in alerts:
            i = len(self.values)
            self.values.append(value)
            self.checks.append(_residual(alert))
            self.levels.append(alert.match_level or 0)
            regex = alert.match_message if alert.match_message_regex else ""
            literal = "" if regex else re2.escape(alert.match_message.casefold())
            self.regex_rule.append(self._number(regexes, self.by_regex, regex))
            self.contains_rule.append(self._number(contains, self.by_contains, literal))
            placed = bool(alert.match_app or alert.match_source)
            attributed = placed and alert.match_attribute and not alert.match_message
            self.place_attribute.append(
                (alert.match_attribute, alert.match_attribute_value) if attributed else None
            )
            self.message_left.append(
                not placed and bool(alert.match_attribute) and bool(alert.match_message)
            )
            if placed:
                self.by_place[(alert.match_app or ANY, alert.match_source or ANY)].append(i)
            elif alert.match_attribute:
                self.by_attribute[(alert.match_attribute, alert.match_attribute_value)].append(i)
            elif regex:
                self.by_regex[regexes[regex]].append(i)
            elif literal:
                self.by_contains[contains[literal]].append(i)
            else:
                self.everyone.append(i)
        self._places: dict[tuple[str, str], _Place] = {}
        self.attribute_keys = {key for key, _value in self.by_attribute}
        self.contains = RuleSet(list(contains))
        self.regexes = RuleSet(list(regexes))
        # Both sets in one pass for an ASCII message (almost every one): there, a folded
        # "contains" is RE2's case-insensitive match of the folded text (no other letter
        # folds to an ASCII one but the Kelvin sign and the long s, which casefold() turns
        # into k and s). Only when each set has rules and the two fit in one automaton.
        self.both: RuleSet | None = None
        if contains and regexes:
            both = RuleSet([f"(?i){literal}" for literal in contains] + list(regexes))
            self.both = both if both.in_one_pass else None

    @staticmethod
    def _number(numbers: dict[str, int], filed: list[list[int]], pattern: str) -> int | None:
        """The rule's number in its set (added if new); None for no rule."""
        if not pattern:
            return None
        if pattern not in numbers:
            numbers[pattern] = len(filed)
            filed.append([])
        return numbers[pattern]

    def __len__(self) -> int:
        return len(self.values)

    def candidates(self, event: Event, messages: _Messages | None = None) -> list[int]:
        """The alerts that may match `event`: every one that does, and few others."""
        messages = messages or _Messages(self, event)
        found: list[int] = []
        keys, attributes = self.attribute_keys, event.attributes
        if keys and attributes:
            for key in keys if len(keys) < len(attributes) else list(attributes):
                if key in attributes and key in keys:
                    found += self.by_attribute.get((key, attribute_text(attributes[key])), ())
        if self.by_place:
            place = self._placed(event.app, event.source)
            view = place.views.get(event.level) or place.view(event.level)
            found += view.plain
            if view.attributes and attributes:
                for key, by_value in view.attributes:
                    value = attributes.get(key, _ABSENT)
                    if value is _ABSENT:
                        continue
                    filed = by_value.get(value if type(value) is str else attribute_text(value))
                    if filed is not None:
                        found += filed
            if view.contains:
                by_rule = view.contains
                for rule in messages.contains():
                    if rule in by_rule:
                        found += by_rule[rule]
            if view.regexes:
                by_rule = view.regexes
                for rule in messages.regexes():
                    if rule in by_rule:
                        found += by_rule[rule]
        if self.by_contains:
            for rule in messages.contains():
                found += self.by_contains[rule]
        if self.by_regex:
            for rule in messages.regexes():
                found += self.by_regex[rule]
        found += self.everyone
        return found

    def _placed(self, app: str, source: str) -> _Place:
        """The alerts filed at an event's app and source, or at either (the other "any"),
        made once per app and source (up to PLACES_KEPT of them), not per event."""
        found = self._places.get((app, source))
        if found is not None:
            return found
        places = [(app or ANY, source or ANY)]
        if app and source:
            places += [(app, ANY), (ANY, source)]
        found = _Place(self, [i for place in places for i in self.by_place.get(place, ())])
        if len(self._places) < PLACES_KEPT:
            self._places[(app, source)] = found
        return found

    def matches(self, event: Event) -> list[T]:
        """The values of the alerts `event` matches."""
        messages = _Messages(self, event)
        found = []
        checks, message_left, values = self.checks, self.message_left, self.values
        for i in self.candidates(event, messages):
            check = checks[i]
            if check is not None and not check(event):
                continue
            if message_left[i]:
                rule = self.contains_rule[i]
                if rule is not None and rule not in messages.contains():
                    continue
                rule = self.regex_rule[i]
                if rule is not None and rule not in messages.regexes():
                    continue
            found.append(values[i])
        return found


class _Place:
    """The alerts filed at an event's place, and their views by event level (`view`)."""

    __slots__ = ("alerts", "index", "views")

    def __init__(self, index: MatchIndex[Any], alerts: list[int]) -> None:
        self.index, self.alerts = index, alerts
        self.views: dict[int, _View] = {}

    def view(self, level: int) -> _View:
        """Those whose level rule an event of `level` meets (made once per level: events
        come at a few levels)."""
        made = self.views[level] = _View(self.index, self.alerts, level)
        return made


class _View:
    """The alerts filed at a place whose level rule an event's level meets: those without
    a message rule, and those with one by their rule's number in each RE2 set, so that an
    event asks only those whose message rule it meets. Most events are routine, and most
    alerts at a place take errors or warnings only: their view leaves those out at once."""

    __slots__ = ("attributes", "contains", "plain", "regexes")

    def __init__(self, index: MatchIndex[Any], alerts: list[int], level: int) -> None:
        plain: list[int] = []
        contains: dict[int, list[int]] = defaultdict(list)
        regexes: dict[int, list[int]] = defaultdict(list)
        attributes: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i in alerts:
            if index.levels[i] > level:
                continue
            if (rule := index.contains_rule[i]) is not None:
                contains[rule].append(i)
            elif (rule := index.regex_rule[i]) is not None:
                regexes[rule].append(i)
            elif (pair := index.place_attribute[i]) is not None:
                attributes[pair[0]][pair[1]].append(i)
            else:
                plain.append(i)
        self.plain = plain
        # (attribute, {value as text: its alerts}) for each attribute ruled on here.
        self.attributes = [(key, dict(by_value)) for key, by_value in attributes.items()]
        self.contains = dict(contains)
        self.regexes = dict(regexes)


class _Messages:
    """Which message rules an event's message meets, each set tested once, when first asked."""

    __slots__ = ("_contains", "_event", "_index", "_regexes")

    def __init__(self, index: MatchIndex[Any], event: Event) -> None:
        self._index, self._event = index, event
        self._contains: set[int] | None = None
        self._regexes: set[int] | None = None

    def contains(self) -> set[int]:
        found = self._contains
        if found is None:
            both = self._both()
            folded = self._event.folded_message
            found = both[0] if both else set(self._index.contains.matching(folded))
            self._contains = found
        return found

    def regexes(self) -> set[int]:
        found = self._regexes
        if found is None:
            both = self._both()
            found = both[1] if both else set(self._index.regexes.matching(self._event.message))
            self._regexes = found
        return found

    def _both(self) -> tuple[set[int], set[int]] | None:
        """Both sets' answers from the index's one-pass set, if it has one and the message
        is ASCII (then folding it is lowering it)."""
        both, message = self._index.both, self._event.message
        if both is None or not message.isascii():
            return None
        split = self._index.contains.size
        found = both.matching(message)
        self._contains = {rule for rule in found if rule < split}
        self._regexes = {rule - split for rule in found if rule >= split}
        return self._contains, self._regexes


def _residual(alert: Alert) -> Matcher | None:
    """What is left to check of the alert's rules once the index found it for an event
    (`MatchIndex.candidates`): filed by app or source, the event has that app and source
    and a level the alert takes (the lookup is by place and level), and the attribute
    value it is filed by if it has no message rule, so only the attribute rule of one with
    a message rule is left; filed by attribute, the event has that value, so only a level rule is
    left; filed by message rule, only a level rule. Message rules are tested through the
    RE2 sets, not here."""
    rules = Alert(match_level=alert.match_level)
    if (alert.match_app or alert.match_source) and not alert.match_message:
        return None
    if alert.match_app or alert.match_source:
        rules = Alert(
            match_attribute=alert.match_attribute,
            match_attribute_value=alert.match_attribute_value,
        )
    if not (rules.match_level is not None or rules.match_attribute):
        return None
    return compile_matcher(rules)
