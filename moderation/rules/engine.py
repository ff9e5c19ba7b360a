"""From a message to a verdict: match, weigh context, combine, decide.

1. normalise the message (``moderation.normalize``);
2. find every lexicon term in one automaton pass and every contact detail with the
   boundary detectors; the built-in lexicons and a policy's extra terms are separate
   automata so a room's terms never force a recompile of the shipped ones;
3. keep the longest of overlapping signals ("was suicidal" over "suicidal"), and drop the
   signals their context cancels (``moderation.context``);
4. evaluate ``yields`` rules to build derived kinds ("saved up" + "all my meds" ->
   ``preparation``), then the category rules, over this message and, for conversation
   rules, the member's previous messages;
5. the verdict's label is the gravest category that fired, its severity the highest of
   the rules of that label, escalated by one when a rule's ``escalate`` kinds (means,
   amounts, time, plans) are present anywhere in the conversation.

The analysis of a message (steps 1-4) is cached by text, so the previous messages that
the server passes as context cost a dictionary lookup, not a re-scan.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from moderation.boundary.contact import detect_contacts
from moderation.boundary.contact import may_hold_contact as _may_hold_contact
from moderation.context import MessageContext, suppression_order
from moderation.lexicon import MODIFIER_KINDS, Lexicon, Rule, canonical_term, load_lexicon
from moderation.normalize import Normalized
from moderation.policy import DEFAULT_POLICY, Policy
from moderation.rules.matcher import TermMatcher
from moderation.verdict import CRISIS_CATEGORIES, NONE_VERDICT, Label, Verdict

__all__ = ["MAX_CONTEXT", "Engine", "Hit", "default_engine"]

MAX_CONTEXT = 5


class Hit(NamedTuple):
    """A signal that survived its context: ``kind`` on words ``first..last``.

    A named tuple rather than a frozen dataclass: phase two creates one per surviving
    signal, and a tuple is built in C.
    """

    kind: str
    first: int
    last: int
    sentence: int
    clause: int
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Analysis:
    """The surviving signals of one message, before any category rule is applied."""

    hits: tuple[Hit, ...]
    kinds: frozenset[str] = frozenset()

    @classmethod
    def of(cls, hits: list[Hit]) -> Analysis:
        return cls(tuple(hits), frozenset(h.kind for h in hits))


class _Scan:
    """What phase one found in a message; phase two's result is kept on it.

    Phase one keeps only what deciding "could a rule fire?" needs: the kinds present and
    the contact details.  Word positions, the full list of matches and the context words
    are left to phase two, which most messages never reach.
    """

    __slots__ = ("analysis", "compiled", "detections", "kinds", "norm", "text")

    def __init__(self, text: str, compiled: _CompiledPolicy | None, norm: Normalized | None,
                 detections: Sequence[tuple[str, int, int]], kinds: frozenset[str]) -> None:
        self.text = text
        self.compiled = compiled
        self.norm = norm  # built in phase one only when the quick path could not be used
        self.detections = detections
        self.kinds = kinds  # kinds present before context is weighed, plus derivable ones
        self.analysis: Analysis | None = None if kinds else Analysis(())


_EMPTY_SCAN = _Scan("", None, None, (), frozenset())
_NOTHING = Analysis(())


@dataclass(frozen=True, slots=True)
class _AnalysisKinds:
    kinds: frozenset[str]


def _candidates(rules: Sequence[Rule], now: frozenset[str],
                before: Sequence[_Scan | _AnalysisKinds]) -> list[Rule]:
    """Rules whose kinds are all present: a necessary condition, checked with set operations.

    Signals are only ever removed by context, so a rule that cannot fire on the kinds
    found before weighing context cannot fire at all.
    """
    conversation = now.union(*(b.kinds for b in before)) if before else now
    out = []
    for rule in rules:
        if rule.scope == "conversation":
            if rule.kinds.isdisjoint(now) or not rule.all_kinds <= conversation:
                continue
            if rule.any and rule.any_kinds.isdisjoint(conversation):
                continue
        elif not rule.all_kinds <= now or (rule.any and rule.any_kinds.isdisjoint(now)):
            continue
        out.append(rule)
    return out


class _RuleIndex:
    """Category rules indexed by the kinds that can make them candidates.

    A sentence, clause or message rule needs its first ``all`` kind (or, without ``all``,
    one of its ``any`` kinds) in the message; a conversation rule needs one of its kinds
    in the message.  So only the rules listed under the kinds of a message are tested,
    in file order, instead of every rule for every message.
    """

    __slots__ = ("_by_kind", "_relevant", "rules")

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self._by_kind: dict[str, tuple[int, ...]] = {}
        by_kind: dict[str, list[int]] = {}
        for i, rule in enumerate(self.rules):
            keys = rule.kinds if rule.scope == "conversation" else (rule.all[:1] or rule.any)
            for kind in keys:
                by_kind.setdefault(kind, []).append(i)
        self._by_kind = {k: tuple(v) for k, v in by_kind.items()}
        self._relevant: dict[frozenset[str], tuple[Rule, ...]] = {}

    def relevant(self, now: frozenset[str]) -> tuple[Rule, ...]:
        """The rules that can fire on a message with kinds ``now``, whatever its context.

        Cached per set of kinds: chat lines carry a handful of recurring combinations
        ("you", "today", ...) that no rule can use, and those lines stop here without
        looking at their context.
        """
        found = self._relevant.get(now)
        if found is None:
            positions: set[int] = set()
            by_kind = self._by_kind
            for kind in now:
                listed = by_kind.get(kind)
                if listed:
                    positions.update(listed)
            found = tuple(rule for rule in (self.rules[i] for i in sorted(positions))
                          if rule.scope == "conversation" or _candidates((rule,), now, ()))
            if len(self._relevant) >= _KIND_SETS_LIMIT:
                self._relevant.clear()
            self._relevant[now] = found
        return found


_KIND_SETS_LIMIT = 4096  # bound of the caches keyed by a set of kinds


@dataclass(frozen=True, slots=True)
class _CompiledPolicy:
    matcher: TermMatcher
    rules: tuple[Rule, ...]
    allow_digits: frozenset[str]
    allow_text: tuple[str, ...]
    index: _RuleIndex


@dataclass(frozen=True, slots=True)
class _Fired:
    rule: Rule
    severity: int
    spans: tuple[tuple[int, int], ...]


class Engine:
    """The compiled lexicon plus the logic that applies it; one per process."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.matcher = TermMatcher(lexicon.terms, MODIFIER_KINDS)
        self._derive = tuple(r for r in lexicon.rules if r.yields)
        self._decide = tuple(r for r in lexicon.rules if r.category)
        self._standalone = frozenset(r.all[0] for r in self._decide if len(r.all) == 1 and not r.any)
        self._index = _RuleIndex(self._decide)
        self._weighing: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._kind_sets: dict[frozenset[str], frozenset[str]] = {}
        self._scan_cached = lru_cache(maxsize=4096)(self._scan)
        self._compile_policy = lru_cache(maxsize=256)(self._compile)

    # -- public ---------------------------------------------------------------------------

    def classify(self, text: str, policy: Policy | None = None, context: Sequence[str] = ()) -> Verdict:
        policy = policy or DEFAULT_POLICY
        scan = self._scan_cached(text, policy)
        if not scan.kinds:
            return NONE_VERDICT
        index = self._compile_policy(policy).index if policy.extra_terms else self._index
        relevant = index.relevant(scan.kinds)
        if not relevant:
            return NONE_VERDICT  # most lines: the kinds they carry can never complete a rule
        before = [self._scan_cached(t, policy) for t in context[-MAX_CONTEXT:]] if context else []
        candidates = _candidates(relevant, scan.kinds, before)
        if not candidates:
            return NONE_VERDICT  # the common case: no rule can fire, context is never weighed
        current = self._analysis(scan)
        # Previous messages count through conversation rules, and through escalation once
        # a rule has fired (see ``_fire``); one whose kinds (before context) hold none of
        # the kinds looked for is never analysed.
        wanted: set[str] = set()
        for rule in candidates:
            if rule.scope == "conversation":
                wanted.update(rule.kinds)
        previous = self._previous(before, wanted)
        fired = []
        for rule in _candidates(candidates, current.kinds, [_AnalysisKinds(a.kinds) for a in previous]):
            f = self._fire(rule, current, previous, before)
            if f is not None:
                fired.append(f)
        if not fired:
            return NONE_VERDICT
        crisis = [f for f in fired if f.rule.category in CRISIS_CATEGORIES]
        label = Label.CRISIS if crisis else Label.BOUNDARY
        ranked = sorted(fired, key=lambda f: (f.rule.category not in CRISIS_CATEGORIES, -f.severity))
        categories = tuple(dict.fromkeys(str(f.rule.category) for f in ranked))
        severity = max(f.severity for f in (crisis or fired))
        spans = _merge(s for f in ranked for s in f.spans)
        return Verdict(label, categories, tuple(f.rule.id for f in ranked), severity, spans)

    def analyze(self, text: str, policy: Policy | None = None) -> Analysis:
        """The surviving signals of ``text`` (cached); exposed for tests and tooling."""
        return self._analysis(self._scan_cached(text, policy or DEFAULT_POLICY))

    def cache_clear(self) -> None:
        self._scan_cached.cache_clear()

    # -- analysis -------------------------------------------------------------------------

    def _scan(self, text: str, policy: Policy) -> _Scan:
        """Phase one, for every message: the kinds of signal present. No context yet.

        Runs on the canonical text alone when the normaliser's quick path applies (no
        word positions, no match objects): a signal-only automaton gives the kinds, the
        contact pre-check rules out the detectors for most lines.  What phase two needs
        beyond that is rebuilt there, for the few messages where a rule could fire.
        """
        compiled = self._compile_policy(policy) if (policy.extra_terms or policy.allow) else None
        normalizer = self.lexicon.normalizer
        norm: Normalized | None = None
        quick = normalizer.quick(text)
        if quick is None:
            norm = normalizer.normalize(text)
            clean, canonical = norm.clean, norm.text
        else:
            clean, canonical = quick
        kinds = self.matcher.signal_kinds(canonical)
        if compiled is not None:
            kinds |= compiled.matcher.signal_kinds(canonical)
        detections = self._detections(clean, compiled) if _may_hold_contact(clean) else ()
        if not kinds and not detections:
            return _EMPTY_SCAN
        kinds.update(d[0] for d in detections)
        for rule in self._derive:
            if rule.all_kinds <= kinds and (not rule.any or not rule.any_kinds.isdisjoint(kinds)):
                kinds.add(str(rule.yields))
        return _Scan(text, compiled, norm, detections or (), self._interned(frozenset(kinds)))

    def _interned(self, kinds: frozenset[str]) -> frozenset[str]:
        """One shared object per distinct set of kinds.

        A few dozen combinations recur across all chat lines; sharing them keeps the
        scans in the cache from holding one more container each, which the garbage
        collector would otherwise walk again and again.
        """
        shared = self._kind_sets.setdefault(kinds, kinds)
        if len(self._kind_sets) > _KIND_SETS_LIMIT:
            self._kind_sets.clear()
        return shared

    def _analysis(self, scan: _Scan) -> Analysis:
        """Phase two, only when a rule could fire: weigh every signal against its context."""
        if scan.analysis is not None:
            return scan.analysis
        lex = self.lexicon
        norm = scan.norm
        if norm is None:
            norm = scan.norm = lex.normalizer.normalize(scan.text, positions=True)
        modifiers: dict[str, list[tuple[int, int]]] = {}
        found: list[tuple[str, int, int]] = []
        matchers = (self.matcher, scan.compiled.matcher) if scan.compiled else (self.matcher,)
        for matcher in matchers:
            for kinds, first, last in matcher.spans(norm.text, norm.starts):
                for kind in kinds:
                    if kind in MODIFIER_KINDS:
                        modifiers.setdefault(kind, []).append((first, last))
                    else:
                        found.append((kind, first, last))
        sentence = norm.sentence
        clause = norm.clause
        spans = norm.spans
        context = MessageContext(norm, modifiers)
        hits: list[Hit] = []
        raw = [r for r in found if sentence[r[1]] == sentence[r[2]]]
        for kind, first, last in _longest(raw, self._standalone):
            tense, suppressors = self._weighing.get(kind) or self._weigh(kind)
            if context.cancels(first, last, tense, suppressors):
                continue
            span = (spans[first][0], spans[last][1])
            hits.append(Hit(kind, first, last, sentence[first], clause[first], (span,)))
        for kind, start, end in scan.detections:
            if not norm.words:
                hits.append(Hit(kind, 0, 0, 0, 0, (norm.original_span(start, end),)))
                continue
            first = norm.word_of_clean(start)
            if any(a <= first <= b for a, b in context.idioms):
                continue  # an allowed term ("call 988", a room's own address)
            hits.append(Hit(kind, first, first, sentence[first], clause[first],
                            (norm.original_span(start, end),)))
        present = {h.kind for h in hits}
        for rule in self._derive:
            if rule.all_kinds <= present and (not rule.any or not rule.any_kinds.isdisjoint(present)):
                derived = _derive(rule, hits)
                hits.extend(derived)
                present.update(h.kind for h in derived)
        scan.analysis = Analysis.of(hits)
        return scan.analysis

    def _weigh(self, kind: str) -> tuple[str, tuple[str, ...]]:
        """A kind's tense and the contexts that cancel it, in the order they are tested."""
        spec = self.lexicon.spec(kind)
        found = self._weighing[kind] = (spec.tense, suppression_order(spec.suppressed_by))
        return found

    def _detections(self, clean: str, compiled: _CompiledPolicy | None) -> list[tuple[str, int, int]]:
        found = detect_contacts(clean, (), self.lexicon.normalizer.digit_words)
        out = []
        lex = self.lexicon
        for d in found:
            if compiled and (_digits(d.value) in compiled.allow_digits
                             or any(a in d.value for a in compiled.allow_text)):
                continue
            if d.kind == "phone" and d.value in lex.allowed_numbers:
                continue
            if d.kind.endswith("url") and _domain_allowed(d.value, lex.allowed_domains):
                continue
            out.append((d.kind, d.start, d.end))
        return out

    # -- rules ----------------------------------------------------------------------------

    def _previous(self, before: Sequence[_Scan], kinds: Collection[str]) -> list[Analysis]:
        """Analyses of the previous messages, as far as hits of ``kinds`` are concerned.

        A message whose kinds before context include none of ``kinds`` can hold no such
        hit, so it stands as an empty analysis instead of being weighed.
        """
        return [self._analysis(s) if not s.kinds.isdisjoint(kinds) else _NOTHING for s in before]

    def _fire(self, rule: Rule, current: Analysis, previous: list[Analysis],
              before: Sequence[_Scan]) -> _Fired | None:
        if rule.scope == "conversation":
            here = [h for h in current.hits if h.kind in rule.kinds]
            if not here:
                return None
            pool = [h for h in current.hits if h.kind in rule.kinds or h.kind in rule.unless]
            for a in previous:
                pool.extend(h for h in a.hits if h.kind in rule.kinds)
            used = _satisfies(rule, pool)
            if used is None:
                return None
            spans = tuple(s for h in here for s in h.spans)
        else:
            used = None
            for unit in _units(rule, current.hits):
                used = _satisfies(rule, unit)
                if used is not None:
                    break
            if used is None:
                return None
            spans = tuple(s for h in used for s in h.spans)
        severity = rule.severity
        if rule.escalate and self._escalates(rule.escalate, current, before):
            severity = min(3, severity + 1)
        return _Fired(rule, severity, spans)

    def _escalates(self, kinds: tuple[str, ...], current: Analysis, before: Sequence[_Scan]) -> bool:
        """Whether a hit of ``kinds`` survives in this message or in a previous one.

        The previous messages are analysed only when this one has none: most escalations
        (a time, a means) sit in the message that fired.
        """
        wanted = frozenset(kinds)
        if any(h.kind in wanted for h in current.hits):
            return True
        return any(h.kind in wanted for a in self._previous(before, wanted) for h in a.hits)

    # -- policy ---------------------------------------------------------------------------

    def _compile(self, policy: Policy) -> _CompiledPolicy:
        normalizer = self.lexicon.normalizer
        terms: dict[str, set[str]] = {}
        rules: list[Rule] = []
        for category, extra in policy.extra_terms:
            kind = f"policy_{category}"
            for term in extra:
                canonical = canonical_term(normalizer, term)
                if canonical:
                    terms.setdefault(canonical, set()).add(kind)
            severity = 2 if category in CRISIS_CATEGORIES else 1
            rules.append(Rule(id=f"policy.{category}", all=(kind,), scope="sentence", category=category,
                              severity=severity))
        for term in policy.allow:
            canonical = canonical_term(normalizer, term)
            if canonical:
                terms.setdefault(canonical, set()).add("idiom")
        matcher = TermMatcher({t: tuple(sorted(k)) for t, k in terms.items()}, MODIFIER_KINDS)
        allow_digits = frozenset(d for a in policy.allow if len(d := _digits(a)) >= 3)
        allow_text = tuple(a.lower() for a in policy.allow if not _is_number(a))
        return _CompiledPolicy(matcher, tuple(rules), allow_digits, allow_text,
                               _RuleIndex(self._decide + tuple(rules)))


def _domain_allowed(url: str, domains: tuple[str, ...]) -> bool:
    host = url.split("://", 1)[-1].split("/", 1)[0].removeprefix("www.")
    return any(host == d or host.endswith("." + d) for d in domains)


def _is_number(value: str) -> bool:
    return value.replace("-", "").replace(" ", "").replace("+", "").isdigit()


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def _longest(raw: list[tuple[str, int, int]], standalone: frozenset[str]) -> list[tuple[str, int, int]]:
    """Drop a standalone signal strictly inside a longer one.

    "suicidal" inside "was suicidal", "kill myself" inside "tried to kill myself": the
    longer reading wins.  Signals that only count in combination ("dm me" inside "dm me
    for") are kept, since the longer term does not replace their meaning.
    """
    if len(raw) < 2:
        return raw
    out = []
    for kind, a, b in raw:
        inside = kind in standalone and any(
            c <= a and b <= d and (d - c) > (b - a) for _, c, d in raw)
        if not inside:
            out.append((kind, a, b))
    return list(dict.fromkeys(out))


def _units(rule: Rule, hits: Iterable[Hit]) -> list[list[Hit]]:
    relevant = [h for h in hits if h.kind in rule.kinds or h.kind in rule.unless]
    if rule.scope == "message":
        return [relevant]
    groups: dict[int, list[Hit]] = {}
    for h in relevant:
        key = h.clause if rule.scope == "clause" else h.sentence
        groups.setdefault(key, []).append(h)
    return list(groups.values())


def _satisfies(rule: Rule, unit: list[Hit]) -> list[Hit] | None:
    kinds = {h.kind for h in unit}
    if not all(k in kinds for k in rule.all):
        return None
    if rule.any and not any(k in kinds for k in rule.any):
        return None
    if rule.unless and any(k in kinds for k in rule.unless):
        return None
    return [h for h in unit if h.kind in rule.kinds]


def _derive(rule: Rule, hits: list[Hit]) -> list[Hit]:
    out = []
    for unit in _units(rule, hits):
        used = _satisfies(rule, unit)
        if used:
            first = min(h.first for h in used)
            last = max(h.last for h in used)
            spans = tuple(s for h in used for s in h.spans)
            out.append(Hit(str(rule.yields), first, last, used[0].sentence, used[0].clause, spans))
    return out


def _merge(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)


@lru_cache(maxsize=1)
def default_engine() -> Engine:
    """The engine over the shipped lexicons, compiled on first use."""
    return Engine(load_lexicon())
