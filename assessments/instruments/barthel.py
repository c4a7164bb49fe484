"""The Barthel Index (BI) of activities of daily living: ten items, total 0-100.

Mahoney FI, Barthel DW. Functional evaluation: the Barthel Index. Md State Med J 1965;14:61-65.
The Chinese form 日常生活能力评定量表 uses the same items and points. Score what the person *does*
(the last 24-48 hours), not what they could do; needing supervision is not independent; aids are
allowed. Default bands follow the common Chinese form: <=40 severe, 41-60 moderate, 61-99 mild,
100 independent. Other band sets are policy (`barthel_bands`, stored as `BandRules` data).
"""

from __future__ import annotations

from assessments.types import Band, BandRules, Instrument, Item, Option

CODE = "barthel"
VERSION = "1965"

_COMMON_HELP_ZH = "按近24–48小时实际表现评分，不按能力评分；需他人监护或提醒的不算独立。"
_COMMON_HELP_EN = (
    "Score what the person does (last 24–48 h), not what they could do; "
    "needing supervision or prompting is not independent."
)

ITEMS: tuple[Item, ...] = (
    Item(
        code="feeding",
        label_zh="进食",
        label_en="Feeding",
        help_zh="食物放在可取到处。" + _COMMON_HELP_ZH,
        help_en="Food placed within reach. " + _COMMON_HELP_EN,
        options=(
            Option(10, "可独立进食（在合理时间内）", "Independent (in a reasonable time)"),
            Option(
                5,
                "需部分帮助（如切碎食物、涂抹）",
                "Needs help, e.g. cutting or spreading",
            ),
            Option(0, "需极大帮助或完全依赖他人", "Unable, fully dependent"),
        ),
    ),
    Item(
        code="bathing",
        label_zh="洗澡",
        label_en="Bathing",
        help_zh="盆浴、淋浴或擦浴均可，可用辅助器具。" + _COMMON_HELP_ZH,
        help_en="Bath, shower or sponge bath; aids allowed. " + _COMMON_HELP_EN,
        options=(
            Option(5, "可独立完成洗澡，无需他人在场", "Independent, without anyone present"),
            Option(0, "洗澡时需他人帮助或监护", "Dependent: needs help or supervision"),
        ),
    ),
    Item(
        code="grooming",
        label_zh="修饰",
        label_en="Grooming",
        help_zh="洗脸、梳头、刷牙、剃须（用具可由他人备好）。" + _COMMON_HELP_ZH,
        help_en="Face, hair, teeth, shaving (implements may be provided). " + _COMMON_HELP_EN,
        options=(
            Option(
                5,
                "可独立完成洗脸、梳头、刷牙、剃须",
                "Independent: face, hair, teeth, shaving",
            ),
            Option(0, "需他人帮助", "Needs help with personal care"),
        ),
    ),
    Item(
        code="dressing",
        label_zh="穿衣",
        label_en="Dressing",
        help_zh="包括穿脱衣裤、系扣、拉拉链、穿脱鞋袜、系鞋带。" + _COMMON_HELP_ZH,
        help_en="Putting on and taking off clothes, buttons, zips, shoes, laces. "
        + _COMMON_HELP_EN,
        options=(
            Option(
                10,
                "可独立完成（包括系扣、拉拉链、系鞋带）",
                "Independent (including buttons, zips, laces)",
            ),
            Option(
                5,
                "需部分帮助，能独立完成一半以上",
                "Needs help but does about half unaided",
            ),
            Option(0, "需极大帮助或完全依赖他人", "Dependent"),
        ),
    ),
    Item(
        code="bowels",
        label_zh="控制大便",
        label_en="Bowels",
        help_zh="指近一周的情况；能自行使用栓剂或灌肠的算可控制。" + _COMMON_HELP_ZH,
        help_en="The preceding week; managing own suppository or enema counts as continent. "
        + _COMMON_HELP_EN,
        options=(
            Option(10, "可控制大便", "Continent"),
            Option(5, "偶尔失控（每周不超过1次）", "Occasional accident (up to once a week)"),
            Option(0, "完全失控，或需他人灌肠", "Incontinent, or needs enemas given"),
        ),
    ),
    Item(
        code="bladder",
        label_zh="控制小便",
        label_en="Bladder",
        help_zh="指近一周的情况；能自行管理导尿管的算可控制。" + _COMMON_HELP_ZH,
        help_en="The preceding week; managing own catheter counts as continent. " + _COMMON_HELP_EN,
        options=(
            Option(10, "可控制小便", "Continent"),
            Option(
                5,
                "偶尔失控（每天不超过1次）",
                "Occasional accident (at most once a day)",
            ),
            Option(
                0,
                "完全失控，或留置导尿管且不能自行管理",
                "Incontinent, or catheterised and unable to manage",
            ),
        ),
    ),
    Item(
        code="toilet_use",
        label_zh="如厕",
        label_en="Toilet use",
        help_zh="包括进出厕所、穿脱裤子、擦净、冲水。" + _COMMON_HELP_ZH,
        help_en="Getting to and from the toilet, clothes, wiping, flushing. " + _COMMON_HELP_EN,
        options=(
            Option(10, "可独立完成如厕", "Independent"),
            Option(
                5,
                "需部分帮助（如穿脱裤子、擦净），其余可自理",
                "Needs some help but can do something alone",
            ),
            Option(0, "需极大帮助或完全依赖他人", "Dependent"),
        ),
    ),
    Item(
        code="transfer",
        label_zh="床椅转移",
        label_en="Transfer (bed to chair and back)",
        help_zh="从床上坐起、移到椅子或轮椅上再回到床上。" + _COMMON_HELP_ZH,
        help_en="Sitting up in bed, moving to a chair or wheelchair and back. " + _COMMON_HELP_EN,
        options=(
            Option(15, "可独立完成", "Independent"),
            Option(
                10,
                "需少量帮助（1人）或语言指导、监护",
                "Minor help (one person, verbal or physical) or supervision",
            ),
            Option(
                5,
                "需大量帮助（1个强壮或熟练的人或2人），能坐",
                "Major help (one strong or skilled person, or two people), can sit",
            ),
            Option(0, "完全依赖他人，不能坐（无坐位平衡）", "Unable, no sitting balance"),
        ),
    ),
    Item(
        code="mobility",
        label_zh="平地行走",
        label_en="Walking on level ground (45 m)",
        help_zh="在室内或周围平地行走45米，可使用拐杖、助行器等辅助器具。" + _COMMON_HELP_ZH,
        help_en="Walking 45 m indoors or around the house; sticks and walkers are allowed. "
        + _COMMON_HELP_EN,
        options=(
            Option(
                15,
                "可独立行走45米（可用辅助器具）",
                "Independent for 45 m (an aid is allowed)",
            ),
            Option(
                10,
                "需1人帮助（体力帮助或语言指导、监护）行走45米",
                "Walks 45 m with one person's help (physical, verbal or supervision)",
            ),
            Option(
                5,
                "不能行走，但能独立使用轮椅行进45米",
                "Independent in a wheelchair for 45 m",
            ),
            Option(0, "不能移动，或移动少于45米", "Immobile, or less than 45 m"),
        ),
    ),
    Item(
        code="stairs",
        label_zh="上下楼梯",
        label_en="Stairs",
        help_zh="上下一层楼梯，可扶扶手、用拐杖。" + _COMMON_HELP_ZH,
        help_en="Up and down one flight; handrail and sticks are allowed. " + _COMMON_HELP_EN,
        options=(
            Option(10, "可独立上下楼梯（可用辅助器具）", "Independent (an aid is allowed)"),
            Option(
                5,
                "需他人帮助（体力帮助或语言指导、监护）",
                "Needs help (physical, verbal or supervision)",
            ),
            Option(0, "不能上下楼梯", "Unable"),
        ),
    ),
)


def barthel_bands(severe_max: int = 40, moderate_max: int = 60) -> tuple[Band, ...]:
    """The four Barthel grades with the severe and moderate limits of a policy version.

    The defaults are the common Chinese form: <=40 severe, 41-60 moderate, 61-99 mild,
    100 independent. Check the result with `grading.check_rules` before relying on odd limits.
    """
    return (
        Band("severe", "重度依赖", "Severe dependency", 0, severe_max),
        Band("moderate", "中度依赖", "Moderate dependency", severe_max + 1, moderate_max),
        Band("mild", "轻度依赖", "Mild dependency", moderate_max + 1, 99),
        Band("independent", "无需依赖", "Independent", 100, 100),
    )


SOURCE = (
    "Mahoney & Barthel 1965; bands of the common Chinese form 日常生活能力评定量表: "
    "≤40 severe, 41–60 moderate, 61–99 mild, 100 independent."
)
DEFAULT_RULES = BandRules(bands=barthel_bands(), source=SOURCE)

BARTHEL = Instrument(
    code=CODE,
    version=VERSION,
    name_zh="日常生活活动能力评定量表（Barthel指数）",
    name_en="Barthel Index of activities of daily living",
    items=ITEMS,
    default_rules=DEFAULT_RULES,
)
