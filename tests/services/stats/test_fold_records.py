"""One fold per record the Center counts after the fact (issue #16 item 10): each envelope, built through its
contract, folds to the figures the report prints, on the live path (loaded data) and the archive path (JSON)
alike, and the report's sections say them in the document's words."""

import itertools

import pytest
from sqlalchemy import update

from services.stats import store
from services.stats.figures import headline, report_sections, report_text
from services.stats.fold import fold
from services.stats.models import FigureLatest
from shared.platform.contracts import build_envelope
from tests.services.stats import factories as f

_ids = itertools.count(1)


def envelope(source: str, event_type: str, **data) -> dict:
    return build_envelope(source, event_type, data)


def held(programme: str, held_on: str, headcount: int, child_headcount: int = 0, **extra) -> dict:
    return envelope(
        "events",
        "activity_held",
        activity_id=f"held-{next(_ids)}",
        title="活动",
        kind=extra.pop("kind", "summer_class"),
        programme=programme,
        entry=extra.pop("entry", "back_entry"),
        town="横河镇",
        place="横河镇暑期假日学校",
        held_on=held_on,
        headcount=headcount,
        child_headcount=child_headcount,
        **extra,
    )


def care(visit_date: str, children: int, gifts: int) -> dict:
    return envelope(
        "events",
        "care_visit_recorded",
        visit_id=f"visit-{next(_ids)}",
        visit_date=visit_date,
        town="掌起镇",
        led_by="center_leadership",
        children=children,
        gifts=gifts,
    )


def training(held_on: str, trainees: list[str], topic: str = "drowning_prevention") -> dict:
    return envelope(
        "events",
        "training_held",
        training_id=f"training-{next(_ids)}",
        topic=topic,
        town="龙山镇",
        place="龙山镇暑期假日学校",
        held_on=held_on,
        trainees=len(trainees),
        trainee_ids=trainees,
    )


def service(team_id: str, service_date: str, people_served: int) -> dict:
    return envelope(
        "events",
        "service_hours_recorded",
        record_id=f"record-{next(_ids)}",
        team_id=team_id,
        team_name=f"队{team_id}",
        town="坎墩街道",
        activity_id=None,
        service_date=service_date,
        volunteers=3,
        minutes=180,
        people_served=people_served,
    )


def venue(kind: str, opened_on: str, shares: str | None = None) -> dict:
    return envelope(
        "events",
        "venue_registered",
        venue_id=f"venue-{next(_ids)}",
        name=f"馆{next(_ids)}",
        kind=kind,
        town="浒山街道",
        shares_venue_id=shares,
        opened_on=opened_on,
    )


def both_paths(envelopes: list[dict]):
    """The live path's figures (contract-loaded data) and the archive path's (stored JSON) must be equal."""
    live, archived = fold(f.loaded(e) for e in envelopes), fold(envelopes)
    assert live == archived
    return live


def figures_of(envelopes: list[dict], years: tuple[int, int] | None = None) -> dict:
    folded = both_paths(envelopes)
    return headline(folded.sums(years), folded.distinct(years))


def test_held_activities_are_split_by_programme_and_join_the_participations():
    figures = figures_of(
        [
            held("summer_birds", "2024-07-15", 52, 50),
            held("summer_birds", "2024-08-02", 40, 40),
            held("harmony_day", "2025-04-20", 360, 30, kind="harmony_day", entry="open_headcount"),
        ]
    )
    assert figures["held"] == {
        "harmony_day": {"activities": 1, "headcount": 360, "child_headcount": 30},
        "summer_birds": {"activities": 2, "headcount": 92, "child_headcount": 90},
    }
    assert figures["participations"] == 452
    assert figures_of([held("harmony_day", "2025-04-20", 360)], (2024, 2024))["held"] == {}


def test_care_visits_sum_children_and_gifts_and_count_visits():
    figures = figures_of([care("2024-07-20", 60, 60), care("2024-08-05", 58, 58)])
    assert figures["care_visits"] == {"visits": 2, "children": 118, "gifts": 118}


def test_a_child_trained_twice_is_one_child_trained():
    figures = figures_of(
        [training("2024-07-10", [f.resident(1), f.resident(2)]), training("2024-07-12", [f.resident(2)])]
    )
    assert figures["trainings"] == {"drowning_prevention": {"sessions": 2, "trained": 3, "children": 2}}


def test_volunteer_services_count_teams_once_and_sum_people_served():
    figures = figures_of(
        [service("a", "2024-05-01", 120), service("a", "2024-06-01", 80), service("b", "2024-06-02", 45)]
    )
    assert figures["volunteers"] == {"teams": 2, "services": 3, "people_served": 245, "minutes": 540}


def test_publications_count_copies_printed_distributed_and_the_wechat_posting():
    issued = envelope(
        "events",
        "publication_issued",
        publication_id="pub-1",
        title="新市民来慈指南",
        kind="newcomer_guide",
        issued_on="2025-03-01",
        copies_printed=20000,
        channels=["print", "wechat"],
    )
    handed = [
        envelope(
            "events",
            "publication_distributed",
            distribution_id=f"dist-{n}",
            publication_id="pub-1",
            kind="newcomer_guide",
            town="周巷镇",
            distributed_on="2025-03-10",
            copies=copies,
        )
        for n, copies in enumerate((1200, 800))
    ]
    figures = figures_of([issued, *handed])
    assert figures["publications"] == {
        "newcomer_guide": {"issued": 1, "printed": 20000, "distributed": 2000, "on_wechat": 1}
    }


def test_the_venue_register_counts_each_kind_and_the_rooms_that_share_a_branch():
    figures = figures_of(
        [
            venue("city_library", "1995-05-01"),
            venue("town_branch", "2015-01-01"),
            venue("reading_room", "2019-06-01", shares="venue-branch"),
            venue("reading_room", "2021-06-01"),
        ]
    )
    assert figures["venues"] == {
        "city_library": {"count": 1, "sharing": 0},
        "reading_room": {"count": 2, "sharing": 1},
        "town_branch": {"count": 1, "sharing": 0},
    }


def test_stock_raised_and_plans_fold_into_their_years():
    envelopes = [
        envelope(
            "housing", "project_raised", project_id="p1", town="宗汉街道", kind="new_build", year_raised=2022, units=500
        ),
        envelope(
            "housing", "project_raised", project_id="p2", town="周巷镇", kind="conversion", year_raised=2024, units=388
        ),
        envelope("housing", "stock_planned", plan_id="s", year=2025, units=3800, policy_ref="seed §1"),
        envelope(
            "housing",
            "operator_subsidy_planned",
            plan_id="o",
            year=2025,
            projects=50,
            units=9000,
            amount_fen=1_000_000_000,
            policy_ref="seed §1",
        ),
    ]
    assert figures_of(envelopes)["stock"] == {"units": 888, "planned_units": 3800}
    assert figures_of(envelopes, (2025, 2025))["operator_subsidy_plan"] == {
        "projects": 50,
        "units": 9000,
        "amount_fen": 1_000_000_000,
    }


def test_the_report_reads_like_the_document_section_by_section():
    envelopes = [
        envelope(
            "housing", "project_raised", project_id="p1", town="宗汉街道", kind="new_build", year_raised=2023, units=888
        ),
        envelope("housing", "stock_planned", plan_id="s", year=2025, units=3800, policy_ref="seed §1"),
        venue("city_library", "1995-05-01"),
        venue("children_library", "2005-05-01"),
        venue("town_branch", "2015-01-01"),
        venue("reading_room", "2019-06-01", shares="x"),
        held("summer_birds", "2024-07-15", 52, 50),
        training("2024-07-10", [f.resident(1), f.resident(2)]),
        care("2024-07-20", 60, 60),
        service("a", "2024-05-01", 120),
        held("harmony_day", "2025-04-20", 360, 30, kind="harmony_day", entry="open_headcount"),
    ]
    folded = both_paths(envelopes)
    overall = headline(folded.sums((2019, 2025)), folded.distinct((2019, 2025)))
    standing = headline(folded.sums((1900, 2025)), folded.distinct((1900, 2025)))
    by_year = {year: headline(folded.sums((year, year)), folded.distinct((year, year))) for year in range(2019, 2026)}
    sections = report_sections(2019, 2025, overall, by_year, standing)
    assert [s["title"] for s in sections] == ["一、安居保障", "三、文化生活", "四、活动、关爱与志愿服务"]
    housing, culture, activities = (s["text"] for s in sections)
    assert housing == "截止2025年，全市已累计筹建保障性租赁住房房源888套（间），2025年预计新增筹建3800套（间）。"
    assert culture == (
        "全市有1个市级图书馆和1个少年儿童图书馆，另有1个镇街道图书馆分馆和1个城市书房（其中1个与镇街道图书馆合并）。"
    )
    for sentence in (
        "2024年，各地共组织开展暑期假日学校、夏令营、研学、观影等活动1次，参加的“小候鸟”50人次。",
        "2024年，开展“小候鸟”防溺水专项宣讲1场，共培训“小候鸟”2人。",
        "2024年，对“小候鸟”开展慰问走访1次，慰问小候鸟60人，发放慰问品60份。",
        "2024年，1个志愿服务团队开展各类志愿服务，累计服务新老市民120人次。",
        "2025年，“4.20和谐促进服务日”系列活动共开展各类活动1场，累计服务新老市民360人次。",
    ):
        assert sentence in activities
    text = report_text(2019, 2025, overall, by_year, standing)
    assert text.startswith("一、安居保障\n") and "\n四、活动、关爱与志愿服务\n" in text


@pytest.mark.parametrize("year", [2019, 2030])
def test_a_year_without_records_has_no_sentence_about_them(year):
    figures = headline({}, {})
    assert report_sections(year, year, figures, {year: figures}) == []


def test_a_sentence_names_the_years_that_have_its_figure_not_the_whole_range():
    envelopes = [f.approved(f.resident(1), f.shanghai(2019, 3, 1)), f.disbursed(f.resident(1), "2024-12", 50_000)]
    folded = both_paths(envelopes)
    overall = headline(folded.sums((2019, 2025)), folded.distinct((2019, 2025)))
    by_year = {year: headline(folded.sums((year, year)), folded.distinct((year, year))) for year in range(2019, 2026)}
    assert "2019年至2024年，累计保障外来务工人员家庭1户，发放公租房租金补贴0.05万元。" in report_text(
        2019, 2025, overall, by_year
    )


# --- seed §4's publicity figures: the account's followers (a snapshot), its posts, a series' edition -------


def followers(as_of: str, n: int, recorded_at: str = "2025-01-02T01:00:00+00:00") -> dict:
    return envelope(
        "events",
        "followers_counted",
        count_id=f"count-{next(_ids)}",
        channel="wechat",
        as_of=as_of,
        followers=n,
        recorded_at=recorded_at,
    )


def post(issued_on: str, kind: str = "article", channels: tuple[str, ...] = ("wechat",)) -> dict:
    return envelope(
        "events",
        "publication_issued",
        publication_id=f"pub-{next(_ids)}",
        title=f"文稿{next(_ids)}",
        kind=kind,
        issued_on=issued_on,
        copies_printed=20000 if "print" in channels else 0,
        channels=list(channels),
    )


FOLLOWERS = [followers("2023-12-31", 98_500), followers("2024-12-31", 112_041), followers("2024-06-30", 105_210)]


@pytest.mark.parametrize("order", [FOLLOWERS, FOLLOWERS[::-1]], ids=["in order", "reversed"])
def test_followers_are_the_latest_count_up_to_the_end_never_a_sum(order):
    assert figures_of(order)["wechat"]["followers"] == 112_041
    assert figures_of(order, (1900, 2024))["wechat"]["followers"] == 112_041
    assert figures_of(order, (1900, 2023))["wechat"]["followers"] == 98_500  # a report ending in 2023
    assert figures_of(order, (2025, 2025))["wechat"]["followers"] == 0


def test_a_second_count_for_the_same_day_corrects_the_first_in_either_order():
    first = followers("2024-12-31", 112_014, recorded_at="2025-01-02T01:00:00+00:00")
    correction = followers("2024-12-31", 112_041, recorded_at="2025-01-02T09:30:00+08:00")  # 01:30 UTC: later
    for order in ([first, correction], [correction, first]):
        assert figures_of(order)["wechat"]["followers"] == 112_041


def test_the_years_posts_are_its_articles_and_a_posted_guide_is_not_one_of_them():
    envelopes = [
        post("2024-01-05"),
        post("2024-12-30"),
        post("2023-12-31"),
        post("2025-03-01", "newcomer_guide", ("print", "wechat")),
    ]
    assert figures_of(envelopes, (2024, 2024))["wechat"]["posts"] == 2
    assert figures_of(envelopes, (2025, 2025))["wechat"] == {"followers": 0, "posts": 0}
    assert figures_of(envelopes)["publications"]["article"] == {
        "issued": 3,
        "printed": 0,
        "distributed": 0,
        "on_wechat": 3,
    }


def test_an_open_event_of_a_series_gives_the_years_edition_and_counts_its_heads():
    envelopes = [
        held("other", "2023-05-20", 900, kind="other", entry="open_headcount", series="happiness_day", edition=7),
        held("other", "2024-05-18", 1200, kind="other", entry="open_headcount", series="happiness_day", edition=8),
        held("summer_birds", "2024-07-15", 52, 50),
    ]
    assert figures_of(envelopes, (2024, 2024))["series"] == {"happiness_day": {"edition": 8}}
    assert figures_of(envelopes, (2023, 2023))["series"] == {"happiness_day": {"edition": 7}}
    assert figures_of(envelopes, (2024, 2024))["participations"] == 1252
    assert figures_of([held("summer_birds", "2024-07-15", 52, 50)])["series"] == {}


def report_of(envelopes: list[dict], years: tuple[int, int] = (2019, 2025)) -> list[dict]:
    folded = both_paths(envelopes)
    overall = headline(folded.sums(years), folded.distinct(years))
    standing = headline(folded.sums((1900, years[1])), folded.distinct((1900, years[1])))
    by_year = {y: headline(folded.sums((y, y)), folded.distinct((y, y))) for y in range(years[0], years[1] + 1)}
    return report_sections(*years, overall, by_year, standing)


def test_the_report_says_section_4s_publicity_figures_as_the_document_does():
    envelopes = [
        held("other", "2024-05-18", 1200, kind="other", entry="open_headcount", series="happiness_day", edition=8),
        *FOLLOWERS,
        *(post(f"2024-{m:02d}-15") for m in range(1, 13)),
        post("2025-03-01", "newcomer_guide", ("print", "wechat")),
    ]
    [activities] = report_of(envelopes)
    assert activities["title"] == "四、活动、关爱与志愿服务"
    assert activities["text"].startswith(
        "2024年，开展第8个市民幸福体验日活动。“我在慈溪”公众号累计关注人数112041人。"
        "2024年，“我在慈溪”公众号全年推送各类文稿12篇。"
        "2025年，编印20000份新市民来慈指南，免费向新市民分发0份，并在“我在慈溪”微信公众号发布。"
    )
    assert report_of([post("2024-01-05")], (2025, 2025)) == []  # 2024's posts are not 2025's


def test_snapshots_are_live_in_the_database_as_folded_and_rebuild_agrees(session):
    """The live path through the tables: snapshots arriving out of order keep the latest, and a refold of the
    archive agrees; a tampered snapshot is found and repaired."""
    envelopes = [
        *FOLLOWERS[::-1],
        held("other", "2024-05-18", 1200, kind="other", entry="open_headcount", series="happiness_day", edition=8),
    ]
    for e in envelopes:
        store.record(session, f.loaded(e))
        session.commit()
    assert store.live_figures(session) == fold(envelopes)
    assert store.figures_for(session)["wechat"]["followers"] == 112_041
    assert store.figures_for(session, (1900, 2023))["wechat"]["followers"] == 98_500
    by_year = store.breakdown(session, "year")
    assert [by_year[y]["wechat"]["followers"] for y in (2023, 2024)] == [98_500, 112_041]
    assert by_year[2024]["series"] == {"happiness_day": {"edition": 8}}
    assert store.rebuild(session)["equal"]
    session.execute(update(FigureLatest).where(FigureLatest.metric == "followers:wechat").values(value=1))
    session.commit()
    checked = store.rebuild(session, repair=True)
    assert not checked["equal"] and checked["repaired"] and any("latest" in d for d in checked["differences"])
    assert store.rebuild(session)["equal"] and store.figures_for(session)["wechat"]["followers"] == 112_041
