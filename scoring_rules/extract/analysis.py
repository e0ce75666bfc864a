"""Sentence analysis: what threat, where, how likely, when, aimed at whom.

Each sentence yields one ``Finding`` per threat category whose words it contains. A finding keeps
the estimative words that govern it, the regions it points at (with weights), its time frame and its
targets. ``scoring_rules.extract.drafts`` merges findings into draft threats.

Likelihood: the estimative expression nearest before the category's word governs it (one after it
is taken when none comes before). Mapping and negation rules are documented in the vocabulary file.
Regions: places in the sentence weighted by role (location 1, actor 0.5) and by distance to the
category's word; a sentence without places takes the places of the sentences before it in the same
section, else the country the brief talks about most. Places listed together share one score; a
partner, goal, border, flag, detour or a country in a water's name is no place of the threat
(``scoring_rules.extract.places``); a threat to shipping with no place of its own is in the waters
named before it, and attacks whose place is a sea zone are drafted as shipping disruption.

Roles: every sentence is a judgement, an actor's words (whose estimative words are not the
author's), guidance, or background (reported events); a threat word that is the impact of
something else, unweighed, is a consequence. Only judgements open drafts. Weapons named as the
means of another category's threat, and crime words the brief lists without weighing them, make
no finding. A judgement that a threat is unlikely, or beyond an actor's reach, at named places
is *limited*: those places are excluded from the category's likelier drafts. Time frames tied to
the calendar ("by year-end") count from the brief's date when it is given.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from scoring_rules.extract.document import Document, Sentence
from scoring_rules.extract.places import Mention, PlaceIndex, region_country, region_family
from scoring_rules.extract.text import (
    Match,
    PhraseMatcher,
    Token,
    fold,
    lemma,
    phrase_words,
    tokenize,
)
from scoring_rules.extract.vocabulary import Vocabulary
from scoring_rules.threats import NOT_ASSESSED, Horizon

INVERT = {
    "likely": "unlikely",
    "unlikely": "likely",
    "highly_likely": "highly_unlikely",
    "highly_unlikely": "highly_likely",
    "almost_certain": "remote_chance",
    "remote_chance": "almost_certain",
}
NEGATE = {
    "unlikely": "realistic_possibility",
    "highly_unlikely": "realistic_possibility",
    "remote_chance": "realistic_possibility",
}
_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "eighteen": 18,
    "twenty": 20,
    "a": 1,
    "few": 3,
    "several": 4,
}
_SPAN = re.compile(
    r"\b(?:next|coming|following|within(?:\s+the)?(?:\s+next)?|over\s+the\s+(?:next|coming))\s+"
    r"(\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|eighteen|twenty)"
    r"\s+(day|week|month|year)s?\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Estimate:
    term: str  # a yardstick term, or not_assessed for a hedge
    first: int  # token indices
    last: int
    start: int  # character offsets (including a negation word before it)
    end: int
    weak: bool = False
    hedge: bool = False
    limiting: bool = False  # "unable to", "lacks the capability to"
    subordinate: bool = False  # in a clause of its own before the main one ("as X is expected to")


LOW_TERMS = frozenset({"unlikely", "highly_unlikely", "remote_chance"})
ROLES = ("judgement", "quoted_actor", "guidance", "background", "consequence")


@dataclass(frozen=True)
class TimeFrame:
    horizon: Horizon
    words: str
    start: int


@dataclass
class SentenceInfo:
    sentence: Sentence
    tokens: list[Token]
    mentions: list[Mention]
    triggers: dict[str, list[Match[str]]]
    estimates: list[Estimate]
    time: TimeFrame | None
    targets: list[str]
    continuation: bool
    role: str = "judgement"  # one of ROLES (consequence is decided per finding)
    sentence_text: str = ""  # the document text (offsets of tokens index into it)


@dataclass
class Finding:
    category: str
    sentence: Sentence
    text: str  # the sentence as written
    trigger_words: list[str]
    term: str
    words: str  # the brief's estimative words, or the vocabulary's not-assessed words
    estimated: bool  # the brief used an estimative word (yardstick term or hedge)
    inverted: bool
    horizon: Horizon | None
    horizon_words: str
    horizon_source: str  # "sentence", "heading" or ""
    regions: list[tuple[str, float]]
    region_inferred: bool
    targets: list[str]
    key_section: bool
    position: int = field(default=0)
    role: str = "judgement"  # judgement, quoted_actor, guidance, background or consequence
    limited: bool = False  # judged unlikely or beyond reach: its places are excluded elsewhere
    excludes: list[str] = field(default_factory=list)  # the places it takes out of likelier drafts
    recategorised_from: str = ""  # an attack at sea drafted as shipping disruption
    names_world: bool = False  # the sentence places the threat worldwide ("globally")
    analytic_confidence: str = ""  # the confidence the sentence states ("with high confidence")

    @property
    def assessed(self) -> bool:
        return self.term != NOT_ASSESSED

    @property
    def judged(self) -> bool:
        """The brief's own judgement (not background, guidance, an actor's words or an impact)."""
        return self.role == "judgement"


@dataclass
class Analysis:
    document: Document
    findings: list[Finding]
    main_country: str
    sentences: list[SentenceInfo]


class Analyzer:
    def __init__(self, vocab: Vocabulary, places: PlaceIndex | None = None) -> None:
        self.vocab = vocab
        self.places = places or PlaceIndex(vocab)
        self.triggers: PhraseMatcher[str] = PhraseMatcher(use_lemma=True)
        self.not_triggers: PhraseMatcher[str] = PhraseMatcher(use_lemma=True)
        self.not_triggers.add_all(vocab.not_triggers, "")
        self.set_aside: PhraseMatcher[str] = PhraseMatcher(use_lemma=False)
        self.set_aside.add_all(vocab.likelihood.set_aside, "")
        for cat, words in vocab.categories.items():
            self.triggers.add_all(words.triggers, cat)
        lk = vocab.likelihood
        self.estimates: PhraseMatcher[tuple[str, bool]] = PhraseMatcher(use_lemma=False)
        for term, phrases in lk.terms.items():
            self.estimates.add_all(phrases, (term, False))
        self.estimates.add_all(lk.hedges, (NOT_ASSESSED, True))
        self.weak = {tuple(fold(w) for w in phrase_words(p)) for p in lk.weak}
        self.negations = [tuple(fold(w) for w in phrase_words(p)) for p in lk.negations]
        self.avoidance = [_stems(p) for p in lk.avoidance]
        self.subordinators = [tuple(fold(w) for w in phrase_words(p)) for p in lk.subordinate]
        self.explains = [_words(p) for p in lk.explains]
        self.choice = [_words(p) for p in lk.choice]
        self.horizons: PhraseMatcher[tuple[float, float]] = PhraseMatcher(use_lemma=False)
        for h in vocab.horizons.phrases:
            self.horizons.add_all(h.words, (h.from_months, h.to_months))
        self.continuation = [_stems(p) for p in vocab.horizons.continuation]
        self.affiliations: PhraseMatcher[str] = PhraseMatcher(use_lemma=True)
        for aff, aff_words in vocab.affiliations.items():
            self.affiliations.add_all(aff_words, aff)
        self.cue_before = {lemma(fold(w)) for w in vocab.target_cues.before}
        self.cue_after = {lemma(fold(w)) for w in vocab.target_cues.after}
        self.key_sections = [fold(k) for k in vocab.key_sections]
        self.object_cues = {fold(w) for w in vocab.object_cues}
        self.limiting: PhraseMatcher[str] = PhraseMatcher(use_lemma=False)
        self.limiting.add_all(vocab.limiting.phrases, vocab.limiting.term)
        self.year_end: PhraseMatcher[str] = PhraseMatcher(use_lemma=False)
        self.year_end.add_all(vocab.horizons.year_end, "")
        self.until: PhraseMatcher[str] = PhraseMatcher(use_lemma=False)
        self.until.add_all(vocab.horizons.until, "")
        self.validity: PhraseMatcher[str] = PhraseMatcher(use_lemma=False)
        self.validity.add_all(vocab.horizons.validity, "")
        self.stated_validity: TimeFrame | None = None
        self.events = sorted(
            {tuple(fold(w) for w in phrase_words(p)) for p in vocab.horizons.events}, key=len
        )
        self.event_dates: dict[tuple[str, ...], dt.date] = {}
        roles = vocab.roles
        self.role_phrases = {
            name: [_words(p) for p in getattr(roles, name)]
            for name in ("judgement", "quoted_actor", "guidance", "background")
        }
        self.dated_openers = {fold(w) for w in roles.dated_openers}
        self.reasons = [_words(p) for p in roles.reason]
        self.absent = [_words(p) for p in roles.absent]
        self.consequence = [_words(p) for p in roles.consequence]
        self.reported_by = {fold(w) for w in roles.reported_by}
        self.means = {tuple(lemma(w) for w in _words(p)) for p in vocab.means}
        self.means_of = set(vocab.means_of)
        self.place_uses = [_words(p) for p in vocab.place_uses]
        self.place_words = {
            cat: {tuple(lemma(w) for w in _words(p)) for p in words.place_words}
            for cat, words in vocab.categories.items()
        }
        self.weak_triggers = {
            cat: {tuple(lemma(w) for w in _words(p)) for p in words.weak_triggers}
            for cat, words in vocab.categories.items()
        }
        self.analytic: PhraseMatcher[str] = PhraseMatcher(use_lemma=False)
        for level, phrases in vocab.analytic_confidence.items():
            self.analytic.add_all(phrases, level)
        self.at_sea = set(vocab.at_sea.categories)
        self.at_sea_becomes = vocab.at_sea.becomes
        self.date: dt.date | None = None

    # --- document ---------------------------------------------------------------------------------

    def analyse(self, doc: Document, date: dt.date | None = None) -> Analysis:
        """Findings of a document; ``date`` (the brief's) dates "by year-end" and the like."""
        self.date = date
        base = [tokenize(doc.text[s.start : s.end], s.start) for s in doc.sentences]
        self.event_dates = self._event_dates(doc, base)
        self.stated_validity = self._stated_validity(doc, base)
        countries = {
            m.place.country
            for toks in base
            for m in self.places.mentions(toks)
            if m.place.country is not None
        }
        places = self.places.for_countries(sorted(countries))
        quoted = quotations(doc.text)
        infos = [
            self._sentence(doc, s, toks, places)
            for s, toks in zip(doc.sentences, base, strict=True)
        ]
        main = _main_country(infos)
        headings = {
            sec.id: self._time(doc.text, tokenize(sec.heading), sec.heading) for sec in doc.sections
        }
        key = {
            sec.id for sec in doc.sections if any(k in fold(sec.heading) for k in self.key_sections)
        }

        findings: list[Finding] = []
        anywhere: dict[str, list[str]] = {}  # section -> places of its last sentence naming any
        where: dict[tuple[str, int], list[str]] = {}  # paragraph -> its last locations
        where_sec: dict[str, list[str]] = {}  # section -> its last locations
        last_targets: dict[tuple[str, int], list[str]] = {}
        topics: dict[tuple[str, int], set[str]] = {}  # paragraph -> categories it is about
        seas: list[str] = []
        said: dict[tuple[str, int], list[str]] = {}  # paragraph -> categories of its findings
        for info in infos:
            s = info.sentence
            para = (s.section, s.paragraph)
            ctx = Context(
                main=main,
                paragraph=where.get(para, []),
                section=where_sec.get(s.section, []),
                anywhere=anywhere.get(s.section, []),
                seas=list(seas),
            )
            here = {
                c
                for c, ms in info.triggers.items()
                if c in self.means_of and not self._means(info.tokens, ms)
            }
            about = topics.setdefault(para, set())
            limited_here = False
            triggers = dict(info.triggers)
            low = [e for e in info.estimates if e.limiting or (e.term in LOW_TERMS and not e.hedge)]
            if not triggers and low and _named(info, locations_only=False):
                # "They remain unable to threaten Nampula": the paragraph's threats, limited here
                e = low[0]
                for category in said.get(para, []):
                    triggers[category] = [Match(e.first, e.last, e.start, e.end, category)]
            for category, matches in triggers.items():
                if self._means(info.tokens, matches) and (here | about) - {category}:
                    continue  # "missiles, rockets and mines" against vessels: the means of it
                if self._reason_only(info, category, triggers):
                    continue  # "due to the security situation ..., a threat to aviation"
                if self._under_absent(info, category, triggers):
                    continue  # "no known terrorist threats to shipping": judged absent, not drafted
                if self._weak_only(info, category, matches):
                    continue  # "due to crime and kidnapping": listed, not weighed
                finding = self._finding(
                    doc,
                    info,
                    category,
                    matches,
                    ctx,
                    headings.get(s.section),
                    s.section in key,
                    last_targets.get(para, []),
                )
                if finding.role == "judgement" and _inside_any(matches, quoted):
                    # words another document is quoted as saying ("the advisory states in part
                    # '... kidnapping incidents ...'"): that publisher's report, not the brief's
                    # judgement; it joins a draft of the same threat as evidence only
                    finding.role = "quoted_actor"
                    if finding.assessed:
                        finding.term = NOT_ASSESSED  # the quoted party's term, not the brief's
                limited_here = limited_here or finding.limited
                findings.append(finding)
                if category not in said.setdefault(para, []):
                    said[para].append(category)
            about |= here
            if limited_here:
                continue  # the places a limiting judgement excludes are no context for others
            named = _named(info, locations_only=False)
            if named:
                anywhere[s.section] = named
            located = _named(info, locations_only=True)
            seas += [r for r in located if r.startswith("sea.") and r not in seas]
            if located:
                where[para] = where_sec[s.section] = located
            if info.targets:
                last_targets[para] = info.targets
        _targets_named_later(findings, infos, self.vocab)
        _unplaced_asides(findings)
        return Analysis(doc, findings, main, infos)

    def _sentence(
        self, doc: Document, s: Sentence, tokens: list[Token], places: PlaceIndex
    ) -> SentenceInfo:
        mentions = places.mentions(tokens)
        taken = [(m.start, m.end) for m in mentions]
        taken += [(m.start, m.end) for m in self.not_triggers.find(tokens)]
        for m in self.set_aside.find(tokens):
            stop = _CLAUSE_RE.search(doc.text, m.end, s.end)
            taken.append((m.start, stop.start() if stop else s.end))
        triggers: dict[str, list[Match[str]]] = {}
        for m in self.triggers.find(tokens):
            if any(a < m.end and m.start < b for a, b in taken):
                continue  # part of a place name: "Baghdad International Airport"
            if self._place_use(tokens, m):
                continue  # "after leaving the airport": where, not what
            triggers.setdefault(m.payload, []).append(m)
        estimates = [
            replace(e, subordinate=True) if self._subordinate(doc.text, tokens, e) else e
            for e in self._estimates(tokens)
        ]
        return SentenceInfo(
            sentence=s,
            tokens=tokens,
            mentions=mentions,
            triggers=triggers,
            estimates=estimates,
            time=self._time(doc.text, tokens, None),
            targets=self._targets(tokens),
            continuation=any(_has_stems(tokens, st) for st in self.continuation),
            role=self._role(tokens, estimates),
            sentence_text=doc.text,
        )

    # --- sentence roles ---------------------------------------------------------------------------

    def _role(self, tokens: Sequence[Token], estimates: Sequence[Estimate]) -> str:
        """What the sentence does: the brief's judgement, an actor's words, advice, or history."""
        words = [t.lower for t in tokens if t.lower not in _FILLER_ADVERBS]  # "have also been"
        if _has_phrase(words, self.role_phrases["judgement"]):
            return "judgement"
        if _has_phrase(words, self.role_phrases["quoted_actor"]) or self._reported_by(tokens):
            return "quoted_actor"
        if _has_phrase(words, self.role_phrases["guidance"]):
            return "guidance"
        if any(not e.hedge and not e.weak for e in estimates):
            return "judgement"  # a yardstick term: "highly likely to expand, as ... last year"
        if any(
            w in self.dated_openers
            and any(x in _MONTHS or _YEAR.match(x) for x in words[k + 1 : k + 6])
            for k, w in enumerate(words[:2])  # "On 15 September ...", "Issue: On March 15th ..."
        ) or _has_phrase(words, self.role_phrases["background"]):
            return "background"
        if any(
            w in ("have", "has")
            and _PARTICIPLE.match(words[k + 1] if words[k + 1] != "also" else words[k + 2])
            for k, w in enumerate(words[:-2])
        ):
            return "background"  # "have attempted to divert", "has fired on": reported events
        return "judgement"

    def _impact_start(self, info: SentenceInfo, matches: Sequence[Match[str]]) -> int:
        """Token index from which the sentence speaks of an impact: the end of the first
        consequence phrase after every threat word ("... will disrupt copper exports, affecting
        global markets"); past the sentence's end where there is none."""
        words = [t.lower for t in info.tokens]
        after = max(m.last for m in matches) + 1
        best = len(words)
        for ph in self.consequence:
            at = _find_phrase(words[after:], ph)
            if at is not None:
                best = min(best, after + at + len(ph))
        return best

    def _reported_by(self, tokens: Sequence[Token]) -> bool:
        """A named body is the subject of a reporting verb: "The IMB reported ...", "the
        International Maritime Bureau reports ..." (not "there are reports", not "we")."""
        for k in range(1, len(tokens)):
            if tokens[k].lower not in self.reported_by:
                continue
            name = tokens[k - 1]
            if name.lower in _FILLER_ADVERBS and k >= 2:
                name = tokens[k - 2]  # "the IMB also reported"
            if name.text.isupper() and len(name.text) >= 2 and name.text.isalpha():
                return True  # an acronym: IMB, MARAD, ReCAAP-like names in capitals
            if name.capitalised and name.index > 0 and name.lower not in _NOT_NAMES:
                return True  # "... Maritime Bureau reports"
        return False

    def _consequence(self, doc: Document, tokens: Sequence[Token], m: Match[str]) -> bool:
        """The threat word is the impact of something else: "can cause the shutdown of"."""
        lo = max(0, m.first - 8)
        words = [t.lower for t in tokens[lo : m.first]]
        for ph in self.consequence:
            at = _find_phrase(words, ph)
            if at is not None and not _CLAUSE.search(doc.text, tokens[lo + at].end, m.start):
                return True
        return False

    def _reason_spans(self, info: SentenceInfo) -> list[tuple[int, int]]:
        """Token ranges of the sentence's reason clauses ("due to ..." up to the clause's end)."""
        words = [t.lower for t in info.tokens]
        spans = []
        for ph in self.reasons:
            n = len(ph)
            for i in range(len(words) - n + 1):
                if tuple(words[i : i + n]) != ph:
                    continue
                j = i + n
                while j < len(info.tokens) and not _CLAUSE.search(
                    info.sentence_text, info.tokens[j - 1].end, info.tokens[j].start
                ):
                    j += 1
                spans.append((i + n, j))
        return spans

    def _reason_only(
        self, info: SentenceInfo, category: str, triggers: dict[str, list[Match[str]]]
    ) -> bool:
        """Every word of ``category`` is in a reason clause, and another category's threat is
        stated outside that clause or before them in it: they give that threat's reason."""
        for lo, hi in self._reason_spans(info):
            mine = triggers[category]
            if not all(lo <= m.first < hi for m in mine):
                continue
            first = min(m.first for m in mine)
            for other, ms in triggers.items():
                if other != category and any(
                    not (lo <= m.first < hi) or m.first < first for m in ms
                ):
                    return True
        return False

    def _absent(self, info: SentenceInfo, matches: Sequence[Match[str]]) -> tuple[int, int] | None:
        """Character span of "no ... <threat>" ("no specific, credible terrorist threats")."""
        for m in matches:
            lo = max(0, m.first - 6)
            words = [t.lower for t in info.tokens[lo : m.first]]
            for ph in self.absent:
                at = _find_phrase(words, ph)
                if at is None or len(words) - at - len(ph) > 4:
                    continue
                start = info.tokens[lo + at]
                if re.search(r"[;:.()]", info.sentence_text[start.end : m.start]):
                    continue
                return start.start, m.end
        return None

    def _under_absent(
        self, info: SentenceInfo, category: str, triggers: dict[str, list[Match[str]]]
    ) -> bool:
        """Another category is judged absent before every word of ``category`` in the same
        clause ("no known terrorist threats to shipping"): the absence covers them too."""
        first = min(m.start for m in triggers[category])
        for other, ms in triggers.items():
            if other == category:
                continue
            span = self._absent(info, ms)
            if (
                span is not None
                and span[1] <= first
                and not _CLAUSE.search(info.sentence_text, span[1], first)
            ):
                return True
        return False

    def _means(self, tokens: Sequence[Token], matches: Sequence[Match[str]]) -> bool:
        """Only weapon words: the means of an attack, not a threat named for itself."""
        return bool(self.means) and all(
            tuple(t.lemma for t in tokens[m.first : m.last + 1]) in self.means for m in matches
        )

    def _weak_only(self, info: SentenceInfo, category: str, matches: Sequence[Match[str]]) -> bool:
        weak = self.weak_triggers.get(category)
        if not weak or any(
            tuple(t.lemma for t in info.tokens[m.first : m.last + 1]) not in weak for m in matches
        ):
            return False
        e = self._choose(info.sentence_text, info.estimates, matches)
        return e is None or e.hedge

    def _place_use(self, tokens: Sequence[Token], m: Match[str]) -> bool:
        words = self.place_words.get(m.payload)
        if not words:
            return False
        if tuple(t.lemma for t in tokens[m.first : m.last + 1]) not in words:
            return False
        i = m.first - 1
        while i >= 0 and m.first - i <= 6:
            t = tokens[i]
            before = [x.lower for x in tokens[max(0, i - 2) : i + 1]]
            if any(tuple(before[len(before) - len(ph) :]) == ph for ph in self.place_uses if ph):
                return True
            if not (t.capitalised or t.lower in _PLACE_FILLERS):
                return False
            i -= 1
        return False

    # --- likelihood -------------------------------------------------------------------------------

    def _estimates(self, tokens: Sequence[Token]) -> list[Estimate]:
        out: list[Estimate] = []
        for m in self.estimates.find(tokens):
            term, hedge = m.payload
            words = tuple(t.lower for t in tokens[m.first : m.last + 1])
            start = m.start
            if not hedge:
                neg = self._negation_before(tokens, m.first)
                if neg is not None:
                    term = NEGATE.get(term, "unlikely")
                    start = tokens[neg].start
            weak = words in self.weak
            if not hedge and self._governs_nothing(tokens, m.last, weak):
                continue  # "likely reflects", "will consider": not a judgement on the threat
            out.append(Estimate(term, m.first, m.last, start, m.end, weak=weak, hedge=hedge))
        for lm in self.limiting.find(tokens):
            if any(e.first <= lm.last and lm.first <= e.last for e in out):
                continue
            out.append(Estimate(lm.payload, lm.first, lm.last, lm.start, lm.end, limiting=True))
        return sorted(out, key=lambda e: e.first)

    def _governs_nothing(self, tokens: Sequence[Token], last: int, weak: bool) -> bool:
        """The term weighs an explanation ("piracy likely reflects the region's prominence",
        "is probably due to") or, for a weak "will", the actor's choice ("terrorists will
        consider a wide selection of targets"): it is no judgement that the threat happens."""
        after = [t.lower for t in tokens[last + 1 : last + 6] if t.lower not in _SOFTENERS]
        if any(tuple(after[: len(ph)]) == ph for ph in self.explains if ph):
            return True
        return weak and any(tuple(after[: len(ph)]) == ph for ph in self.choice if ph)

    def _subordinate(self, text: str, tokens: Sequence[Token], e: Estimate) -> bool:
        """The term sits in a clause opened by "as", "because", "while" ... that a main clause
        follows: it weighs that clause's verb ("as the vote is expected to take place, ...")."""
        i = e.first
        while i > 0 and not _CLAUSE.search(text, tokens[i - 1].end, tokens[i].start):
            i -= 1
        opener = tuple(t.lower for t in tokens[i : i + 3])
        if not any(opener[: len(ph)] == ph for ph in self.subordinators if ph):
            return False
        j = e.last
        while j + 1 < len(tokens) and not _CLAUSE.search(text, tokens[j].end, tokens[j + 1].start):
            j += 1
        return j + 1 < len(tokens)  # a main clause comes after this one

    def _negation_before(self, tokens: Sequence[Token], first: int) -> int | None:
        for neg in self.negations:
            n = len(neg)
            for gap in (0, 1):  # "not likely", "not very likely"
                lo = first - n - gap
                if lo >= 0 and tuple(t.lower for t in tokens[lo : lo + n]) == neg:
                    return lo
        return None

    def _choose(
        self, text: str, estimates: Sequence[Estimate], triggers: Sequence[Match[str]]
    ) -> Estimate | None:
        """The estimative expression that governs the threat words: the nearest one before them;
        one after them only in the same clause and close by ("Iraqi militias may compete")."""
        best: tuple[float, Estimate] | None = None
        for e in estimates:
            costs = []
            for t in triggers:
                if e.first <= t.first <= e.last:
                    costs.append(0.0)  # the estimate stands for the threat ("unable to threaten")
                elif e.subordinate and e.last < t.first and _CLAUSE.search(text, e.end, t.start):
                    continue  # "as the election is anticipated to occur, protests may ...": its own
                elif e.last < t.first:
                    costs.append(float(t.first - e.last))
                elif (
                    e.first > t.last
                    and e.first - t.last <= 15
                    and not _CLAUSE.search_past_places(text, t.end, e.start)
                ):
                    costs.append((e.first - t.last) * 2.0 + 3)
                elif (
                    e.first > t.last
                    and e.first - t.last <= 25
                    and _coordinated(text, t.end, e.start)
                ):
                    # "extremists have made advances in Syria, and will probably continue to do
                    # so": the same subject's next verb, weighed
                    costs.append((e.first - t.last) * 2.0 + 3)
            if not costs:
                continue
            cost = min(costs)
            if e.weak:
                cost += 4
            if best is None or cost < best[0]:
                best = (cost, e)
        return best[1] if best else None

    def _inverted(
        self, tokens: Sequence[Token], e: Estimate, triggers: Sequence[Match[str]]
    ) -> str:
        after = [t for t in triggers if t.first > e.last]
        if not after:
            return ""
        between = tokens[e.last + 1 : after[0].first]
        for stems in self.avoidance:
            hit = _find_stems(between, stems)
            if hit is not None:
                return " ".join(t.text for t in between[hit : hit + len(stems)])
        return ""

    # --- time -------------------------------------------------------------------------------------

    def _time(self, text: str, tokens: Sequence[Token], own: str | None) -> TimeFrame | None:
        """The first time frame in a sentence (offsets in ``text``) or a heading (``own``)."""
        source = own if own is not None else text
        found: list[TimeFrame] = []
        for m in self.horizons.find(tokens):
            lo, hi = m.payload
            found.append(
                TimeFrame(Horizon(from_months=lo, to_months=hi), source[m.start : m.end], m.start)
            )
        if tokens:
            base = tokens[0].start if own is None else 0
            segment = source[base : tokens[-1].end]
            for rm in _SPAN.finditer(segment):
                n_word = rm.group(1).lower()
                n = float(n_word) if n_word.isdigit() else float(_NUMBERS.get(n_word, 1))
                unit = self.vocab.horizons.units.get(rm.group(2).lower(), 1.0)
                months = max(0.25, round(n * unit, 2))
                found.append(
                    TimeFrame(
                        Horizon(from_months=0, to_months=months), rm.group(0), rm.start() + base
                    )
                )
        if self.date is not None and tokens:
            found += self._dated(source, tokens, own is None)
            for ym in self.year_end.find(tokens):
                year_end = dt.date(self.date.year, 12, 31)
                months = max(0.25, round((year_end - self.date).days / _DAYS_PER_MONTH, 1))
                found.append(
                    TimeFrame(
                        Horizon(from_months=0, to_months=months),
                        source[ym.start : ym.end],
                        ym.start,
                    )
                )
        return min(found, key=lambda f: f.start) if found else None

    def _event_dates(
        self, doc: Document, base: Sequence[Sequence[Token]]
    ) -> dict[tuple[str, ...], dt.date]:
        """Events the brief dates after its own date: "the election ... in January 2024"."""
        out: dict[tuple[str, ...], dt.date] = {}
        if self.date is None:
            return out
        for s, toks in zip(doc.sentences, base, strict=True):
            words = [t.lower for t in toks]
            named = [ev for ev in self.events if ev and _find_phrase(words, ev) is not None]
            if not named:
                continue
            dates = self._future_dates(doc.text[s.start : s.end], True)
            if not dates:
                continue
            first = min(d for _pos, d, _led in dates)
            for ev in named:
                out[ev] = min(out.get(ev, first), first)
        return out

    def _lead(self, tokens: Sequence[Token]) -> list[Match[str]]:
        """The words that point at a date ("until", "ahead of" ...); "up to" before a number is a
        quantity ("up to 450 personnel"), not one of them."""
        return [
            m
            for m in self.until.find(tokens)
            if not (m.last + 1 < len(tokens) and tokens[m.last + 1].lower[:1].isdigit())
            or _YEAR.match(tokens[m.last + 1].lower) is not None  # "through 2025"
            or _DATE.match(" ".join(t.text for t in tokens[m.last + 1 : m.last + 4])) is not None
        ]

    def _all_dates(
        self, text: str, forward: bool, lead_ends: Sequence[int] = ()
    ) -> list[tuple[int, dt.date, bool]]:
        """Dates in ``text`` as (offset, last day meant, pointed at by "until" ...). A date
        without a year is read against the brief's date (``yearless_date``): the next such day
        where it looks forward (the sentence names an event, or "until", "ahead of" ... stands
        right before the date: ``lead_ends`` are where those words end), else the one nearest the
        brief's date, which is often a past one ("the September 11 attack"). Month names may be
        abbreviated or capitals ("19 FEB 2026"); an abbreviation needs a day or a year. A year
        alone ("scheduled for 2014", "through the end of 2026") is its last day, where the
        sentence looks forward or a lead word or "end of" points at it."""
        assert self.date is not None
        out: list[tuple[int, dt.date, bool]] = []
        spans: list[tuple[int, int]] = []
        for m in _DATE.finditer(text):
            month_s = m.group("month")
            if month_s.islower():
                continue  # "may" the verb
            day_s = m.group("day") or m.group("day2")
            year_s = m.group("year")
            before = text[max(0, m.start() - 12) : m.start()].lower().split()
            if not (day_s or year_s or (before and before[-1] in _DATE_PREPOSITIONS)):
                continue  # "May" the verb, a bare month name
            if month_s.rstrip(".").lower() not in _FULL_MONTHS and not (day_s or year_s):
                continue  # "Mar", "Dec" alone: no date
            spans.append((m.start(), m.end()))
            month = _MONTH_NUMBER[month_s.lower()[:3]]
            day = int(day_s) if day_s else None
            led = any(0 <= m.start() - end <= _LEAD_REACH for end in lead_ends)
            if year_s:
                when = _month_end(int(year_s), month, day)
            else:
                when = yearless_date(self.date, month, day, forward or led)
            if when is not None:
                out.append((m.start(), when, led))
        for ym in _YEAR_ALONE.finditer(text):
            if any(a <= ym.start("year") < b for a, b in spans):
                continue  # the year of a full date
            led = any(0 <= ym.start("year") - end <= _LEAD_REACH for end in lead_ends)
            if forward or led or ym.group("end"):
                out.append((ym.start("year"), dt.date(int(ym.group("year")), 12, 31), led))
        return sorted(out)

    def _future_dates(
        self, text: str, forward: bool, lead_ends: Sequence[int] = ()
    ) -> list[tuple[int, dt.date, bool]]:
        """The dates of ``_all_dates`` on or after the brief's date."""
        assert self.date is not None
        return [x for x in self._all_dates(text, forward, lead_ends) if x[1] >= self.date]

    def _dated(self, source: str, tokens: Sequence[Token], in_text: bool) -> list[TimeFrame]:
        """Frames running to a date after the brief's: one the sentence names, or the date the
        brief gives an event that "until", "ahead of", "in the run-up to" ... points at. Where
        "until" ... points at a date, the other dates of the sentence are where the period
        starts or what it replaces ("from January 7, 2023, until January 7, 2027"), not its end.
        A stated expiry ("extends the expiration date ... until") may run further than the
        ordinary cap, up to ``validity_max_months``."""
        assert self.date is not None
        base = tokens[0].start if in_text else 0
        segment = source[base : tokens[-1].end]
        words = [t.lower for t in tokens]
        leads = self._lead(tokens)
        has_event = any(ev and _find_phrase(words, ev) is not None for ev in self.events)
        stated = bool(self.validity.find(tokens))
        cap = self.vocab.horizons.validity_max_months if stated else None
        lead_ends = [tokens[lm.last].end - base for lm in leads]
        dates = self._future_dates(segment, has_event, lead_ends)
        if any(led for _p, _w, led in dates):
            dates = [x for x in dates if x[2]]
        frames = [
            self._frame_to(when, _date_words(segment, pos), base + pos, cap)
            for pos, when, _led in dates
        ]
        for lm in leads:
            after = words[lm.last + 1 : lm.last + 7]
            for ev in reversed(self.events):  # longest first
                if ev and ev in self.event_dates and _find_phrase(after, ev) is not None:
                    words_h = source[lm.start : tokens[min(len(tokens) - 1, lm.last + 6)].end]
                    frames.append(self._frame_to(self.event_dates[ev], words_h, lm.start))
                    break
        return frames

    def _stated_validity(self, doc: Document, base: Sequence[Sequence[Token]]) -> TimeFrame | None:
        """The brief's stated validity: the first sentence that gives one (a validity word and a
        later date "until" ... points at, or a period running from the brief's date or before
        "until" a later date), as a frame to the latest such date. None without a brief's date."""
        if self.date is None:
            return None
        for s, toks in zip(doc.sentences, base, strict=True):
            if not toks:
                continue
            text = doc.text[s.start : s.end]
            lead_ends = [toks[lm.last].end - s.start for lm in self._lead(toks)]
            if not lead_ends:
                continue
            dates = self._all_dates(text, False, lead_ends)
            soon = self.date + dt.timedelta(days=_VALIDITY_MIN_DAYS)
            ends = [(p, w) for p, w, led in dates if led and w > soon]
            if not ends:
                continue
            began = any(not led and w <= self.date for _p, w, led in dates)
            if not (began or self.validity.find(toks)):
                continue
            pos, when = max(ends, key=lambda x: x[1])
            words = f"until {_date_words(text, pos)} (the brief's stated validity)"
            return self._frame_to(
                when, words, s.start + pos, self.vocab.horizons.validity_max_months
            )
        return None

    def _frame_to(
        self, when: dt.date, words: str, start: int, cap: float | None = None
    ) -> TimeFrame:
        assert self.date is not None
        months = round((when - self.date).days / _DAYS_PER_MONTH, 1)
        months = min(cap or self.vocab.horizons.max_months, max(0.25, months))
        return TimeFrame(Horizon(from_months=0, to_months=months), words.strip(), start)

    # --- targets ----------------------------------------------------------------------------------

    def _targets(self, tokens: Sequence[Token]) -> list[str]:
        out: list[str] = []
        prev_end = -10
        prev_target = False
        for m in self.affiliations.find(tokens):
            before = tokens[max(0, m.first - 3) : m.first]
            if m.first >= 4 and [t.lower for t in tokens[m.first - 2 : m.first]] == ["in", "the"]:
                before = tokens[m.first - 4 : m.first]  # "target entities in the United States"
            after = tokens[m.last + 1 : m.last + 3]
            k = m.first - 1
            while k >= 0 and tokens[k].lower == "the":
                k -= 1
            owned = k >= 0 and tokens[k].lower in _AGENT_WORDS  # "withdrawal of US forces"
            is_target = not owned and (
                any(t.lemma in self.cue_before for t in before)
                or any(t.lemma in self.cue_after for t in after)
            )  # "attacks by the Houthis": the Houthis are who attacks, not whom
            gap = tokens[prev_end + 1 : m.first] if prev_end >= 0 else []
            if prev_target and gap and all(t.lower in _JOINERS for t in gap):
                is_target = True  # "against the US and its allies"
            if is_target and m.payload not in out:
                out.append(m.payload)
            prev_end, prev_target = m.last, is_target
        return out

    # --- regions ----------------------------------------------------------------------------------

    def _region_resolution(self, info: SentenceInfo, ctx: Context, category: str) -> list[str]:
        """What 'the region' means here: the sentence's places, else its actors' countries, else
        the places before it, else the brief's main country. For a threat to shipping, 'this
        region' is the waters the text has named (never a coastal country) where it has any."""
        here = _named(info, locations_only=True)
        if category == self.at_sea_becomes:
            seas = [r for r in [*here, *ctx.locations, *ctx.seas] if r.startswith("sea.")]
            if seas:
                return list(dict.fromkeys(seas))
        if here:
            return here
        actors = [
            m.place.country
            for m in info.mentions
            if m.weight > 0 and m.role == "actor" and m.place.country is not None
        ]
        return list(dict.fromkeys(actors)) or ctx.locations or [ctx.main]

    def _regions(
        self,
        info: SentenceInfo,
        category: str,
        matches: Sequence[Match[str]],
        ctx: Context,
    ) -> tuple[list[tuple[str, float]], bool]:
        # region -> (score, from the surrounding text?, position)
        scores: dict[str, tuple[float, bool, int]] = {}

        def offer(region: str, score: float, from_context: bool, pos: int) -> None:
            old = scores.get(region)
            if old is None or score > old[0]:
                scores[region] = (score, from_context, pos if old is None else min(old[2], pos))

        def distance(m: Mention) -> int:
            return min(
                (t.first - m.last) if m.last < t.first else abs(m.first - t.last) for t in matches
            )

        # "Cameroon faces ... the insurgency in the north": the subject country is the place of
        # every threat listed, unless a threat word has a place of its own right by it ("faces
        # piracy in the Gulf of Guinea")
        own_place = any(
            m.weight > 0 and m.role == "location" and not m.subject and distance(m) <= 3
            for m in info.mentions
        )
        objects = self.vocab.categories[category].objects
        impact_from = self._impact_start(info, matches)
        for m in info.mentions:
            weight = m.weight
            if m.first >= impact_from:
                continue  # "the unrest will disrupt exports, affecting global markets": where
                # the impact is felt, not where the threat is
            if objects and m.place.country is not None:
                if self._is_object(info.tokens, m):
                    weight = 1.0  # "sanctions on Iran", "export controls to China"
                elif weight == 0 and m.place.kind in ("country", "demonym"):
                    weight = 0.5  # "the Russian shadow fleet": whose assets are hit
            if m.subject and own_place:
                weight = 0.5  # "Cameroon also faces piracy in the Gulf of Guinea": who, not where
            if weight <= 0:
                continue
            regions = (
                self._region_resolution(info, ctx, category)
                if m.place.kind == "the_region"
                else [m.region]
            )
            d = 0 if m.subject and not own_place else distance(m)
            for r in regions:
                offer(r, weight / (1 + d / 6), False, m.start)
        _share_lists(info, scores)
        has_location = any(m.role == "location" and m.weight > 0 for m in info.mentions)
        if scores and not has_location:
            # only actors here: the places the text was just talking about count too, lower
            for k, r in enumerate(ctx.locations):
                offer(r, _CONTEXT_SCORE, True, info.sentence.end + k)
        inferred = not scores
        if inferred:
            fallback = ctx.fallback()
            if category == self.at_sea_becomes:
                # a threat to ships with no place of its own is in the waters named before it
                seas = [r for r in [*ctx.locations, *ctx.seas] if r.startswith("sea.")]
                fallback = list(dict.fromkeys(seas)) or fallback
            for k, r in enumerate(fallback):
                offer(r, 1.0, True, k)
        top = max(sc for sc, _, _ in scores.values())
        ranked = []
        for r, (sc, from_context, pos) in scores.items():
            ratio = sc / top
            if ratio < 0.4:
                continue
            intensity = 1.0 if ratio >= 0.75 else round(ratio, 1)
            if from_context and not inferred:
                intensity = min(intensity, 0.6)
            ranked.append((r, intensity, from_context, pos))
        ranked.sort(key=lambda x: (-x[1], x[2], x[3]))
        if self.vocab.categories[category].scope == "local" and any(
            r != "world" and not from_context for r, _, from_context, _ in ranked
        ):
            # "attacks in the Gulf of Guinea ... prominence in global trade": a local threat the
            # sentence places is there, not worldwide as well
            ranked = [x for x in ranked if x[0] != "world"]
        return self._shape(category, [(r, i) for r, i, _, _ in ranked]), inferred

    @staticmethod
    def _located(info: SentenceInfo) -> bool:
        """The sentence places something: a location with weight, or a sea, the world, "the
        region" (anything but a country, capital or demonym read as an actor)."""
        return any(m.weight > 0 and m.role == "location" for m in info.mentions)

    def _is_object(self, tokens: Sequence[Token], m: Mention) -> bool:
        i = m.first - 1
        while i >= 0 and m.first - i <= 3:
            word = tokens[i].lower
            if word in self.object_cues:
                return True
            if word not in ("the", "a", "its", "their"):
                return False
            i -= 1
        return False

    def _shape(self, category: str, regions: list[tuple[str, float]]) -> list[tuple[str, float]]:
        words = self.vocab.categories[category]
        if words.scope == "global":
            rest = [(r, round(min(0.6, i * 0.6), 1)) for r, i in regions if r != "world"]
            return [("world", 1.0), *rest]
        if category == "shipping_disruption" and not any(r.startswith("sea.") for r, _ in regions):
            seas: dict[str, float] = {}
            for r, i in regions:
                for sea, w in self.vocab.places.waters.get(region_country(r) or "", {}).items():
                    seas[sea] = max(seas.get(sea, 0.0), round(w * i, 1))
            if seas:
                ordered = sorted(seas.items(), key=lambda x: -x[1])
                return ordered + [(r, round(i * 0.5, 1)) for r, i in regions]
        return regions

    # --- one finding ------------------------------------------------------------------------------

    def _finding(
        self,
        doc: Document,
        info: SentenceInfo,
        category: str,
        matches: list[Match[str]],
        ctx: Context,
        heading_time: TimeFrame | None,
        key_section: bool,
        previous_targets: list[str],
    ) -> Finding:
        s = info.sentence
        estimate = self._choose(doc.text, info.estimates, matches)
        inverted_by = ""
        if estimate is None:
            term, words, estimated = NOT_ASSESSED, self.vocab.likelihood.not_assessed_words, False
        else:
            term, words, estimated = estimate.term, doc.text[estimate.start : estimate.end], True
            inverted_by = (
                self._inverted(info.tokens, estimate, matches) if not estimate.hedge else ""
            )
            if inverted_by:
                term = INVERT.get(term, term)
                words = f"{words} … {inverted_by}"
        absent = self._absent(info, matches) if estimate is None or estimate.hedge else None
        if absent is not None:
            term, words, estimated = "unlikely", doc.text[absent[0] : absent[1]], True
        time, source = info.time, "sentence"
        if info.role == "background":
            time = None  # "this year", "over the last year": when it happened, not a forecast
        if time is None:
            time, source = heading_time, "heading"
        if time is None and self.stated_validity is not None:
            time, source = self.stated_validity, "validity"  # the notice's own expiry
        horizon = words_h = None
        if time is not None:
            horizon, words_h = time.horizon, time.words
            if info.continuation and horizon.from_months > 0:
                horizon = Horizon(from_months=0, to_months=horizon.to_months)
        regions, inferred = self._regions(info, category, matches, ctx)
        if not inferred and estimate is None and not self._located(info):
            # "The terrorist threat ... spans the spectrum from ISIS ... to the state-sponsored
            # activities of Iran": a sentence that weighs nothing and names countries only as
            # the threat's actors says who, not where; it speaks of the threat the brief places
            inferred = True
        role = info.role
        if (
            role == "judgement"
            and (estimate is None or estimate.hedge or estimate.weak)
            and all(self._consequence(doc, info.tokens, m) for m in matches)
        ):  # an impact the brief does not weigh: "can cause the shutdown of", "this will push up
            # oil prices globally" (a bare "will" reads the impact of another threat, it does not
            # judge a threat of its own)
            role = "consequence"
        if role == "quoted_actor" and estimate is not None and not estimate.hedge:
            # the actor's "will" is not the author's: the brief has not weighed it
            term, words, estimated = NOT_ASSESSED, doc.text[estimate.start : estimate.end], True
        excludes = (
            [
                m.region
                for m in info.mentions
                if m.weight > 0
                and m.place.kind not in ("capital", "city", "demonym", "the_region")
                and (
                    m.role == "location"
                    or (m.first > 0 and info.tokens[m.first - 1].lower in _REACH_WORDS)
                )
            ]
            if term in LOW_TERMS and role == "judgement"
            else []
        )
        # a limiting judgement on named places ("unlikely to spread to Y") excludes them; one
        # naming none ("further confrontation is unlikely") weighs on the threat itself
        limited = bool(excludes)
        original = ""
        if (
            absent is None
            and not inferred
            and category in self.at_sea
            and regions[0][0].startswith("sea.")
            and self.at_sea_becomes in self.vocab.categories
        ):
            original, category = category, self.at_sea_becomes
        targeted = self.vocab.categories[category].targeted
        targets = (info.targets or previous_targets) if targeted else []
        return Finding(
            category=category,
            sentence=s,
            text=doc.text[s.start : s.end],
            trigger_words=[doc.text[m.start : m.end] for m in matches],
            term=term,
            words=words,
            estimated=estimated,
            inverted=bool(inverted_by),
            horizon=horizon,
            horizon_words=words_h or "",
            horizon_source=source if horizon is not None else "",
            regions=regions,
            region_inferred=inferred,
            targets=list(targets),
            key_section=key_section,
            position=s.start,
            role=role,
            limited=limited,
            excludes=excludes,
            recategorised_from=original,
            names_world=any(r == "world" for r, _ in regions)
            and any(m.place.kind == "world" and m.weight > 0 for m in info.mentions),
            analytic_confidence=next((m.payload for m in self.analytic.find(info.tokens)), ""),
        )


_JOINERS = {"and", "or", "its", "their", "the", "his", "her", "of"}
_AGENT_WORDS = {"of", "by", "from", "with"}
_CONTEXT_SCORE = 0.3
_CLAUSE_RE = re.compile(r"[,;:—–()]")


class _Clause:
    """A clause break between two offsets."""

    @staticmethod
    def search(text: str, start: int, end: int) -> bool:
        return bool(_CLAUSE_RE.search(text, start, max(start, end)))

    @staticmethod
    def search_past_places(text: str, start: int, end: int) -> bool:
        """A clause break other than the commas around a place in apposition ("protests in
        Mombasa, Kenya, are likely": one clause)."""
        between = _APPOSITION.sub(" ", text[start : max(start, end)])
        return bool(_CLAUSE_RE.search(between))


_APPOSITION = re.compile(r",\s+(?:[A-Z][\w'.-]*\s*){1,3},")


_CLAUSE = _Clause()


@dataclass(frozen=True)
class Context:
    """What the text around a sentence says about places."""

    main: str  # the country the brief talks about most
    paragraph: list[str]  # the latest places located in this paragraph
    section: list[str]  # the latest places located in this section
    anywhere: list[str]  # the places (any role) of the latest sentence of the section naming any
    seas: list[str] = field(default_factory=list)  # the sea zones the brief has named so far

    @property
    def locations(self) -> list[str]:
        return self.paragraph or self.section

    def fallback(self) -> list[str]:
        """Where a sentence naming no place is: its paragraph's places, else the section's latest
        places, else the brief's main country."""
        return self.paragraph or self.anywhere or self.section or [self.main]


def _targets_named_later(
    findings: Sequence[Finding], infos: Sequence[SentenceInfo], vocab: Vocabulary
) -> None:
    """A threat aimed at someone whose sentence names nobody, with no one named before it in
    its paragraph, is aimed at whom the paragraph's next sentence names ("the urgent risk posed
    by state-sponsored cyber actors. ... pre-positioning on U.S. critical infrastructure")."""
    for f in findings:
        if f.targets or not vocab.categories[f.category].targeted:
            continue
        s = f.sentence
        later = next(
            (
                i.targets
                for i in infos
                if i.targets
                and i.sentence.section == s.section
                and i.sentence.paragraph == s.paragraph
                and i.sentence.start > s.start
            ),
            [],
        )
        f.targets = list(later)


_COORDINATED = re.compile(r",\s*(?:and|but)\s*$", re.IGNORECASE)


def _coordinated(text: str, start: int, end: int) -> bool:
    """An estimative term right after ", and" (or ", but") that follows a threat word, with no
    sentence-like break (";", ":", a dash) between: a second verb of the same subject ("...
    advances, seen in Syria and Iraq, and will probably continue to do so")."""
    between = text[start:end]
    m = _COORDINATED.search(between)
    return m is not None and not re.search(r"[;:—–()]", between)


# A quotation: straight or curly double quotes around at least eight words (a phrase in quotes,
# a name, a scare quote are shorter); an opening quote left open runs to the end of its paragraph.
_QUOTATION = re.compile(r"[\"“]([^\"“”\n]{40,})(?:[\"”]|(?=\n|$))")


def quotations(text: str) -> list[tuple[int, int]]:
    """Character spans of the passages the brief quotes from another document or speaker."""
    return [
        (m.start(1), m.end(1))
        for m in _QUOTATION.finditer(text)
        if len(m.group(1).split()) >= _QUOTATION_WORDS
    ]


_QUOTATION_WORDS = 8


def _inside_any(matches: Sequence[Match[str]], spans: Sequence[tuple[int, int]]) -> bool:
    return bool(spans) and all(any(a <= m.start and m.end <= b for a, b in spans) for m in matches)


def _unplaced_asides(findings: Sequence[Finding]) -> None:
    """A sentence that neither weighs a threat with a yardstick term nor names a place of its
    own, in a paragraph where the brief judges another category at a named place, describes the
    actors of that judgement ("They also contribute to regime instability and internal conflict
    by engaging in high levels of violence", "Extremist groups remain active and might target
    aviation facilities"): background, not a threat of its own category."""
    for f in findings:
        if f.role != "judgement" or f.assessed or not f.region_inferred:
            continue
        para = (f.sentence.section, f.sentence.paragraph)
        if any(g.category == f.category and g.judged and not g.region_inferred for g in findings):
            continue  # the category's own placed judgement: this sentence adds to it
        if any(
            g.category != f.category
            and g.judged
            and not g.region_inferred
            and (g.sentence.section, g.sentence.paragraph) == para
            for g in findings
        ):
            f.role = "background"


def _named(info: SentenceInfo, locations_only: bool) -> list[str]:
    out = [
        m.region
        for m in info.mentions
        if m.weight > 0
        and m.place.kind not in ("world", "the_region")
        and (m.role == "location" or not locations_only)
    ]
    return list(dict.fromkeys(out))


_MONTHS = {
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
}
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_MONTH_NAMES = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
)
_FULL_MONTHS = frozenset(_MONTH_NAMES.lower().split("|"))
_MONTH_ABBREVIATIONS = "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
_MONTH_NUMBER = {name.lower()[:3]: k for k, name in enumerate(_MONTH_NAMES.split("|"), start=1)}
# "7 January 2024", "January 7, 2024", "January 2024", "in January", "19 FEB 2026" (month names
# capitalised or in capitals; lower-case ones are skipped where the date is read)
_DATE = re.compile(
    r"\b(?:(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+)?(?P<month>"
    + _MONTH_NAMES
    + "|"
    + _MONTH_ABBREVIATIONS
    + r")\b\.?"
    r"(?:\s+(?P<day2>\d{1,2})(?:st|nd|rd|th)?\b)?(?:,?\s+(?P<year>(?:19|20)\d\d)\b)?",
    re.IGNORECASE,
)
# a year alone: "scheduled for 2014", "through the end of 2026", "ahead of elections in 2014",
# "for the remainder of 2025"
_YEAR_ALONE = re.compile(
    r"\b(?:(?P<end>(?:end|remainder|rest|second\s+half|latter\s+half|last\s+quarter)\s+of)"
    r"|in|for|by|until|till|through|throughout|before)\s+"
    r"(?P<year>(?:19|20)\d\d)\b(?![-/]\d)",
    re.IGNORECASE,
)
_DATE_PREPOSITIONS = {"in", "on", "by", "until", "till", "before", "through", "of", "mid", "late"}


def _date_words(text: str, pos: int) -> str:
    """The date written at ``pos`` ("January 7, 2027", "19 FEB 23:59 UTC 2026", "2014")."""
    m = _DATE.match(text, pos)
    if m is None:
        return text[pos : pos + 4]
    words = m.group(0)
    if not m.group("year"):  # "19 FEB 23:59 UTC 2026": the year further on
        tail = re.match(r"[\d:\sA-Z]{0,16}?\b((?:19|20)\d\d)\b", text[m.end() : m.end() + 20])
        if tail:
            words = text[pos : m.end() + tail.end()]
    return words.strip().rstrip(".")


def _month_end(year: int, month: int, day: int | None) -> dt.date | None:
    """The day meant: the one given, else the month's last day; None for an impossible date."""
    try:
        if day is not None:
            return dt.date(year, month, day)
        nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)
    except ValueError:
        return None


def yearless_date(brief: dt.date, month: int, day: int | None, forward: bool) -> dt.date | None:
    """The day a date written without a year means, read against the brief's date: where the
    sentence looks forward, the first such day on or after the brief's date; otherwise the one
    nearest the brief's date, before or after (ties: the later one). None for an impossible
    date."""
    options = [
        d for y in (brief.year - 1, brief.year, brief.year + 1) if (d := _month_end(y, month, day))
    ]
    if not options:
        return None
    if forward:
        return next((d for d in options if d >= brief), None)
    return min(options, key=lambda d: (abs((d - brief).days), -d.toordinal()))


_VALIDITY_MIN_DAYS = 14  # a stated period ending within two weeks is a report's, not a validity
_LEAD_REACH = 24  # characters from "until", "ahead of" ... to the date they point at
_NOT_NAMES = {"i", "we", "they", "it", "he", "she", "this", "that", "these", "those", "media"}
_PARTICIPLE = re.compile(
    r"^(?:\w{3,}ed|struck|taken|fought|shot|hit|seized|stolen|left|made|brought|caught|held|"
    r"sent|fallen|begun|thrown|blown|broken|burnt|drawn|driven|won|lost)$"
)
_DAYS_PER_MONTH = 30.44
_REACH_WORDS = {"to", "reach", "reaching", "threaten", "threatening", "into"}
_SOFTENERS = {"also", "largely", "partly", "mainly", "mostly", "in", "part", "still", "only"}
_FILLER_ADVERBS = {"also", "subsequently", "repeatedly", "already", "recently", "reportedly"}
_PLACE_FILLERS = {"the", "a", "an", "international", "main", "nearby", "local", "au", "de", "of"}


_LIST_GAP = re.compile(r"^[\s,;/]*(?:(?:and|or|and/or)\s+)?(?:the\s+)?$", re.IGNORECASE)


def _share_lists(info: SentenceInfo, scores: dict[str, tuple[float, bool, int]]) -> None:
    """Places listed together ("the southern Red Sea, Bab el Mandeb Strait, and Gulf of Aden")
    are one place of the threat: each gets the list's best score, whatever its distance."""
    text = info.sentence_text
    ms = [m for m in info.mentions if m.weight > 0 and m.region in scores]
    runs: list[list[str]] = []
    for k, m in enumerate(ms):
        gap = text[ms[k - 1].end : m.start] if k else None
        if gap is not None and _LIST_GAP.match(_strip_place_words(gap)):
            runs[-1].append(m.region)
        else:
            runs.append([m.region])
    for run in runs:
        if len(run) < 2:
            continue
        best = max(scores[r][0] for r in run)
        for r in run:
            _, ctx, pos = scores[r]
            scores[r] = (best, ctx, pos)


def _strip_place_words(gap: str) -> str:
    return re.sub(r"\b(?:Strait|Straits|Sea|Gulf|of|southern|northern|eastern|western)\b", "", gap)


def _words(phrase: str) -> tuple[str, ...]:
    return tuple(fold(w) for w in phrase_words(phrase))


def _find_phrase(words: Sequence[str], phrase: tuple[str, ...]) -> int | None:
    n = len(phrase)
    if not n:
        return None
    for i in range(len(words) - n, -1, -1):  # the nearest occurrence
        if tuple(words[i : i + n]) == phrase:
            return i
    return None


def _has_phrase(words: Sequence[str], phrases: Sequence[tuple[str, ...]]) -> bool:
    return any(_find_phrase(words, ph) is not None for ph in phrases)


def _stems(phrase: str) -> tuple[str, ...]:
    words = [fold(w) for w in phrase_words(phrase)]
    if not words:
        return ()
    last = words[-1]
    if len(last) > 4 and last.endswith("e"):
        last = last[:-1]  # "de-escalate" also finds "de-escalating"
    return (*words[:-1], last)


def _find_stems(tokens: Sequence[Token], stems: tuple[str, ...]) -> int | None:
    n = len(stems)
    if not n:
        return None
    for i in range(len(tokens) - n + 1):
        window = tokens[i : i + n]
        if all(t.lower == w for t, w in zip(window[:-1], stems[:-1], strict=True)) and window[
            -1
        ].lower.startswith(stems[-1]):
            return i
    return None


def _has_stems(tokens: Sequence[Token], stems: tuple[str, ...]) -> bool:
    return _find_stems(tokens, stems) is not None


def _main_country(infos: Sequence[SentenceInfo]) -> str:
    """The country the brief talks about most (places weighted by role), else the world."""
    weight: dict[str, float] = {}
    first: dict[str, int] = {}
    for info in infos:
        for m in info.mentions:
            country = m.place.country
            if country is None or m.weight <= 0:
                continue
            fam = region_family(country)
            weight[fam] = weight.get(fam, 0.0) + m.weight
            first.setdefault(fam, m.start)
    if not weight:
        return "world"
    return max(weight, key=lambda c: (weight[c], -first[c]))
