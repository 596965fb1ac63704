"""Person names, found by cue and gazetteer rather than a statistical NER model (lower-case STT
text has no capitals to lean on; docs/privacy.md gives the measurements behind the choice).

* After a strong cue ("my name is", "last name is", "mr"), the words that follow are a name
  unless they are common words.
* After a weak cue ("this is", "i'm", "for", "my son"), the next word must be a given name or a
  surname in the US census lists (the `names` package), and not a common word ("i'm fine").
* With no cue: a given name followed by a surname ("book john smith"), or the same capitalised
  anywhere but the start of a sentence.
* Letters spelled right after a name ("smith, s m i t h") belong to it.
"""

from __future__ import annotations

import functools
import importlib.resources

from voxline.privacy.detect.context import Candidate, Utterance, phrases
from voxline.privacy.detect.entity import NAME

PRIORITY = 30
STRONG_CUES = phrases(
    "my name is", "name is", "name's", "my name's", "first name is", "last name is",
    "full name is", "surname is", "names are", "mr", "mrs", "ms", "miss", "dr", "doctor",
    "patient is", "called", "goes by", "spelled",
)  # fmt: skip
WEAK_CUES = phrases(
    "this is",
    "i'm",
    "i am",
    "im",
    "it's",
    "its",
    "speaking",
    "hi",
    "hello",
    "yeah it's",
)
# Cues that precede a name often but other words more often: a given name must follow.
GIVEN_CUES = phrases(
    "for", "with", "son", "daughter", "wife", "husband", "mother", "father", "mom", "dad",
    "brother", "sister", "patient", "and", "see", "to", "from", "thanks", "thank you",
)  # fmt: skip
# Common English words that are also census names. A gazetteer hit on one of these needs a
# strong cue; the list is the price of not running an NER model.
COMMON_WORDS = frozenset(
    """
a an the and or but if of to in on at by for from with about as into like through after over
between out against during without before under around among is am are was were be been being
have has had do does did will would shall should may might must can could i me my we us our you
your he him his she her it its they them their what which who whom this that these those here
there when where why how all any both each few more most other some such no nor not only own
same so than too very just also now then again once still ever never always often well even back
up down off away yes yeah yep okay ok sure right fine good great nice bad glad sorry sick new
old big high low early late free open busy ready done able calling call calls called looking
trying going getting hoping wondering wanting needing having need want like love hope wish know
think see say said tell ask help make take give get go come look find work feel try leave put
mean keep let begin seem show hear play run move live believe bring happen write sit stand lose
pay meet include continue set learn change lead understand watch follow stop create speak read
spend grow walk win offer remember consider appear buy serve die send build stay fall cut reach
kill raise pass sell decide return explain develop carry break receive agree support hit produce
eat cover catch draw choose wait last next first second third one two three four five six seven
eight nine ten hundred thousand day days week weeks month months year years time times today
tomorrow tonight morning afternoon evening night monday tuesday wednesday thursday friday
saturday sunday january february march april june july august september october november
december christmas easter holiday summer winter spring fall autumn doctor nurse clinic office
appointment appointments patient insurance pharmacy prescription refill number phone email
address street card birthday birth date name names mister missus son daughter wife husband
mother father mom dad brother sister baby kid kids child children family friend home house room
door bed car way place thing things people man woman men women boy girl guy guys folks everyone
anyone someone nobody something anything nothing everything please thanks thank hello hi hey bye
goodbye um uh hmm oh ah well actually really probably maybe perhaps almost already soon later
yet though although because since until while whether either neither both instead else enough
quite rather pretty much many lot lots less least best better worse worst hospital medical
medicine pain back knee head test tests results result shot shots flu covid cold fever cough
dentist cleaning checkup check visit visits follow reschedule cancel cancelled confirm confirmed
book booked booking schedule scheduled available availability opening hours noon midnight
o'clock oclock minute minutes hour second seconds am pm im ive ill id youre its dont cant wont
hes shes thats whats lets told said asked gave wanted needed prescribed recommended ordered sent
left took saw wrote changed moved says wants thinks knows
""".split()  # noqa: SIM905 - a word list reads best as words
)
# Common words that are also frequent names ("will young", "may chen"): a name only next to
# another name word or after a strong cue.
NAMELIKE_WORDS = frozenset(
    """
april june august white black brown green gray grey red blue gold silver rose grant bill mark
will may hope faith joy art guy jack frank sue pat ray rich dawn gene jean don sunny chase
hunter carter king bell case hall wells field fields park parks page rice price cook baker wood
woods hill hills lane day love bright strong cross fox lamb bird swan stone moss snow rain west
east north south sharp sweet bond banks booker hardy gay major judge moon star sun ash branch
bush church cole craft dean english fair fisher ford forest gardner glass gross hale hammer hart
hay head holly honey house hunt ivy jewel justice lay lord mann marsh mason miles mills noble
page paris penny pine porter power pride ramsey reed rich ripley rock rush russell salt savage
shepherd shields silver sky sparks spears storm stout summers sweet tank temple thorn tower trim
troy walker ward waters webb wells wise wolf worth wren york young long short little small
""".split()  # noqa: SIM905 - a word list reads best as words
)
COMMON_WORDS = COMMON_WORDS - NAMELIKE_WORDS
NAMELIKE = NAMELIKE_WORDS
COMMON = COMMON_WORDS | NAMELIKE


@functools.cache
def gazetteer() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, surnames), lower-case, from the 1990 US census lists."""
    base = importlib.resources.files("names")

    def read(name: str) -> frozenset[str]:
        text = base.joinpath(name).read_text(encoding="ascii")
        return frozenset(line.split()[0].lower() for line in text.splitlines() if line.strip())

    given = read("dist.male.first") | read("dist.female.first")
    return given, read("dist.all.last")


def _wordlike(low: str) -> bool:
    return low.replace("'", "").replace("-", "").isalpha()


class NameRecogniser:
    def __init__(self) -> None:
        self.given, self.surnames = gazetteer()

    def _is_name(self, low: str, *, namelike: bool = False) -> bool:
        """In the census lists and not a common word (`namelike`: words like "will" or
        "young" count, for use next to another name word)."""
        low = low.removesuffix("'s")
        if low in COMMON_WORDS:
            return False
        low = low.replace("'", "")
        if low not in self.given and low not in self.surnames:
            return False
        return low not in (COMMON_WORDS if namelike else COMMON)

    def __call__(self, utt: Utterance) -> list[Candidate]:
        lows = utt.lows
        out: list[Candidate] = []
        i = 0
        while i < len(lows):
            if not self._starts(utt, i):
                i += 1
                continue
            last = self._extend(utt, i)
            start, end = utt.span(i, last)
            value = " ".join(lows[i : last + 1])
            out.append(Candidate(NAME, start, end, value, PRIORITY))
            i = last + 1
        return out

    def _starts(self, utt: Utterance, i: int) -> bool:
        """Whether a name starts at word i (the rules in the module docstring)."""
        toks, lows = utt.tokens, utt.lows
        low = lows[i]
        nxt = lows[i + 1] if i + 1 < len(lows) else ""
        if utt.cue_before(i, STRONG_CUES, window=1):
            if _is_spelled(lows, i):
                return True
            return _wordlike(low) and low not in COMMON_WORDS and len(low) > 1
        if utt.cue_before(i, STRONG_CUES, window=3) and _is_spelled(lows, i):
            return True  # "spelled, j o h n"
        if utt.cue_before(i, WEAK_CUES, window=1):
            if len(low) > 1 and self._is_name(low):
                return True
            if low in NAMELIKE and self._is_name(nxt):
                return True  # "this is may chen"
        base = low.removesuffix("'s")
        given = base in self.given and base not in COMMON and len(base) > 1
        if given and utt.cue_before(i, GIVEN_CUES, window=1):
            return True  # "my son ethan"
        if given and len(nxt) > 1 and self._is_name(nxt, namelike=True):
            return True  # "book john smith for tuesday"
        sentence_start = i == 0 or toks[i - 1].trail.strip().endswith((".", "?", "!"))
        return given and toks[i].text[:1].isupper() and not sentence_start

    def _extend(self, utt: Utterance, i: int) -> int:
        """Last token of the name starting at i: more name words, a middle initial, spelling."""
        lows = utt.lows
        last = i
        if _is_spelled(lows, i):
            last = _spelled_end(lows, i)
        j = last + 1
        while j < len(lows) and j <= i + 3:
            low = lows[j]
            if (
                self._is_name(low, namelike=True) and len(low) > 1
                and utt.tokens[j - 1].trail.strip() == ""
            ):  # fmt: skip
                last = j
                j += 1
                continue
            if (
                len(low) == 1
                and low.isalpha()
                and low not in ("i", "a")
                and not _is_spelled(lows, j)
                and j + 1 < len(lows)
                and self._is_name(lows[j + 1])
            ):
                last = j  # middle initial: "john q public"
                j += 1
                continue
            break
        # "smith, s m i t h" or "smith that's s m i t h"
        k = last + 1
        while k < len(lows) and lows[k] in ("spelled", "that's", "thats", "that", "is", "it's"):
            k += 1
        if k < len(lows) and _is_spelled(lows, k):
            last = _spelled_end(lows, k)
        return last


def _is_letter(low: str) -> bool:
    return len(low) == 1 and low.isalpha()


def _is_spelled(lows: list[str], i: int) -> bool:
    """Three or more single letters in a row start at i ("j o h n")."""
    return i + 2 < len(lows) and all(_is_letter(lows[k]) for k in range(i, i + 3))


def _spelled_end(lows: list[str], i: int) -> int:
    k = i
    while k + 1 < len(lows) and _is_letter(lows[k + 1]):
        k += 1
    return k
