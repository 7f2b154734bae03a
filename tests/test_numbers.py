"""training.numbers: composed numbers scored as make evaluate scores them."""
import math

import config
from core.errors import NoDigitFound
from core.number import NumberReader
from tests.builders import number
from training.numbers import score


def test_a_reader_is_scored_on_exact_numbers_and_its_digits_calibration(wrapper, sequence):
    reader = NumberReader(wrapper, sequence, **config.image_limits())
    numbers = [number(text, spacing) for text in ("2026", "31", "90210")
               for spacing in ("spaced", "touching")]
    scored = score(reader, numbers)
    texts = [getattr(reader.read([n.data])[0], "text", None) for n in numbers]
    assert scored.exact == sum(t == n.text for t, n in zip(texts, numbers)) >= 4
    assert scored.refused == texts.count(None)
    assert 0 <= scored.digit_ece < 0.1


class Refuses:
    @staticmethod
    def read(uploads):
        return [NoDigitFound("no digit found") for _ in uploads]


def test_refused_numbers_are_counted_and_leave_no_digits_to_calibrate():
    scored = score(Refuses(), [number("12"), number("345")])
    assert (scored.exact, scored.refused) == (0, 2) and math.isnan(scored.digit_ece)
