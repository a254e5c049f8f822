"""What the Center counts after the fact (seed §4): activities counted by heads (a past season entered by an
admin, an open event without registration, either maybe one edition of a yearly series), care visits to
migrant workers' children, trainings, the publications handed out or posted (a post on the WeChat account
is a publication of kind `article`), and the followers of the Center's account as of a day. Each is one
row (or a few) and one event for stats; none is a case with a status, so a back-entry is audited
explicitly, by whom and how many rows.

People appear in events only as pseudonyms (trainees' `resident_id`); the official who led a care visit is
kept here and never published."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from services.events import models as m
from services.events.activities import find_venue
from services.events.exceptions import DuplicateName, PublicationNotFound
from shared.cixi.contracts.events import PUBLICATION_CHANNELS
from shared.cixi.towns import resolve_town
from shared.platform.ids import new_id
from shared.platform.unit_of_work import WorkerDesk, transactional
from shared.platform.validation import echo

BACK_ENTRY, OPEN_HEADCOUNT = "back_entry", "open_headcount"


def town_name(town: str) -> str:
    return resolve_town(town).name


def hold(session, outbox, data: dict, entry: str, by: str, now: datetime) -> m.HeldActivity:
    venue = find_venue(session, data["venue_id"]) if data["venue_id"] else None
    row = m.HeldActivity(
        id=new_id(),
        title=data["title"],
        kind=data["kind"],
        programme=data["programme"],
        entry=entry,
        venue_id=venue.id if venue else None,
        town=venue.town if venue else town_name(data["town"]),
        place=venue.name if venue else data["place"],
        held_on=data["held_on"],
        headcount=data["headcount"],
        child_headcount=data["child_headcount"],
        series=data["series"],
        edition=data["edition"],
        recorded_by=by,
        created_at=now,
    )
    session.add(row)
    outbox.add(
        "activity_held",
        {
            "activity_id": row.id,
            **{key: getattr(row, key) for key in ("title", "kind", "programme", "entry", "town", "place")},
            "held_on": row.held_on.isoformat(),
            "headcount": row.headcount,
            "child_headcount": row.child_headcount,
            "series": row.series,
            "edition": row.edition,
        },
    )
    return row


def held_out(row: m.HeldActivity) -> dict:
    return {
        "held_activity_id": row.id,
        **{key: getattr(row, key) for key in ("title", "kind", "programme", "entry", "town", "place", "venue_id")},
        "held_on": row.held_on.isoformat(),
        "headcount": row.headcount,
        "child_headcount": row.child_headcount,
        "series": row.series,
        "edition": row.edition,
    }


class RecordDesk(WorkerDesk):
    @property
    def audit(self):
        return self.worker.audit

    @transactional
    def import_past_season(self, data: dict, by: str) -> dict:
        now = self.clock.now()
        rows = [hold(self.db, self.outbox, item, BACK_ENTRY, by, now) for item in data["activities"]]
        self.db.flush()
        self.audit.record(
            "held_activities",
            rows[0].id,
            "back_entered",
            changes={
                "activities": len(rows),
                "headcount": sum(row.headcount for row in rows),
                "from": min(row.held_on for row in rows).isoformat(),
                "to": max(row.held_on for row in rows).isoformat(),
                "ids": [row.id for row in rows],
            },
        )
        return {"recorded": len(rows), "held_activities": [held_out(row) for row in rows]}

    @transactional
    def record_open_event(self, data: dict, by: str) -> dict:
        row = hold(self.db, self.outbox, data, OPEN_HEADCOUNT, by, self.clock.now())
        self.db.flush()
        return held_out(row)

    @transactional
    def record_care_visit(self, data: dict, by: str) -> dict:
        row = m.CareVisit(id=new_id(), recorded_by=by, created_at=self.clock.now(), **data)
        row.town = town_name(row.town)
        self.db.add(row)
        self.outbox.add(
            "care_visit_recorded",
            {
                "visit_id": row.id,
                "visit_date": row.visit_date.isoformat(),
                "town": row.town,
                "led_by": row.led_by,
                "children": row.children,
                "gifts": row.gifts,
            },
        )
        self.db.flush()
        return {"visit_id": row.id, **{key: data[key] for key in ("led_by", "children", "gifts")}, "town": row.town}

    @transactional
    def record_training(self, data: dict, by: str) -> dict:
        trainees = sorted({self.pii.resident_id(t["id_number"]) for t in data["trainees"]})
        row = m.Training(
            id=new_id(),
            topic=data["topic"],
            town=town_name(data["town"]),
            place=data["place"],
            held_on=data["held_on"],
            recorded_by=by,
            created_at=self.clock.now(),
        )
        self.db.add(row)
        self.db.flush()
        self.db.add_all(m.Trainee(training_id=row.id, resident_id=rid) for rid in trainees)
        self.outbox.add(
            "training_held",
            {
                "training_id": row.id,
                "topic": row.topic,
                "town": row.town,
                "place": row.place,
                "held_on": row.held_on.isoformat(),
                "trainees": len(trainees),
                "trainee_ids": trainees,
            },
        )
        return {"training_id": row.id, "topic": row.topic, "town": row.town, "trainees": len(trainees)}

    @transactional
    def record_publication(self, data: dict, by: str) -> dict:
        if self.db.scalar(select(m.Publication.id).where(m.Publication.title == data["title"])):
            raise DuplicateName(f"a publication titled {echo(data['title'])} exists")
        channels = [c for c in PUBLICATION_CHANNELS if c in data["channels"]]
        row = m.Publication(
            id=new_id(),
            title=data["title"],
            kind=data["kind"],
            issued_on=data["issued_on"],
            copies_printed=data["copies_printed"],
            channels=",".join(channels),
            recorded_by=by,
            created_at=self.clock.now(),
        )
        self.db.add(row)
        self.outbox.add(
            "publication_issued",
            {
                "publication_id": row.id,
                "title": row.title,
                "kind": row.kind,
                "issued_on": row.issued_on.isoformat(),
                "copies_printed": row.copies_printed,
                "channels": channels,
            },
        )
        self.db.flush()
        return publication_out(row, 0)

    @transactional
    def record_distribution(self, data: dict, by: str) -> dict:
        publication = self.db.get(m.Publication, data["publication_id"])
        if publication is None:
            raise PublicationNotFound("no such publication")
        row = m.PublicationDistribution(
            id=new_id(),
            publication_id=publication.id,
            town=town_name(data["town"]),
            distributed_on=data["distributed_on"],
            copies=data["copies"],
            recorded_by=by,
            created_at=self.clock.now(),
        )
        self.db.add(row)
        self.outbox.add(
            "publication_distributed",
            {
                "distribution_id": row.id,
                "publication_id": publication.id,
                "kind": publication.kind,
                "town": row.town,
                "distributed_on": row.distributed_on.isoformat(),
                "copies": row.copies,
            },
        )
        self.db.flush()
        return publication_out(publication, distributed(self.db, publication.id))

    @transactional
    def record_follower_count(self, data: dict, by: str) -> dict:
        now = self.clock.now()
        row = m.FollowerCount(id=new_id(), recorded_by=by, created_at=now, **data)
        self.db.add(row)
        self.outbox.add(
            "followers_counted",
            {
                "count_id": row.id,
                "channel": row.channel,
                "as_of": row.as_of.isoformat(),
                "followers": row.followers,
                "recorded_at": now.isoformat(),
            },
        )
        self.db.flush()
        return {"count_id": row.id, "channel": row.channel, "as_of": row.as_of.isoformat(), "followers": row.followers}

    def counted_records(self) -> dict:
        """How many of each record the register holds (a back-entry's caller checks before it repeats one)."""
        tables = {
            "held_activities": m.HeldActivity,
            "care_visits": m.CareVisit,
            "trainings": m.Training,
            "publications": m.Publication,
            "distributions": m.PublicationDistribution,
            "follower_counts": m.FollowerCount,
        }
        return {name: self.db.scalar(select(func.count()).select_from(model)) for name, model in tables.items()}

    def list_publications(self) -> list[dict]:
        rows = self.db.scalars(select(m.Publication).order_by(m.Publication.issued_on, m.Publication.title)).all()
        return [publication_out(row, distributed(self.db, row.id)) for row in rows]


def distributed(session, publication_id: str) -> int:
    rows = session.scalars(
        select(m.PublicationDistribution.copies).where(m.PublicationDistribution.publication_id == publication_id)
    )
    return sum(rows)


def publication_out(row: m.Publication, copies_distributed: int) -> dict:
    return {
        "publication_id": row.id,
        "title": row.title,
        "kind": row.kind,
        "issued_on": row.issued_on.isoformat(),
        "copies_printed": row.copies_printed,
        "copies_distributed": copies_distributed,
        "channels": row.channels.split(","),
    }
