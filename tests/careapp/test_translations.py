"""The Chinese catalogue: every message translated, and one Chinese term per English one."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

PO = Path(__file__).resolve().parents[2] / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


@functools.cache
def catalogue() -> Catalog:
    with PO.open("rb") as po:
        return read_po(po, locale="zh")


def messages() -> list[Message]:
    return [message for message in catalogue() if message.id]


def msgid(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def msgstrs(message: Message) -> tuple[str, ...]:
    return (message.string,) if isinstance(message.string, str) else tuple(message.string)


def zh(english: str) -> str:
    message = catalogue().get(english)
    assert message is not None, english
    return msgstrs(message)[0]


def test_every_message_has_a_chinese_translation() -> None:
    untranslated = [
        msgid(m) for m in messages() if m.fuzzy or not all(s.strip() for s in msgstrs(m))
    ]
    assert untranslated == []


def test_translations_keep_the_placeholders() -> None:
    placeholder = re.compile(r"%\(\w+\)[sd]")
    broken = [
        msgid(m)
        for m in messages()
        if any(
            sorted(placeholder.findall(s)) != sorted(placeholder.findall(msgid(m)))
            for s in msgstrs(m)
        )
    ]
    assert broken == []


# Dispatch (caregivers to visits) and work orders (a client offered to providers) are two
# different things: each has its own Chinese word, used for nothing else.
DISPATCH_WORD, WORK_ORDER_WORD, OFFER_WORD = "派单", "工单", "邀约"


def test_dispatch_and_work_order_have_distinct_chinese_terms() -> None:
    assert zh("Dispatch") == DISPATCH_WORD
    assert zh("Run dispatch") == "开始派单"
    assert zh("Work order") == WORK_ORDER_WORD
    assert zh("Work orders") == "服务工单"
    assert zh("Answer the offer") == "答复邀约"
    assert zh("Work order offer") == "工单邀约"


def test_work_order_messages_never_say_dispatch() -> None:
    about_offers = re.compile(r"work order|\boffers?\b|\boffered\b", re.I)
    mixed = [
        msgid(m)
        for m in messages()
        if about_offers.search(msgid(m)) and DISPATCH_WORD in msgstrs(m)[0]
    ]
    assert mixed == []


def test_dispatch_messages_never_say_work_order() -> None:
    mixed = [
        msgid(m)
        for m in messages()
        if re.search(r"dispatch", msgid(m), re.I)
        and (WORK_ORDER_WORD in msgstrs(m)[0] or OFFER_WORD in msgstrs(m)[0])
    ]
    assert mixed == []
