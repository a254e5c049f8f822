"""What the Center counts after the fact (issue #16 item 10): a past season entered by an admin, an open event
counted by heads, care visits, trainings, publications and the venue register; each published for stats,
with no person in the clear."""

import json

import pytest

from shared.platform.errors import Forbidden, ValidationError
from tests.services.events.conftest import CHILDREN, rid

# the tests' clock: 2025-07-01 09:00 in Cixi


def held(**overrides) -> dict:
    activity = {
        "title": "暑期假日学校·观影",
        "kind": "summer_class",
        "programme": "summer_birds",
        "town": "横河",
        "place": "横河镇暑期假日学校",
        "held_on": "2024-07-15",
        "headcount": 52,
        "child_headcount": 50,
    }
    return {**activity, **overrides}


def test_an_admin_back_enters_a_past_season_audited(events, rpc, outbox, venue):
    admin = rpc("admin-1", "admin")
    result = admin.import_past_season(
        {
            "activities": [
                held(),
                held(
                    held_on="2024-08-02", headcount=40, child_headcount=40, town=None, place=None, venue_id=venue["id"]
                ),
            ]
        }
    )
    assert result["recorded"] == 2
    assert [a["town"] for a in result["held_activities"]] == ["横河镇", "浒山街道"]
    published = outbox("activity_held")
    assert [(e["entry"], e["headcount"], e["programme"], e["place"]) for e in published] == [
        ("back_entry", 52, "summer_birds", "横河镇暑期假日学校"),
        ("back_entry", 40, "summer_birds", venue["name"]),
    ]
    assert admin.counted_records()["held_activities"] == 2


def test_a_back_entry_is_admin_only_and_in_the_past(events, rpc):
    with pytest.raises(Forbidden):
        rpc("cw-1", "caseworker").import_past_season({"activities": [held()]})
    with pytest.raises(ValidationError) as today:
        rpc("admin-1", "admin").import_past_season({"activities": [held(), held(held_on="2025-07-01")]})
    assert today.value.errors == {"activities.1.held_on": ["a back-entry must be before today"]}


def test_every_bad_field_of_a_held_activity_is_listed(staff):
    with pytest.raises(ValidationError) as error:
        staff.record_open_event(
            held(kind="party", programme="gala", held_on="2025-07-02", headcount=-1, child_headcount=3, town=None)
        )
    assert set(error.value.errors) == {"kind", "programme", "held_on", "headcount", "venue_id"}


def test_an_open_event_is_counted_by_heads(staff, outbox):
    out = staff.record_open_event(
        held(kind="harmony_day", programme="harmony_day", held_on="2025-04-20", headcount=360, child_headcount=40)
    )
    assert out["entry"] == "open_headcount"
    [event] = outbox("activity_held")
    assert (event["entry"], event["held_on"], event["headcount"]) == ("open_headcount", "2025-04-20", 360)


def test_a_care_visit_keeps_its_official_out_of_the_event(staff, outbox):
    staff.record_care_visit(
        {
            "visit_date": "2024-07-20",
            "town": "掌起",
            "place": "掌起镇暑期假日学校",
            "led_by": "center_leadership",
            "leading_official": "杨钱江",
            "children": 60,
            "gifts": 60,
        }
    )
    [event] = outbox("care_visit_recorded")
    assert (event["town"], event["children"], event["gifts"], event["led_by"]) == (
        "掌起镇",
        60,
        60,
        "center_leadership",
    )
    assert "杨钱江" not in json.dumps(event, ensure_ascii=False)
    with pytest.raises(ValidationError) as error:
        staff.record_care_visit({"visit_date": "2025-07-02", "town": "月球", "led_by": "mayor", "children": 0})
    assert set(error.value.errors) == {"visit_date", "town", "led_by", "children", "place", "leading_official", "gifts"}


def test_a_training_publishes_distinct_trainees_as_pseudonyms(staff, outbox):
    trainees = [{"id_number": number} for number in CHILDREN[:3]]
    out = staff.record_training(
        {
            "topic": "drowning_prevention",
            "town": "龙山",
            "place": "龙山镇暑期假日学校",
            "held_on": "2024-07-10",
            "trainees": trainees,
        }
    )
    assert out["trainees"] == 3
    [event] = outbox("training_held")
    assert sorted(event["trainee_ids"]) == sorted(rid(n) for n in CHILDREN[:3])
    assert not any(number in json.dumps(event) for number in CHILDREN[:3])
    with pytest.raises(ValidationError) as twice:
        staff.record_training(
            {
                "topic": "drowning_prevention",
                "town": "龙山",
                "place": "x",
                "held_on": "2024-07-10",
                "trainees": trainees + trainees[:1],
            }
        )
    assert twice.value.errors == {"trainees": ["a trainee is listed twice"]}


def test_a_publication_and_its_distribution(staff, outbox):
    guide = staff.record_publication(
        {
            "title": "新市民来慈指南（2025）",
            "kind": "newcomer_guide",
            "issued_on": "2025-03-01",
            "copies_printed": 20000,
            "channels": ["wechat", "print"],
        }
    )
    assert guide["channels"] == ["print", "wechat"]
    out = staff.record_distribution(
        {"publication_id": guide["publication_id"], "town": "周巷", "distributed_on": "2025-03-10", "copies": 1200}
    )
    assert out["copies_distributed"] == 1200
    [issued] = outbox("publication_issued")
    [handed] = outbox("publication_distributed")
    assert (issued["copies_printed"], handed["copies"], handed["kind"]) == (20000, 1200, "newcomer_guide")
    with pytest.raises(ValidationError) as printed_none:
        staff.record_publication(
            {
                "title": "x",
                "kind": "newcomer_guide",
                "issued_on": "2025-03-01",
                "copies_printed": 0,
                "channels": ["print", "print"],
            }
        )
    assert set(printed_none.value.errors) == {"copies_printed", "channels"}


def test_a_reading_room_may_share_a_branch_and_the_register_is_published(staff, outbox):
    branch = staff.create_venue({"name": "慈溪市图书馆观海卫分馆", "kind": "town_branch", "town": "观海卫"})
    room = staff.create_venue(
        {"name": "观海卫城市书房", "kind": "reading_room", "town": "观海卫", "shares_venue_id": branch["id"]}
    )
    assert room["shares_venue_id"] == branch["id"]
    with pytest.raises(ValidationError) as not_a_room:
        staff.create_venue({"name": "分馆二", "kind": "town_branch", "town": "观海卫", "shares_venue_id": branch["id"]})
    assert set(not_a_room.value.errors) == {"shares_venue_id"}
    with pytest.raises(ValidationError) as not_a_branch:
        staff.create_venue({"name": "书房二", "kind": "reading_room", "town": "观海卫", "shares_venue_id": room["id"]})
    assert set(not_a_branch.value.errors) == {"shares_venue_id"}
    registered = outbox("venue_registered")
    assert [(v["kind"], v["shares_venue_id"]) for v in registered] == [
        ("town_branch", None),
        ("reading_room", branch["id"]),
    ]


# --- seed §4's publicity figures: a yearly series' edition, the account's posts and followers -----------


def happiness_day(**overrides) -> dict:
    day = {
        "title": "第八个市民幸福体验日",
        "kind": "other",
        "programme": "other",
        "town": "浒山",
        "place": "慈溪市民广场",
        "held_on": "2024-05-18",
        "headcount": 1200,
        "child_headcount": 150,
        "series": "happiness_day",
        "edition": 8,
    }
    return held(**{**day, **overrides})


def test_an_open_event_of_a_yearly_series_publishes_its_edition(staff, outbox):
    out = staff.record_open_event(happiness_day())
    assert (out["series"], out["edition"]) == ("happiness_day", 8)
    [event] = outbox("activity_held")
    assert (event["series"], event["edition"], event["entry"]) == ("happiness_day", 8, "open_headcount")
    staff.record_open_event(held(kind="harmony_day", programme="harmony_day", held_on="2025-04-20"))
    assert [(e["series"], e["edition"]) for e in outbox("activity_held")][1] == (None, None)


def test_a_series_without_its_edition_or_a_bad_one_is_refused_and_nothing_is_stored(staff, outbox):
    with pytest.raises(ValidationError) as no_edition:
        staff.record_open_event(happiness_day(edition=None))
    assert no_edition.value.errors == {"edition": ["a series and its edition go together"]}
    with pytest.raises(ValidationError) as bad:
        staff.record_open_event(happiness_day(series="gala", edition=0, held_on="2025-07-02"))
    assert set(bad.value.errors) == {"series", "edition", "held_on"}
    with pytest.raises(ValidationError) as no_series:
        staff.record_open_event(happiness_day(series=None))
    assert set(no_series.value.errors) == {"series"}
    assert staff.counted_records()["held_activities"] == 0 and outbox("activity_held") == []


def post(**overrides) -> dict:
    return {
        "title": "新市民积分入学政策解读",
        "kind": "article",
        "issued_on": "2024-03-12",
        "copies_printed": 0,
        "channels": ["wechat"],
        **overrides,
    }


def test_a_post_on_the_account_is_an_article_publication(staff, outbox):
    out = staff.record_publication(post())
    assert (out["kind"], out["channels"], out["copies_printed"]) == ("article", ["wechat"], 0)
    [issued] = outbox("publication_issued")
    assert (issued["kind"], issued["channels"]) == ("article", ["wechat"])


def test_a_post_must_be_on_the_account_and_every_bad_field_is_listed_nothing_stored(staff, outbox):
    with pytest.raises(ValidationError) as error:
        staff.record_publication(post(channels=["print", "print"], issued_on="2025-07-02", title=""))
    assert error.value.errors["channels"] == ["a channel is listed twice", "an article is a post on the WeChat account"]
    assert set(error.value.errors) == {"channels", "copies_printed", "issued_on", "title"}
    assert staff.counted_records()["publications"] == 0 and outbox("publication_issued") == []


def test_an_admin_records_the_accounts_followers_as_of_a_day(events, rpc, outbox):
    admin = rpc("admin-1", "admin")
    out = admin.record_follower_count({"channel": "wechat", "as_of": "2024-12-31", "followers": 112041})
    assert (out["as_of"], out["followers"]) == ("2024-12-31", 112041)
    [event] = outbox("followers_counted")
    assert (event["channel"], event["as_of"], event["followers"]) == ("wechat", "2024-12-31", 112041)
    assert event["recorded_at"].startswith("2025-07-01T01:00:00")  # the tests' clock, in UTC
    assert admin.counted_records()["follower_counts"] == 1


def test_a_follower_count_is_admin_only_and_every_bad_field_is_listed_nothing_stored(events, rpc, outbox):
    with pytest.raises(Forbidden):
        rpc("cw-1", "caseworker").record_follower_count({"channel": "wechat", "as_of": "2024-12-31", "followers": 1})
    admin = rpc("admin-1", "admin")
    with pytest.raises(ValidationError) as error:
        admin.record_follower_count({"channel": "weibo", "as_of": "2025-07-02", "followers": -1})
    assert set(error.value.errors) == {"channel", "as_of", "followers"}
    with pytest.raises(ValidationError) as missing:
        admin.record_follower_count({})
    assert set(missing.value.errors) == {"channel", "as_of", "followers"}
    assert admin.counted_records()["follower_counts"] == 0 and outbox("followers_counted") == []
