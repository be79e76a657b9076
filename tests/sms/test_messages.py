"""Sixty-odd real-looking messages through the signed webhook, in order, with the expected
outcome of each: mixed scripts, separators, typos, wrong PINs and the lockout, duplicates,
gateway retries, unknown numbers, over-long messages, stations not assigned to the sender.

Runs against SQLite and PostgreSQL. The expected outcomes are the format's rules as written in
the README and in ``saylau.sms.grammar``; the expected reply fragments are written out here in
each language (not read from the catalogues).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from saylau.store.audit import verify_chain
from saylau.store.headcounts import head_counts
from saylau.store.models import SmsInbound, SmsPinAttempt, Submission
from tests.sms._gateway import PHONES, Gateway, serving

O1, P1 = PHONES["obs1"]  # kk, ALA-1 + ALA-2
O2, P2 = PHONES["obs2"]  # ru, ALA-1
O3, P3 = PHONES["obs3"]  # en, AST-1
I1, PI = PHONES["int1"]  # kk, interviewer at ALA-1
UNKNOWN = "+77019999999"


def proto(a: int, b: int = 150, against: int = 40, *, invalid: int = 10, sep: str = " ") -> str:
    """Lines of a kz protocol that meets every control relation (see tests/_service.protocol):
    1 on the list, 2 issued, 4 in the boxes, 6 invalid, 7 received, 8 cancelled, K1..K3."""
    boxes = a + b + against + invalid
    parts = [
        "1=1500",
        f"2={boxes}",
        f"4={boxes}",
        f"6={invalid}",
        f"7={boxes + 100}",
        "8=100",
        f"K1={a}",
        f"K2={b}",
        f"K3={against}",
    ]
    return sep.join(parts)


LONG_LATIN = f"P ALA-1 {P1} " + "1=1500 " * 70  # 490+ GSM characters: more than 3 SMS
LONG_CYRILLIC = f"I ALA-1 {P1} VOTE.STUFFING " + "б" * 180  # > 201 UCS-2 characters
FITS_CYRILLIC = f"I ALA-1 {P1} VOTE.CAROUSEL " + "ә" * 170  # 197 UCS-2 characters: 3 SMS

# (sender, text, status, reason, submissions created, fragment of the reply)
# a "#n" text repeats row n's text with a new gateway id; "@n" re-sends row n's gateway call
ROWS: list[tuple[str, str, str, str, int, str]] = [
    # --- valid protocols, every way of typing them
    (O1, f"P ALA-1 {P1} {proto(400)}", "recorded", "recorded", 1, "Жазылды"),
    (O1, f"р ALA-1 {P1} {proto(401)}".replace("K", "к"), "recorded", "recorded", 1, "Жазылды"),
    (
        O1,
        f"P  ALA-1 ,{P1}; 1 = 1500, 2:602 ; 4-602 6.10 7/702 8#100 K1=402 K2=150 K3=40",
        "recorded",
        "recorded",
        1,
        "9",
    ),
    (O1, f"Р АLА-2 {P1} {proto(403)}".replace("K", "Қ"), "recorded", "recorded", 1, "ALA-2"),
    (O1, f"p ala-2 {P1} {proto(404)}".replace("K", "q"), "recorded", "recorded", 1, "Жазылды"),
    (
        O1,
        f"P ALA-1 {P1} 1=１５００ 2=605 4=605 6=10 7=705 8=100 K1=405 K2=150 K3=40",
        "recorded",
        "recorded",
        1,
        "Жазылды",
    ),
    (O1, f"P ALA-1 {P1}\n{proto(406, sep=chr(10))}", "recorded", "recorded", 1, "Жазылды"),
    (O1, f"P ALA-1 {P1} {proto(407)} 3=607 9=0 10=0", "recorded", "recorded", 1, "Жазылды"),
    (O1, f"P ALA-1 {P1} {proto(408)}".replace("6=10", "6=?"), "recorded", "recorded", 1, ""),
    (O1, f"P ALA-1 {P1} {proto(409)} I VOTE.STUFFING", "recorded", "recorded", 2, "оқиғасы"),
    (
        O1,
        f"P ALA-1 {P1} {proto(410)}".replace("K3=40", "K3=39"),
        "recorded",
        "recorded",
        1,
        "4 = 6 + ΣK",
    ),
    (O2, f"P ALA-1 {P2} {proto(411)}", "recorded", "recorded", 1, "Записано"),
    (O3, f"P AST-1 {P3} {proto(412)}", "recorded", "recorded", 1, "Checks passed"),
    (O1, f"P,ALA-1,{P1},{proto(413, sep=',')}", "recorded", "recorded", 1, "Жазылды"),
    # --- incidents
    (
        O1,
        f"I ALA-1 {P1} VOTE.STUFFING bundle of ballots in the box",
        "recorded",
        "recorded",
        1,
        "VOTE.STUFFING",
    ),
    (
        O1,
        f"и ALA-1 {P1} stuffing пачка бюллетеней в урне",
        "recorded",
        "recorded",
        1,
        "VOTE.STUFFING",
    ),
    (O1, f"I ALA-1 {P1} COUNT.HIDDEN", "recorded", "recorded", 1, "COUNT.HIDDEN"),
    (O1, f"i ala-1 {P1} carousel автобустар", "recorded", "recorded", 1, "VOTE.CAROUSEL"),
    (O1, f"I ALA-1 {P1} VOTE тексеру", "rejected", "unknown_category", 0, "«VOTE»"),
    (O1, f"I ALA-1 {P1} XYZ.FOO бірдеңе", "rejected", "unknown_category", 0, "XYZ.FOO"),
    (O1, f"I ALA-1 {P1}", "rejected", "unknown_category", 0, "Ештеңе жазылмады"),
    (O1, FITS_CYRILLIC, "recorded", "recorded", 1, "VOTE.CAROUSEL"),
    # --- exit-poll tallies
    (I1, f"X ALA-1 {PI} K1=45 K2=30 K3=5 K0=7", "recorded", "recorded", 1, "87"),
    (I1, f"х ALA-1 {PI} к1=12 к2=9", "recorded", "recorded", 1, "21"),
    (O1, f"X ALA-1 {P1} K1=45 K2=30", "rejected", "wrong_role", 0, "рөліңіз"),
    (I1, f"P ALA-1 {PI} {proto(420)}", "rejected", "wrong_role", 0, "рөліңіз"),
    (I1, f"X ALA-1 {PI} K4=5", "rejected", "unknown_code", 0, "«K4=5»"),
    (I1, f"X AST-1 {PI} K1=5 K2=3", "rejected", "not_assigned", 0, "AST-1"),
    # --- what cannot be read: the reply names the word
    (O1, f"Q ALA-1 {P1} {proto(430)}", "rejected", "unknown_kind", 0, "«Q»"),
    (O1, f"PROTOCOL ALA-1 {P1} {proto(431)}", "rejected", "unknown_kind", 0, "PROTOCOL"),
    (O1, "   ", "rejected", "empty", 0, "P <учаске> <PIN>"),
    (O1, "P", "rejected", "missing_station", 0, "учаске"),
    (O1, "P ALA-1", "rejected", "bad_pin", 0, "3-сөз"),
    (O1, f"P ALA-1 12 {proto(432)}", "rejected", "bad_pin", 0, "3-сөз"),
    (O1, f"P {P1} ALA-1 {proto(432)}", "rejected", "bad_pin", 0, "3-сөз"),  # PIN misplaced
    (O1, f"P ALA-1 {P1}", "rejected", "no_figures", 0, "Ештеңе жазылмады"),
    (
        O1,
        f"P ALA-1 {P1} {proto(433)}".replace("K2=150", "K2"),
        "rejected",
        "missing_value",
        0,
        "11-сөз «K2»",
    ),
    (
        O1,
        f"P ALA-1 {P1} {proto(434)}".replace("2=634", "2=6OO"),
        "rejected",
        "bad_value",
        0,
        "«2=6OO»",
    ),
    (O1, f"P ALA-1 {P1} 1=1500 1=1500 {proto(435)[7:]}", "rejected", "repeated_code", 0, "5-сөз"),
    (O1, f"P ALA-1 {P1} {proto(436)} 5=10", "rejected", "unknown_code", 0, "«5=10»"),
    (O1, f"P ALA-1 {P1} {proto(437)} K4=10", "rejected", "unknown_code", 0, "«K4=10»"),
    (
        O1,
        f"P ALA-1 {P1} {proto(438)}".replace("4=638", "4=6.38"),
        "rejected",
        "bad_value",
        0,
        "«4=6.38»",
    ),
    (
        O1,
        f"P ALA-1 {P1} {proto(439)}".replace(" 8=100", ""),
        "rejected",
        "line_missing",
        0,
        "8-жол",
    ),
    (
        O1,
        f"P ALA-1 {P1} {proto(440)}".replace(" K2=150", ""),
        "rejected",
        "line_missing",
        0,
        "K2-жол",
    ),
    (
        O1,
        f"P ALA-1 {P1} {proto(441)}".replace("1=1500", "1=99999999999"),
        "rejected",
        "bad_value",
        0,
        "99999999999",
    ),
    (
        O1,
        f"P ALA-1 {P1} {proto(442)}".replace("1=1500", "1=9999999999"),
        "rejected",
        "bad_line",
        0,
        "1-жол",
    ),
    (O1, f"P ZZZ-9 {P1} {proto(443)}", "rejected", "unknown_station", 0, "«ZZZ-9»"),
    (O1, f"P AST-1 {P1} {proto(444)}", "rejected", "not_assigned", 0, "AST-1 учаскесі"),
    (O2, f"P ALA-2 {P2} {proto(445)}", "rejected", "not_assigned", 0, "не закреплён"),
    (O1, LONG_LATIN, "rejected", "too_long", 0, "4 SMS"),
    (O1, LONG_CYRILLIC, "rejected", "too_long", 0, "тым ұзын"),
    # --- duplicates and gateway retries
    (O1, "#1", "duplicate", "duplicate", 0, "(1 хабарлама)"),
    (O1, f"p   ala-1   {P1}   {proto(400)}", "duplicate", "duplicate", 0, "(1 хабарлама)"),
    (O1, "@2", "recorded", "recorded", 0, "Жазылды"),
    (O2, "#12", "duplicate", "duplicate", 0, "Уже получено"),
    # --- unknown numbers: kept, never counted
    (UNKNOWN, f"P ALA-1 {P1} {proto(450)}", "quarantined", "unknown_number", 0, "not registered"),
    (
        "87019999998",
        f"П ALA-1 1234 {proto(451)}",
        "quarantined",
        "unknown_number",
        0,
        "не зарегистрирован",
    ),
    (UNKNOWN, "сәлем", "quarantined", "unknown_number", 0, "тіркелмеген"),
    # --- wrong PINs lock the number out after five; other numbers go on
    (O2, f"P ALA-1 1111 {proto(460)}", "wrong_pin", "wrong_pin", 0, "попыток: 4"),
    (O2, f"P ALA-1 2222 {proto(461)}", "wrong_pin", "wrong_pin", 0, "попыток: 3"),
    (O2, f"P ALA-1 3333 {proto(462)}", "wrong_pin", "wrong_pin", 0, "попыток: 2"),
    (O2, f"P ALA-1 4444 {proto(463)}", "wrong_pin", "wrong_pin", 0, "попыток: 1"),
    (O2, f"P ALA-1 6666 {proto(464)}", "wrong_pin", "wrong_pin", 0, "заблокирован"),
    (O2, f"P ALA-1 {P2} {proto(465)}", "locked", "locked", 0, "60 мин"),
    (O2, "garbage", "locked", "locked", 0, "заблокирован"),
    (O1, f"P ALA-1 {P1} {proto(466)}", "recorded", "recorded", 1, "Жазылды"),
    # --- head counts (voters seen entering by each checkpoint; commission's figure after /)
    (O1, f"HC ALA-1 {P1} 1000=120 1200=310/290 C=800", "recorded", "recorded", 1, "санағы"),
    (O3, f"нс AST-1 {P3} 10:00=55, 15.00=230", "recorded", "recorded", 1, "head count"),
    (O1, f"HC ALA-1 {P1} 2500=5", "rejected", "bad_time", 0, "тәулік уақыты емес"),
    (I1, f"HC ALA-1 {PI} 1000=12", "rejected", "wrong_role", 0, "рөліңіз"),
]


def _submissions(db: Any) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Submission)) or 0)


def test_sixty_messages(election: tuple[str, dict[str, str]]) -> None:
    assert len(ROWS) >= 60
    url, _passwords = election
    pins = {n: p for n, p in PHONES.values()}
    with serving(url) as (base, db):
        gw = Gateway(base)
        sent: list[tuple[str, str, str]] = []  # (sender, text, gateway id) per row
        answers: list[dict[str, Any]] = []
        wrong = []
        for i, (sender, text, status, reason, created, fragment) in enumerate(ROWS, start=1):
            before = _submissions(db)
            gateway_id = None
            if text.startswith("#"):
                text = sent[int(text[1:]) - 1][1]
            elif text.startswith("@"):
                sender, text, gateway_id = sent[int(text[1:]) - 1]
            r = gw.send(sender, text, gateway_id)
            sent.append((sender, text, gateway_id or f"gw-{gw.n}"))
            body = r.json()
            answers.append(body)
            got = (r.status_code, body.get("status"), body.get("reason"), _submissions(db) - before)
            reply = (body.get("reply") or {}).get("text", "")
            if got != (200, status, reason, created) or fragment not in reply:
                wrong.append(
                    f"row {i}: {text[:60]!r}: got {got} {reply!r}, "
                    f"expected {status}/{reason}/+{created} with {fragment!r}"
                )
            pin = pins.get(sender)
            if pin and pin in reply:
                wrong.append(f"row {i}: the reply repeats the PIN: {reply!r}")
        gw.close()
        assert not wrong, "\n".join(wrong)
        # a duplicate names the message it repeats; a retry answers the same message
        assert "(1 " in answers[51]["reply"]["text"] and answers[53]["message_id"] == 2
        with db.read() as s:
            stored = list(s.scalars(select(SmsInbound)))
            failures = s.scalar(
                select(func.count()).select_from(SmsPinAttempt).where(~SmsPinAttempt.ok)
            )
            assert verify_chain(s).ok
        # every message stored (the gateway retry is the same message), none with its PIN
        assert len(stored) == len(ROWS) - 1
        for m in stored:
            assert all(pin not in m.text for pin in pins.values()), m.text
        assert failures == 5
        # the head counts sent by SMS reach the turnout comparison's table
        with db.read() as s:
            frame = head_counts(s, ["ALA-1"]).frame.sort("minute")
        assert frame["count"].to_list() == [120, 310, 800]
        assert frame["official"].to_list() == [None, 290, None]
