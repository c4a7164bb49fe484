"""The 2021 national long-term-care disability grading standard: 17 items, grades 0-5.

《长期护理失能等级评估标准（试行）》, National Healthcare Security Administration and Ministry of
Civil Affairs, 医保办发〔2021〕37号, 2021-08-03. Three first-level indicators:

- C1 日常生活活动能力 (ADL): 10 items, total 0-100;
- C2 认知能力 (cognition): 4 items of 4-0 points, total 0-16;
- C3 感知觉与沟通能力 (sensory perception and communication): 3 items of 4-0 points, total 0-12.

Each indicator's total gives a level (intact / mildly / moderately / severely impaired); the ADL
level and the worse of the C2 and C3 levels combine into a grade (组合法). The option wording and
points follow published implementations of the annex form. The C2/C3 level bands and the
combination cells could not be checked against the official annex, so they are the DEFAULT
rules data (`DEFAULT_RULES`, see `SOURCE`); a policy version can correct any of them without a
code change.
"""

from __future__ import annotations

from assessments.types import (
    Band,
    CombinationRules,
    Indicator,
    IndicatorBands,
    Instrument,
    Item,
    Label,
    Option,
)

CODE = "national_2021"
VERSION = "2021"

ADL = "adl"
COGNITION = "cognition"
SENSORY = "sensory"

INDICATORS: tuple[Indicator, ...] = (
    Indicator(ADL, "日常生活活动能力", "Activities of daily living"),
    Indicator(COGNITION, "认知能力", "Cognition"),
    Indicator(SENSORY, "感知觉与沟通能力", "Sensory perception and communication"),
)

_ADL_HELP_ZH = "按近一个月的实际表现评分，不按能力评分；需他人监护或提示的不算独立。"
_ADL_HELP_EN = (
    "Score what the person actually does (the last month), not what they could do; "
    "needing supervision or prompting is not independent."
)
_COGNITION_HELP_ZH = "通过交谈和提问评估，必要时向照护者核实。"
_COGNITION_HELP_EN = "Assess by conversation and questions; check with the carer where needed."
_SENSORY_HELP_ZH = "可佩戴平时使用的眼镜、助听器等辅助器具后评估。"
_SENSORY_HELP_EN = "Assess with the glasses, hearing aid or other aids the person normally uses."

ADL_ITEMS: tuple[Item, ...] = (
    Item(
        code="feeding",
        label_zh="进食",
        label_en="Feeding",
        help_zh="用餐具将食物由容器送到口中、咀嚼、吞咽。留置鼻饲管等营养管的记0分。"
        + _ADL_HELP_ZH,
        help_en="Bringing food from the plate to the mouth, chewing and swallowing. "
        "An indwelling feeding tube scores 0. " + _ADL_HELP_EN,
        options=(
            Option(10, "可独立进食（在合理时间内）", "Independent (in a reasonable time)"),
            Option(
                5,
                "需部分帮助（如切碎、搅拌食物）",
                "Needs some help (e.g. food cut up or stirred)",
            ),
            Option(
                0,
                "需极大帮助或完全依赖他人，或留置营养管",
                "Needs major help or fully dependent, or an indwelling feeding tube",
            ),
        ),
        indicator=ADL,
    ),
    Item(
        code="dressing",
        label_zh="穿衣",
        label_en="Dressing",
        help_zh="穿脱衣裤、鞋袜，系扣、拉拉链、系鞋带。" + _ADL_HELP_ZH,
        help_en="Putting on and taking off clothes and shoes, buttons, zips, laces. "
        + _ADL_HELP_EN,
        options=(
            Option(10, "可独立完成", "Independent"),
            Option(
                5,
                "需部分帮助（能自己穿脱，但需他人帮助整理衣物、系扣、拉拉链、系鞋带）",
                "Needs some help (dresses, but needs help with buttons, zips or laces)",
            ),
            Option(0, "需极大帮助或完全依赖他人", "Needs major help or fully dependent"),
        ),
        indicator=ADL,
    ),
    Item(
        code="face_mouth_cleaning",
        label_zh="面部与口腔清洁",
        label_en="Face and mouth cleaning",
        help_zh="洗脸、刷牙（或清洁假牙）、梳头、剃须。" + _ADL_HELP_ZH,
        help_en="Washing the face, brushing teeth (or cleaning dentures), combing, shaving. "
        + _ADL_HELP_EN,
        options=(
            Option(5, "可独立完成", "Independent"),
            Option(0, "需他人帮助", "Needs help"),
        ),
        indicator=ADL,
    ),
    Item(
        code="bowels",
        label_zh="大便控制",
        label_en="Bowel control",
        help_zh="指近一周的情况。" + _ADL_HELP_ZH,
        help_en="The preceding week. " + _ADL_HELP_EN,
        options=(
            Option(10, "可控制大便", "Continent"),
            Option(5, "偶尔失控，或需要他人提示", "Occasional accident, or needs prompting"),
            Option(0, "完全失控", "Incontinent"),
        ),
        indicator=ADL,
    ),
    Item(
        code="bladder",
        label_zh="小便控制",
        label_en="Bladder control",
        help_zh="指近一周的情况。" + _ADL_HELP_ZH,
        help_en="The preceding week. " + _ADL_HELP_EN,
        options=(
            Option(10, "可控制小便", "Continent"),
            Option(5, "偶尔失控，或需要他人提示", "Occasional accident, or needs prompting"),
            Option(0, "完全失控，或留置导尿管", "Incontinent, or an indwelling catheter"),
        ),
        indicator=ADL,
    ),
    Item(
        code="toilet_use",
        label_zh="用厕",
        label_en="Toilet use",
        help_zh="去厕所、解开衣裤、擦净、整理衣裤、冲水。" + _ADL_HELP_ZH,
        help_en="Getting to the toilet, clothes, wiping, tidying clothes, flushing. "
        + _ADL_HELP_EN,
        options=(
            Option(10, "可独立完成", "Independent"),
            Option(
                5,
                "需部分帮助（需他人搀扶去厕所、帮忙冲水或整理衣裤等）",
                "Needs some help (led to the toilet, help with flushing or clothes)",
            ),
            Option(0, "需极大帮助或完全依赖他人", "Needs major help or fully dependent"),
        ),
        indicator=ADL,
    ),
    Item(
        code="walking",
        label_zh="平地行走",
        label_en="Walking on level ground",
        help_zh="在平地上行走45米，可使用拐杖、助行器等辅助器具。" + _ADL_HELP_ZH,
        help_en="Walking 45 m on level ground; sticks and walkers are allowed. " + _ADL_HELP_EN,
        options=(
            Option(15, "可独立在平地上行走45米", "Walks 45 m on level ground unaided"),
            Option(
                10,
                "需部分帮助（在一定程度上需他人搀扶，或使用拐杖、助行器等辅助器具）",
                "Needs some help (some support from a person, or a stick or walker)",
            ),
            Option(
                5,
                "需极大帮助（较大程度上依赖他人搀扶，或坐在轮椅上自行移动）",
                "Needs major help (leans heavily on a person, or moves in a wheelchair alone)",
            ),
            Option(0, "完全依赖他人", "Fully dependent"),
        ),
        indicator=ADL,
    ),
    Item(
        code="transfer",
        label_zh="床椅转移",
        label_en="Transfer (bed to chair and back)",
        help_zh="从床上移到椅子或轮椅上再回到床上。" + _ADL_HELP_ZH,
        help_en="Moving from the bed to a chair or wheelchair and back. " + _ADL_HELP_EN,
        options=(
            Option(15, "可独立完成", "Independent"),
            Option(
                10,
                "需部分帮助（需他人搀扶或使用拐杖）",
                "Needs some help (a person's support or a stick)",
            ),
            Option(
                5,
                "需极大帮助（较大程度上依赖他人搀扶和帮助）",
                "Needs major help (relies heavily on a person)",
            ),
            Option(0, "完全依赖他人", "Fully dependent"),
        ),
        indicator=ADL,
    ),
    Item(
        code="stairs",
        label_zh="上下楼梯",
        label_en="Stairs",
        help_zh="连续上下10–15个台阶，可扶扶手、用拐杖。" + _ADL_HELP_ZH,
        help_en="Up and down 10–15 steps in a row; handrail and sticks are allowed. "
        + _ADL_HELP_EN,
        options=(
            Option(10, "可独立上下楼梯", "Independent"),
            Option(
                5,
                "需部分帮助（需扶着楼梯、他人搀扶，或使用拐杖等）",
                "Needs some help (holds the rail, a person's support, or a stick)",
            ),
            Option(0, "需极大帮助或完全依赖他人", "Needs major help or fully dependent"),
        ),
        indicator=ADL,
    ),
    Item(
        code="bathing",
        label_zh="洗澡",
        label_en="Bathing",
        help_zh="盆浴、淋浴或擦浴均可。" + _ADL_HELP_ZH,
        help_en="Bath, shower or sponge bath. " + _ADL_HELP_EN,
        options=(
            Option(5, "准备好洗澡水后，可独立完成洗澡", "Independent once the water is ready"),
            Option(0, "洗澡过程中需他人帮助", "Needs help while bathing"),
        ),
        indicator=ADL,
    ),
)

COGNITION_ITEMS: tuple[Item, ...] = (
    Item(
        code="time_orientation",
        label_zh="时间定向",
        label_en="Orientation in time",
        help_zh="询问年、月、日、星期、季节、上午或下午。" + _COGNITION_HELP_ZH,
        help_en="Ask the year, month, date, weekday, season, morning or afternoon. "
        + _COGNITION_HELP_EN,
        options=(
            Option(4, "时间观念（年、月、日、时）清楚", "Clear sense of time (year, month, day)"),
            Option(
                3,
                "时间观念有些下降，年、月、日清楚，但有时相差几天",
                "Slightly reduced: knows the date but is sometimes a few days out",
            ),
            Option(
                2,
                "时间观念较差，年、月、日不清楚，可知上半年或下半年",
                "Poor: unsure of the date, knows the half of the year",
            ),
            Option(
                1,
                "时间观念很差，年、月、日不清楚，可知上午或下午",
                "Very poor: unsure of the date, knows morning or afternoon",
            ),
            Option(0, "无时间观念", "No sense of time"),
        ),
        indicator=COGNITION,
    ),
    Item(
        code="person_orientation",
        label_zh="人物定向",
        label_en="Orientation to people",
        help_zh="询问家人、亲属、邻居与本人的关系，辨认陌生人。" + _COGNITION_HELP_ZH,
        help_en="Ask how family, relatives and neighbours are related; recognising strangers. "
        + _COGNITION_HELP_EN,
        options=(
            Option(
                4,
                "知道周围人们的关系，知道祖孙、叔伯、姑姨、侄子侄女等称谓的意义；"
                "可分辨陌生人的大致年龄和身份，可用适当称呼",
                "Knows how people are related and what kinship terms mean; tells a "
                "stranger's rough age and role and addresses them suitably",
            ),
            Option(
                3,
                "只知家中亲密近亲的关系，不会分辨陌生人的大致年龄，不能称呼陌生人",
                "Knows close family relations only; cannot tell a stranger's age or address them",
            ),
            Option(
                2,
                "只能称呼家中人，或只能照样称呼，不知其关系，不辨辈分",
                "Can name household members only, without knowing how they are related",
            ),
            Option(
                1,
                "只认识常同住的亲人，可称呼子女或孙子女，可辨熟人和生人",
                "Recognises only relatives living with them; tells familiar from strange",
            ),
            Option(
                0,
                "只认识保护人，不辨熟人和生人",
                "Recognises only the carer; cannot tell familiar from strange",
            ),
        ),
        indicator=COGNITION,
    ),
    Item(
        code="place_orientation",
        label_zh="空间定向",
        label_en="Orientation in space",
        help_zh="询问住址、所在地点，能否单独外出并返回。" + _COGNITION_HELP_ZH,
        help_en="Ask the address and where they are; whether they can go out alone and return. "
        + _COGNITION_HELP_EN,
        options=(
            Option(
                4,
                "能在日常生活范围内单独外出，如在日常居住小区内独自外出购物等",
                "Goes out alone within their daily surroundings (e.g. shopping nearby)",
            ),
            Option(
                3,
                "不能单独外出，但能准确知道自己日常生活所在地的地址信息",
                "Does not go out alone but knows their address exactly",
            ),
            Option(
                2,
                "不能单独外出，但知道较多有关自己日常生活的地址信息",
                "Does not go out alone; knows much of their address",
            ),
            Option(
                1,
                "不能单独外出，但知道较少自己居住或生活所在地的地址信息",
                "Does not go out alone; knows little of their address",
            ),
            Option(0, "不能单独外出，无空间观念", "Does not go out alone; no sense of place"),
        ),
        indicator=COGNITION,
    ),
    Item(
        code="memory",
        label_zh="记忆力",
        label_en="Memory",
        help_zh="说出3个词语，5分钟后请其回忆；询问上一顿饭和老朋友。" + _COGNITION_HELP_ZH,
        help_en="Say three words and ask for them after 5 minutes; ask about the last meal "
        "and old friends. " + _COGNITION_HELP_EN,
        options=(
            Option(
                4,
                "总是能够保持与社会、年龄所适应的记忆能力，能够完整回忆",
                "Memory as expected for age; recalls fully",
            ),
            Option(
                3,
                "出现轻度的记忆紊乱或回忆不能（不能回忆即时信息，3个词语经过5分钟后仅能回忆0–1个）",
                "Mild disturbance (recalls 0–1 of 3 words after 5 minutes)",
            ),
            Option(
                2,
                "出现中度的记忆紊乱或回忆不能（不能回忆近期记忆，不记得上一顿饭吃了什么）",
                "Moderate disturbance (cannot recall recent events, e.g. the last meal)",
            ),
            Option(
                1,
                "出现重度的记忆紊乱或回忆不能（不能回忆远期记忆，不记得自己的老朋友）",
                "Severe disturbance (cannot recall the distant past, e.g. old friends)",
            ),
            Option(
                0,
                "记忆完全紊乱或完全不能对既往事物进行正确的回忆",
                "Memory entirely disturbed; recalls nothing correctly",
            ),
        ),
        indicator=COGNITION,
    ),
)

SENSORY_ITEMS: tuple[Item, ...] = (
    Item(
        code="vision",
        label_zh="视力",
        label_en="Vision",
        help_zh="请其阅读书报上的标准字体和大标题，辨认物体。" + _SENSORY_HELP_ZH,
        help_en="Ask them to read standard print and headlines, and to recognise objects. "
        + _SENSORY_HELP_EN,
        options=(
            Option(4, "能看清书报上的标准字体", "Reads standard print"),
            Option(
                3,
                "能看清楚大字体，但看不清书报上的标准字体",
                "Reads large print but not standard print",
            ),
            Option(
                2,
                "视力有限，看不清报纸大标题，但能辨认物体",
                "Limited: cannot read headlines but recognises objects",
            ),
            Option(
                1,
                "辨认物体有困难，但眼睛能跟随物体移动，只能看到光、颜色和形状",
                "Hardly recognises objects; eyes follow them; sees light, colour and shape",
            ),
            Option(0, "没有视力，眼睛不能跟随物体移动", "No sight; eyes do not follow objects"),
        ),
        indicator=SENSORY,
    ),
    Item(
        code="hearing",
        label_zh="听力",
        label_en="Hearing",
        help_zh="在正常交谈中观察，必要时轻声或在2米外说话。" + _SENSORY_HELP_ZH,
        help_en="Observe during normal conversation; speak softly or from 2 m where needed. "
        + _SENSORY_HELP_EN,
        options=(
            Option(
                4,
                "可正常交谈，能听到电视、电话、门铃的声音",
                "Converses normally; hears the television, telephone and doorbell",
            ),
            Option(
                3,
                "在轻声说话或说话距离超过2米时听不清",
                "Cannot hear soft speech or speech from more than 2 m",
            ),
            Option(
                2,
                "正常交流有些困难，需在安静的环境或大声说话才能听到",
                "Some difficulty; needs quiet surroundings or a loud voice",
            ),
            Option(
                1,
                "讲话者大声说话或说话很慢，才能部分听见",
                "Hears partly, only when the speaker is loud or very slow",
            ),
            Option(0, "完全听不见", "Hears nothing"),
        ),
        indicator=SENSORY,
    ),
    Item(
        code="communication",
        label_zh="沟通能力",
        label_en="Communication",
        help_zh="观察其表达需要、理解他人话语的能力（含非言语表达）。" + _SENSORY_HELP_ZH,
        help_en="Observe how they express needs and understand others (including non-verbally). "
        + _SENSORY_HELP_EN,
        options=(
            Option(4, "无困难，能与他人正常沟通和交流", "No difficulty communicating"),
            Option(
                3,
                "能够表达自己的需要及理解别人的话，但需要增加时间或给予帮助",
                "Expresses needs and understands, but needs more time or help",
            ),
            Option(
                2,
                "表达需要或理解有困难，需频繁重复或简化口头表达",
                "Difficulty expressing or understanding; needs frequent repetition",
            ),
            Option(
                1,
                "勉强可与人交往，谈吐内容不清楚，表情不恰当",
                "Barely communicates; unclear speech, inappropriate expression",
            ),
            Option(0, "不能表达需要或理解他人的话", "Cannot express needs or understand others"),
        ),
        indicator=SENSORY,
    ),
)

INTACT, MILD, MODERATE, SEVERE = "intact", "mild", "moderate", "severe"

LEVELS: tuple[Label, ...] = (
    Label(INTACT, "能力完好", "Intact"),
    Label(MILD, "轻度受损", "Mildly impaired"),
    Label(MODERATE, "中度受损", "Moderately impaired"),
    Label(SEVERE, "重度受损", "Severely impaired"),
)

GRADES: tuple[Label, ...] = (
    Label("0", "基本正常", "Basically normal"),
    Label("1", "轻度失能", "Mild disability"),
    Label("2", "中度失能", "Moderate disability"),
    Label("3", "重度失能Ⅰ级", "Severe disability I"),
    Label("4", "重度失能Ⅱ级", "Severe disability II"),
    Label("5", "重度失能Ⅲ级", "Severe disability III"),
)


def level_bands(
    severe_max: int, moderate_max: int, mild_max: int, maximum: int
) -> tuple[Band, ...]:
    """An indicator's four level bands, most impaired (lowest totals) first."""
    labels = {level.code: level for level in LEVELS}
    limits = (
        (SEVERE, 0, severe_max),
        (MODERATE, severe_max + 1, moderate_max),
        (MILD, moderate_max + 1, mild_max),
        (INTACT, mild_max + 1, maximum),
    )
    return tuple(
        Band(code, labels[code].label_zh, labels[code].label_en, low, high)
        for code, low, high in limits
    )


SOURCE = (
    "《长期护理失能等级评估标准（试行）》医保办发〔2021〕37号 (2021-08-03). Default level bands "
    "and combination table as published in implementations; the C2/C3 bands and the table cells "
    "were not checked against the official annex: correct them in a policy version if they differ."
)

DEFAULT_RULES = CombinationRules(
    levels=LEVELS,
    indicator_bands=(
        IndicatorBands(ADL, level_bands(40, 60, 99, 100)),  # 41-44, 61-64, 96-99: unreachable
        IndicatorBands(COGNITION, level_bands(3, 11, 15, 16)),
        IndicatorBands(SENSORY, level_bands(3, 7, 11, 12)),
    ),
    row_indicator=ADL,
    column_indicators=(COGNITION, SENSORY),
    # Rows: ADL intact, mild, moderate, severe; columns: the worse of C2 and C3, same order.
    table=(
        ("0", "0", "1", "1"),
        ("1", "1", "1", "2"),
        ("2", "2", "2", "3"),
        ("3", "3", "4", "5"),
    ),
    grades=GRADES,
    source=SOURCE,
)

NATIONAL_2021 = Instrument(
    code=CODE,
    version=VERSION,
    name_zh="长期护理失能等级评估标准（试行）",
    name_en="National long-term care disability grading standard (2021, trial)",
    items=ADL_ITEMS + COGNITION_ITEMS + SENSORY_ITEMS,
    default_rules=DEFAULT_RULES,
    indicators=INDICATORS,
)
