"""Foreign-accented English digits from espeak-ng: another language's voice reads the digit
words respelt in its own orthography, so that its phonology shapes them ("three" as German
"sri", Spanish "tri", Greek "θρι").

Each respelling was chosen so that the language's voice says something an L1 speaker of it would
plausibly say for the English word (checked with `Espeak.phonemes`); the transcript stays the
English word. synth_digits mixes these voices in with `accents=[de, fr, ...]`.
"""

from collections.abc import Sequence

ACCENT_DIGITS: dict[str, tuple[str, ...]] = {
    "de": ("siro", "wann", "tu", "sri", "foa", "feif", "seks", "sewen", "ejt", "nein"),
    "el": ("ζίρο", "ουάν", "του", "θρι", "φορ", "φάιβ", "σιξ", "σέβεν", "έιτ", "νάιν"),
    "es": ("síro", "guan", "tu", "tri", "for", "faif", "siks", "séven", "éit", "náin"),
    "fr": ("zirô", "ouane", "tou", "sri", "for", "faïve", "sixe", "sévène", "eïte", "naïne"),
    "hi": ("ज़ीरो", "वन", "टू", "थ्री", "फ़ोर", "फ़ाइव", "सिक्स", "सेवन", "एट", "नाइन"),
    "it": ("ziro", "uan", "tu", "tri", "for", "faiv", "siks", "seven", "eit", "nain"),
    "pl": ("ziro", "łan", "tu", "fri", "for", "fajw", "siks", "sewen", "ejt", "najn"),
    "ru": ("зиро", "уан", "ту", "сри", "фор", "файв", "сикс", "севен", "эйт", "найн"),
}
"""Per espeak-ng language voice: how it is made to say "zero" to "nine"."""


def check_accents(accents: Sequence[str]) -> tuple[str, ...]:
    """The accents as a tuple; a named error for one without respellings."""
    unknown = sorted(set(accents) - set(ACCENT_DIGITS))
    if unknown:
        raise ValueError(
            f"no respelt digits for accents {unknown}; known: {', '.join(sorted(ACCENT_DIGITS))}"
        )
    return tuple(accents)
