"""From a report's words to comparable features: normalise, tokenise, drop stop words, stem,
and add the domain concepts of `bot.similar.lexicon` (so "subs" and "suplentes" meet).

Pure Python and deterministic: the same text always gives the same features, in any process,
so features can be stored with the item and compared later.

    features("Subs don't know the new reading lessons")
    -> ['sub', '~substitute', 'know', 'new', 'read', '~reading', 'lesson', '~curriculum']
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from bot.similar.lexicon import CONCEPTS, STOP_EN, STOP_ES, _list

_WORD = re.compile(r"[a-z0-9]+")
_APOSTROPHE = re.compile(r"(?<=[a-z])['’](?=[a-z])")
ES_HINTS = frozenset(
    _list("el la los las del de que por para con una unos unas es son esta estan no hay muy y se")
)
EN_HINTS = frozenset(_list("the and of to is are for with on in at our we they was were not"))


def fold(text: str) -> str:
    """Lower case without accents: 'Capacitación' -> 'capacitacion'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Folded words; "don't" is one word ("dont"), hyphens and slashes split words."""
    return _WORD.findall(_APOSTROPHE.sub("", fold(text)))


def language(tokens: list[str]) -> str:
    """'es' or 'en', by which language's common words the text uses more."""
    es = sum(1 for t in tokens if t in ES_HINTS)
    en = sum(1 for t in tokens if t in EN_HINTS)
    return "es" if es > en else "en"


_EN_SUFFIXES = (
    ("ational", "ate"),
    ("ations", "ate"),
    ("ation", "ate"),
    ("ements", ""),
    ("ement", ""),
    ("ments", ""),
    ("ment", ""),
    ("ness", ""),
    ("ings", ""),
    ("ing", ""),
    ("ies", "y"),
    ("ied", "y"),
    ("ers", ""),
    ("er", ""),
    ("ed", ""),
    ("es", "e"),
    ("s", ""),
)
_ES_SUFFIXES = (
    ("aciones", "a"),
    ("acion", "a"),
    ("iciones", "ic"),
    ("icion", "ic"),
    ("ciones", "c"),
    ("cion", "c"),
    ("amente", ""),
    ("mente", ""),
    ("idades", "idad"),
    ("ando", ""),
    ("iendo", ""),
    ("adas", ""),
    ("ados", ""),
    ("idas", ""),
    ("idos", ""),
    ("ada", ""),
    ("ado", ""),
    ("ida", ""),
    ("ido", ""),
    ("ales", "al"),
    ("ores", "or"),
    ("oras", "or"),
    ("ora", "or"),
    ("es", ""),
    ("os", ""),
    ("as", ""),
    ("an", ""),
    ("en", ""),
    ("ar", ""),
    ("er", ""),
    ("ir", ""),
    ("s", ""),
    ("o", ""),
    ("a", ""),
    ("e", ""),
)
_KEEP = frozenset({"bus", "sis", "ela", "iep", "sped", "pbis", "mtss", "ehr", "this", "has", "was"})


@lru_cache(maxsize=65536)
def stem(word: str, lang: str = "en") -> str:
    """A light suffix stripper (plural, gender, common verb and noun endings), per language.

    Deliberately gentle: it only has to make 'trained'/'training', 'suplentes'/'suplente' meet.
    """
    if len(word) <= 3 or word.isdigit() or word in _KEEP:
        return word
    table = _ES_SUFFIXES if lang == "es" else _EN_SUFFIXES
    for suffix, repl in table:
        if word.endswith(suffix) and len(word) - len(suffix) + len(repl) >= 3:
            out = word[: len(word) - len(suffix)] + repl
            if lang == "en" and suffix in ("ing", "ed", "er", "ers", "ings"):
                if len(out) >= 4 and out[-1] == out[-2] and out[-1] not in "lsz":
                    out = out[:-1]  # 'stopped' -> 'stop', 'planning' -> 'plan'
                elif out.endswith(("at", "iz", "bl")):
                    out += "e"
            if lang == "en" and out.endswith("e") and len(out) > 4 and suffix != "es":
                out = out[:-1]
            if lang == "en" and suffix == "es" and out.endswith("e") and len(out) > 4:
                out = out[:-1]
            return out
    if lang == "en" and word.endswith("e") and len(word) > 4:
        return word[:-1]
    return word


@lru_cache(maxsize=4)
def _concept_table(lang: str) -> dict[tuple[str, ...], str]:
    """Every lexicon phrase, stemmed the way words of a text in `lang` are.

    A text's own language wins where two phrases stem alike ("rotas" and "rotación").
    """
    table: dict[tuple[str, ...], str] = {}
    first, second = (1, 0) if lang == "es" else (0, 1)
    for side in (first, second):
        for concept, by_lang in CONCEPTS.items():
            for phrase in by_lang[side]:
                key = tuple(stem(w, lang) for w in words(phrase))
                if key:
                    table.setdefault(key, concept)
    return table


MAX_PHRASE = 4


def features(text: str) -> list[str]:
    """The stems of the content words, each followed by the concept it expresses (if any).

    Concepts are written '~name'; a phrase ("background check", "dos veces") adds its
    concept once, after its last word.
    """
    tokens = words(text)
    lang = language(tokens)
    stop = STOP_ES if lang == "es" else STOP_EN
    table = _concept_table(lang)
    stems_all = [stem(t, lang) for t in tokens]
    out: list[str] = []
    n = len(tokens)
    i = 0
    while i < n:
        matched = 0
        for size in range(min(MAX_PHRASE, n - i), 1, -1):
            concept = table.get(tuple(stems_all[i : i + size]))
            if concept is not None:
                for t, st in zip(tokens[i : i + size], stems_all[i : i + size], strict=True):
                    if t not in stop and len(t) > 1:
                        out.append(st)
                out.append(concept)
                matched = size
                break
        if matched:
            i += matched
            continue
        t = tokens[i]
        if t not in stop and len(t) > 1 and not t.isdigit():
            st = stems_all[i]
            out.append(st)
            concept = table.get((st,))
            if concept is not None:
                out.append(concept)
        i += 1
    return out
