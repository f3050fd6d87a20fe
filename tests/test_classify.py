"""Hook styles, CTAs and content pillars from text: tables of real-looking examples."""
import pytest

from scripts.store.classify import CTAS, HOOK_STYLES, PillarMatcher, cta, first_line, hook_style
from scripts.dev.demo_world import BODY_LINES, CTA_LINES, HOOK_TEMPLATES, PILLARS

HOOKS = [
    # number_specific: a count or a quantity, wherever it sits
    ("5 bedtime phrases that stopped our stalling", "number_specific"),
    ("3 things I stopped buying for my toddler", "number_specific"),
    ("We cut screen time by 40% in a week", "number_specific"),
    ("Seven snacks my picky eater actually eats", "number_specific"),
    ("The 2-minute trick that ends morning meltdowns", "number_specific"),
    ("Why your toddler wakes at 5am (and what to do)", "number_specific"),
    ("Stop doing these 3 things at bedtime", "number_specific"),
    # how_to
    ("How to get a toddler to brush their teeth without a fight", "how_to"),
    ("How I got my 2 year old to sleep in her own bed", "how_to"),
    ("Here’s how we handle sibling fights now", "how_to"),
    ("What to say when your kid hits you", "how_to"),
    ("The easiest way to calm a car seat meltdown", "how_to"),
    ("How to stop yelling at your kids", "how_to"),
    # controversy_light
    ("Unpopular opinion: kids don't need a bedtime routine", "controversy_light"),
    ("Hot take: sticker charts don't work", "controversy_light"),
    ("Nobody talks about how lonely the newborn stage is", "controversy_light"),
    ("Stop saying 'good job' to your toddler", "controversy_light"),
    ("Don't buy another sleep sack until you see this", "controversy_light"),
    ("Nobody’s talking about this", "controversy_light"),
    ("I don’t care what the sleep books say", "controversy_light"),  # typographic apostrophes
    ("You're doing snack time wrong", "controversy_light"),
    ("Why I stopped forcing my toddler to share", "controversy_light"),
    ("Sleep training is not the enemy. Sorry, but it isn't", "controversy_light"),
    ("The mistake every parent makes at pickup", "controversy_light"),
    # generic_question
    ("Does your toddler fight every single nap?", "generic_question"),
    ("Is it just me or is bath time chaos", "generic_question"),
    ("Why won't my baby sleep past dawn?", "generic_question"),
    ("Toddler won't eat dinner? Same here", "generic_question"),
    ("Anyone else's kid only eat beige food", "generic_question"),
    ("My 3 year old asked why the sky is blue. Do you know?", "generic_question"),
    # statement (what is left)
    ("This changed our mornings completely", "statement"),
    ("My 18-month-old finally sleeps through the night", "statement"),
    ("The calm down corner that saved our afternoons", "statement"),
    ("POV: you finally get the baby down and the dog barks", "statement"),
    ("Our one rule for screen time", "statement"),
]


@pytest.mark.parametrize("hook, expected", HOOKS)
def test_hook_style(hook, expected):
    assert hook_style(hook) == expected


def test_hook_table_covers_every_style():
    assert {expected for _, expected in HOOKS} == set(HOOK_STYLES)


def test_no_hook_no_style():
    assert hook_style(None) is None
    assert hook_style("   ") is None


def _templated_hooks():
    for style, templates in HOOK_TEMPLATES.items():
        for template in templates:
            for _pillar, (_keywords, topics) in PILLARS.items():
                for topic in topics:
                    for n in (3, 8):
                        yield style, template.format(n=n, topic=topic, Topic=topic[:1].upper() + topic[1:])


def test_every_demo_hook_template_classifies_as_planted():
    wrong = [(style, hook, hook_style(hook)) for style, hook in _templated_hooks() if hook_style(hook) != style]
    assert wrong == []


CAPTIONS = [
    # the CTA usually sits in the last lines; the first line is the hook
    ("Bedtime, simplified\n\nSave this for tonight 📌\n\n#parenting #sleep", "save_this"),
    ("5 snack ideas\nBookmark this for your next grocery run", "save_this"),
    ("Night wakings again\nTap save so you can find it at 3am", "save_this"),
    ("Naps are hard\nPin this one 🔖", "save_this"),
    ("Tantrum scripts\nSend this to your partner before dinner", "share"),
    ("Sibling fights\nTag a mom who needs this today", "share"),
    ("Screen time rules\nShare with someone who's struggling", "share"),
    ("Picky eating\nComment FOOD and I'll DM you the list", "comment"),
    ("Bedtime routine\nLet me know in the comments which one you'll try", "comment"),
    ("Which one are you? Drop a 1 or a 2 👇", "comment"),
    ("Bath time chaos\nWe tried everything.\nWhat would you add to this list?", "comment"),
    ("Mornings\nFollow for more real mom life", "follow"),
    ("Part 1 of our potty training story\nFollow along for part 2", "follow"),
    ("Toddler meals\nHit follow, more recipes tomorrow", "follow"),
    ("Save this and follow for more sleep tips", "save_this"),  # one line: the whole caption is read
    ("Struggling with naps?\n\nWe tried everything before this clicked.\n\n#parenting #naps", "none"),
    ("My partner and I share bedtime duty now\nIt saved our evenings", "none"),
    ("", "none"),
    (None, "none"),
]


@pytest.mark.parametrize("caption, expected", CAPTIONS)
def test_cta(caption, expected):
    assert cta(caption) == expected


def test_cta_table_covers_every_cta():
    assert {expected for _, expected in CAPTIONS} == set(CTAS)


@pytest.mark.parametrize("expected, line", [(c, line) for c, lines in CTA_LINES.items() for line in lines])
@pytest.mark.parametrize("body", BODY_LINES)
def test_every_demo_cta_line_classifies_as_planted(expected, line, body):
    caption = "\n\n".join(part for part in ["Anyone else dealing with whining?", body, line,
                                            "#parenting #tantrummanagement #momlife"] if part)
    assert cta(caption) == expected


def test_first_line_skips_blank_and_hashtag_lines():
    assert first_line("\n#parenting #momlife\n\n  Bedtime got easier  \nmore") == "Bedtime got easier"
    assert first_line("#only #tags") is None
    assert first_line(None) is None


PILLAR_CONFIG = {"sleep_routines": ["sleep", "bedtime", "nap", "night"],
                 "picky_eating": ["picky", "food", "meal", "eat"],
                 "screen_time": ["screen", "tablet", "tv"],
                 "tantrum_management": ["tantrum", "meltdown", "calm"],
                 "mom_life": ["mom", "self-care", "morning"]}


@pytest.mark.parametrize("topic, caption, expected", [
    ("nap transitions", None, "sleep_routines"),           # napping, naps: endings allowed
    ("picky eating", "", "picky_eating"),
    ("tv-free afternoons", "", "screen_time"),
    ("self-care as a mom", "", "mom_life"),
    ("tablet tantrums", "Tablet tantrums again\n#screentime", "screen_time"),  # tie: caption decides
    ("early rising", "Early rising is rough\n#sleeproutines", "sleep_routines"),  # topic silent: caption
    (None, "Our toddler napping finally clicked", "sleep_routines"),
    (None, "Five meals my kid eats without a fight", "picky_eating"),
    (None, "Big moments with little kids", None),            # 'mom' inside 'moments' is no hit
    (None, "Nothing about any pillar here", None),
    ("unknown topic", None, None),
])
def test_pillar(topic, caption, expected):
    assert PillarMatcher(PILLAR_CONFIG).pillar(topic, caption) == expected


def test_pillar_tie_goes_to_the_first_listed():
    matcher = PillarMatcher({"b_first": ["calm"], "a_second": ["quiet"]})
    assert matcher.pillar("calm and quiet", None) == "b_first"


def test_pillar_names_come_only_from_the_config():
    assert PillarMatcher({}).pillar("bedtime routine", "sleep sleep sleep") is None
