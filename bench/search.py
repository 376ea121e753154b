"""Benchmark: full-text search of cases at 100,000 cases.

    python -m bench.search [--cases 100000] [--searches 200] [--rounds 3] [--url EMPTY_DB]
                           [--reuse --url DB] [--peer-searches 20]

Builds a fresh database (a temporary SQLite file unless --url names an empty database) with
``--cases`` cases written like real ones (a title, a problem statement, two timeline notes, a
hypothesis and two actions each, from a vocabulary of places, problems and people), bulk
inserted, then the search index built in bulk (``app.search.index.rebuild_all``).

Each round searches for ``--searches`` words picked at random from the words that occur only in
notes (some rare, some in thousands of cases), through ``app.cases.service.list_cases``: the
service function ``GET /api/v1/cases?q=`` calls, with its scope filter, count, first page of 50
by relevance, snippets and access-log entry (committed). It does so as a force-wide analyst
(every case visible) and as a borough officer (scope in the query). The peer, in the same run,
is the LIKE scan the list used before (any case whose title, problem statement or notes contain
the word, newest first, with its count), for the first ``--peer-searches`` words of each round
(it takes about a second a search). ``--reuse`` searches a database an earlier run built.

Target: the p95 of the full-text searches under 50 ms in every round, on PostgreSQL and on
SQLite. Prints min–max over the rounds and PASS or FAIL.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import exists, func, insert, or_, select
from sqlalchemy.orm import Session

from app.auth.context import Actor, Channel
from app.auth.models import User
from app.auth.permissions import visible_cases
from app.auth.roles import Role
from app.cases.models import Action, Case, CaseEvent, EventKind, Hypothesis, RefCounter
from app.cases.schemas import CaseFilters
from app.cases.service import list_cases
from app.cli import alembic_config
from app.db import make_engine, make_session_factory
from app.reference.models import Borough, Ward
from app.search.index import rebuild_all

TARGET_MS = 50.0
CATEGORIES = ["violent-crime", "drugs", "anti-social-behaviour", "robbery", "burglary",
              "vehicle-crime", "criminal-damage-arson", "shoplifting"]
STAGES = ["scanning", "analysis", "response", "assessment", "closed"]
PROBLEMS = ["street drinking", "drug dealing", "begging", "moped robbery", "phone snatching",
            "car break-ins", "graffiti", "fly-tipping", "rough sleeping", "youth disorder",
            "shoplifting", "bike theft", "burglary", "knife crime", "noise", "intimidation"]
PLACES = ["market", "estate", "underpass", "car park", "station", "parade", "park",
          "towpath", "high street", "playground", "stairwell", "bus stop", "church yard",
          "footbridge", "garages", "shopping centre", "canal", "cemetery", "arcade", "square"]
PEOPLE = ["residents", "traders", "the ward panel", "the housing officer", "a councillor",
          "the school", "street cleaners", "security staff", "the landlord", "neighbours"]
# Things that appear in notes only (never in titles or problem statements). Their frequencies
# follow a Zipf curve: the commonest is in a third of all cases, the rarest in under 1%.
NOTE_WORDS = ["padlock", "kiosk", "lamppost", "hoarding", "bollard", "shutter", "tarpaulin",
              "skip", "scooter", "trolley", "mattress", "syringe", "balaclava", "hoodie",
              "doorway", "alleyway", "gatepost", "railings", "bins", "benches", "cctv",
              "floodlight", "intercom", "letterbox", "fire escape", "basement", "roof",
              "loading bay", "cashpoint", "phone box", "vape", "lighter", "canister", "ladder",
              "wheelie", "pushchair", "ambulance", "taxi", "minicab", "delivery rider",
              "courier", "warden", "caretaker", "concierge", "steward", "bouncer", "busker",
              "pigeon", "fox", "dog walker", "jogger", "cyclist", "tourist", "commuter"]
VERBS = ["reported", "saw", "complained about", "photographed", "mentioned", "asked about",
         "found", "cleared", "logged", "checked"]
# Notes also name streets and people, as real ones do: a larger vocabulary, each word rarer.
STREETS = ["Abbey", "Albany", "Alderney", "Ashmill", "Balcombe", "Barnsbury", "Beaumont",
           "Bellamy", "Blandford", "Bosworth", "Brendon", "Bridport", "Broadley", "Bulstrode",
           "Burwood", "Calthorpe", "Camley", "Carlow", "Cosway", "Crawford", "Dalby", "Danbury",
           "Delamere", "Denbigh", "Dorset", "Downham", "Ebury", "Elgin", "Enford", "Fernhead",
           "Fisherton", "Frampton", "Garway", "Gloucester", "Granby", "Hallfield", "Harrow",
           "Hatton", "Heathcote", "Ivor", "Kilburn", "Lanark", "Lisson", "Lorne", "Luxborough",
           "Maida", "Malvern", "Marylands", "Molyneux", "Mozart", "Nutford", "Orsett",
           "Penfold", "Porchester", "Princess", "Queensway", "Rossmore", "Rutland", "Salisbury",
           "Shirland", "Stowe", "Sutherland", "Tachbrook", "Torquay", "Tresham", "Upbrook",
           "Walterton", "Warwick", "Westbourne", "Wymering"]
SUFFIXES = ["Road", "Street", "Place", "Mews", "Gardens", "Crescent", "Terrace", "Walk"]
SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
            "Patel", "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts",
            "Green", "Hall", "Thomas", "Clarke", "Jackson", "Wood", "Harris", "Edwards",
            "Turner", "Martin", "Cooper", "Hill", "Ward", "Hughes", "Moore", "Clark", "King",
            "Harrison", "Lewis", "Baker", "Lee", "Allen", "Morris", "Khan", "Scott", "Watson",
            "Davis", "Parker", "James", "Bennett", "Young", "Phillips", "Richardson",
            "Mitchell", "Bailey", "Carter", "Cook", "Singh", "Shaw", "Bell", "Collins",
            "Morgan", "Kelly", "Begum", "Miller", "Cox", "Hussain", "Marshall", "Simpson",
            "Price", "Anderson", "Adams", "Wilkinson", "Ali", "Ahmed", "Foster", "Ellis",
            "Murphy", "Chapman", "Mason", "Gray", "Richards", "Webb", "Griffiths", "Hunt",
            "Palmer", "Campbell", "Holmes", "Mills", "Rogers", "Barnes", "Knight", "Matthews",
            "Barker", "Powell", "Stevens", "Kaur", "Fisher", "Butler", "Dixon", "Russell",
            "Harvey", "Pearson", "Graham"]


ZIPF = [1 / (rank + 1) for rank in range(len(NOTE_WORDS))]
SURNAME_ZIPF = [1 / (rank + 1) for rank in range(len(SURNAMES))]
# The searches: any word found only in notes, each as likely as another.
SEARCH_WORDS = [*NOTE_WORDS, *STREETS, *SURNAMES]


def sentence(rng: random.Random) -> str:
    word = rng.choices(NOTE_WORDS, ZIPF)[0]
    surname = rng.choices(SURNAMES, SURNAME_ZIPF)[0]
    return (f"{rng.choice(PEOPLE).capitalize()} {rng.choice(VERBS)} the {word} by "
            f"{rng.randint(1, 180)} {rng.choice(STREETS)} {rng.choice(SUFFIXES)}; "
            f"{rng.choice(PROBLEMS)} again after dark, "
            f"{rng.choice(['twice', 'most nights', 'at weekends', 'on market days'])}. "
            f"Spoke to {rng.choice(['Mr', 'Mrs', 'Ms'])} {surname} at the {rng.choice(PLACES)}.")


def build(url: str, n_cases: int) -> None:
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rng = random.Random(17)
    with factory() as db:
        wards = list(db.scalars(select(Ward)))
        prefixes = {b.code: b.ref_prefix for b in db.scalars(select(Borough))}
        db.add_all([User(username="analyst.bench", display_name="Analyst Bench",
                         role=Role.ANALYST, borough_code=None),
                    User(username="pc.bench", display_name="PC Bench", role=Role.OFFICER,
                         borough_code="E09000033")])
        db.commit()
        now, counters = datetime.now(UTC), dict[str, int]()
        for start in range(0, n_cases, 5000):
            rows = _batch(rng, range(start, min(start + 5000, n_cases)), wards, prefixes,
                          counters, now)
            for model, values in rows.items():
                db.execute(insert(model), values)
            db.commit()
        db.execute(insert(RefCounter), [{"prefix": p, "year": 2026, "last_number": n}
                                        for p, n in counters.items()])
        db.commit()
    with engine.begin() as conn:  # the index, in bulk, as the migration fills it
        rebuild_all(conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def _batch(rng: random.Random, numbers: range, wards: list[Ward], prefixes: dict[str, str],
           counters: dict[str, int], now: datetime) -> dict[type, list[dict[str, object]]]:
    rows: dict[type, list[dict[str, object]]] = {Case: [], CaseEvent: [], Hypothesis: [],
                                                 Action: []}
    for i in numbers:
        ward = rng.choice(wards)
        prefix = prefixes[ward.borough_code]
        counters[prefix] = counters.get(prefix, 0) + 1
        moment = now - timedelta(minutes=i)
        problem, place = rng.choice(PROBLEMS), rng.choice(PLACES)
        rows[Case].append({
            "id": i + 1, "ref": f"{prefix}-2026-{counters[prefix]:05d}", "ref_prefix": prefix,
            "ref_year": 2026, "ref_number": counters[prefix],
            "title": f"{problem.capitalize()} at the {place}, {ward.name}",
            "problem_statement": f"{rng.choice(PEOPLE).capitalize()} report {problem} at the "
                                 f"{place} near {ward.name}, "
                                 f"{rng.choice(['every evening', 'on weekdays', 'since spring'])}"
                                 f". {rng.choice(PROBLEMS).capitalize()} is also reported.",
            "category": rng.choice(CATEGORIES), "priority": rng.choice(["low", "medium", "high"]),
            "source": "officer", "borough_code": ward.borough_code, "ward_code": ward.code,
            "team": "", "target_area_name": "", "analysis_summary": "", "response_plan": "",
            "process_evaluation": "", "impact_evaluation": "", "lessons_learned": "",
            "stage": rng.choice(STAGES), "stage_entered_at": moment, "created_at": moment,
            "updated_at": moment, "last_activity_at": moment, "version": 1,
        })
        rows[CaseEvent] += [{"case_id": i + 1, "at": moment, "kind": EventKind.NOTE.value,
                             "summary": "Note", "body": sentence(rng),
                             "overridden": False, "details": {}} for _ in range(2)]
        rows[Hypothesis].append({
            "case_id": i + 1, "statement": f"Offenders use the {rng.choice(PLACES)} because "
                                          f"{rng.choice(PEOPLE)} are not around after dark",
            "status": "open", "evidence": "", "created_at": moment, "version": 1})
        rows[Action] += [{"case_id": i + 1, "title": f"Work with {rng.choice(PEOPLE)} on the "
                                                     f"{rng.choice(PLACES)}",
                          "partner": "police", "owner": "PC Bench", "status": "planned",
                          "notes": "", "created_at": moment, "version": 1} for _ in range(2)]
    return rows


def like_scan(db: Session, user: User, word: str) -> tuple[list[int], int]:
    """The peer: the LIKE scan over the same text, newest first, with its count."""
    pattern = word.lower()
    in_notes = exists().where(CaseEvent.case_id == Case.id, CaseEvent.kind == EventKind.NOTE,
                              func.lower(CaseEvent.body).contains(pattern, autoescape=True))
    query = select(Case.id).where(visible_cases(user, Case.borough_code), or_(
        func.lower(Case.title).contains(pattern, autoescape=True),
        func.lower(Case.problem_statement).contains(pattern, autoescape=True), in_notes))
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = list(db.scalars(query.order_by(Case.updated_at.desc(), Case.id.desc()).limit(50)))
    return ids, total


def timed(words: list[str], work: Callable[[str], int]) -> tuple[list[float], list[int]]:
    times, found = [], []
    for word in words:
        started = time.perf_counter()
        found.append(work(word))
        times.append((time.perf_counter() - started) * 1000)
    return times, found


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def run(url: str, searches: int, rounds: int, peer_searches: int) -> bool:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rng = random.Random(5)
    results: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    matches: list[int] = []
    with factory() as db:
        people = {u.username: u for u in db.scalars(select(User))}
        # Titles and problem statements name wards: a street that is also a ward's name is not
        # a word of the notes alone.
        in_wards = {w.lower() for name in db.scalars(select(Ward.name))
                    for w in re.findall(r"\w+", name)}
        vocabulary = [w for w in SEARCH_WORDS if w.lower() not in in_wards]
        for _round in range(rounds):
            words = [rng.choice(vocabulary) for _ in range(searches)]
            for label, user in (("analyst (all areas)", people["analyst.bench"]),
                                ("officer (one borough)", people["pc.bench"])):
                actor = Actor(user, Channel.API, "bench")

                def search(word: str, actor: Actor = actor) -> int:
                    return list_cases(db, actor, CaseFilters(q=word))[1]

                times, found = timed(words, search)
                results.setdefault(f"full-text, {label}", []).append(p95(times))
                matches += found
                like_times, _found = timed(
                    words[:peer_searches],
                    lambda w, user=user: like_scan(db, user, w)[1])  # type: ignore[misc]  # mypy cannot type a lambda's default
                results.setdefault(f"LIKE scan (peer), {label}", []).append(p95(like_times))
                # The peer's words are the round's first: compare the same words' searches.
                ratio = sum(like_times) / max(sum(times[:peer_searches]), 1e-9)
                ratios.setdefault(label, []).append(ratio)
                print(f"  round {_round + 1}, {label}: full-text median "
                      f"{statistics.median(times):.1f} ms, p95 {p95(times):.1f} ms, max "
                      f"{max(times):.1f} ms; LIKE p95 {p95(like_times):.1f} ms; LIKE/full-text "
                      f"on the same {len(like_times)} words {ratio:.1f}x", flush=True)
    engine.dispose()
    ordered = sorted(matches)
    print(f"  cases found per search: {ordered[0]}–{ordered[-1]} (median "
          f"{ordered[len(ordered) // 2]}, 95th percentile {ordered[int(len(ordered) * 0.95)]})")
    verdict = True
    for label, values in results.items():
        line = f"  p95 {label:<34} {min(values):7.1f}–{max(values):7.1f} ms over {rounds} rounds"
        if label.startswith("full-text"):
            ok = max(values) < TARGET_MS
            verdict &= ok
            line += f"   {'PASS' if ok else 'FAIL'} (< {TARGET_MS:.0f} ms)"
        print(line)
    for label, values in ratios.items():
        print(f"  LIKE scan time / full-text time, same words, {label}: "
              f"{min(values):.1f}–{max(values):.1f}x")
    return verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peer-searches", type=int, default=20)
    parser.add_argument("--url", help="an EMPTY database to fill (default: temporary SQLite)")
    parser.add_argument("--reuse", action="store_true", help="search --url as it is")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite:///{Path(folder) / 'bench.db'}"
        started = time.perf_counter()
        if not (args.reuse and args.url):
            build(url, args.cases)
        print(f"popcase search benchmark: {args.cases} cases ({url.split(':')[0]}), built and "
              f"indexed in {time.perf_counter() - started:.0f} s; {args.searches} searches "
              "per round through app.cases.service.list_cases (as GET /api/v1/cases?q=)",
              flush=True)
        verdict = run(url, args.searches, args.rounds, args.peer_searches)
        print("PASS" if verdict else "FAIL")
        raise SystemExit(0 if verdict else 1)


if __name__ == "__main__":
    main()
