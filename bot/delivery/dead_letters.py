"""Messages Slack would not take (PRODUCT.md §6.3: "marked dead with its error and
shown to admins"): the list `csbot outbox` prints, the DM that tells admins at
once (with a Retry button per message), and the retry itself, which queues the
message again together with the messages that wait for it (a thread page waits for
its parent, an edit for the message it edits), so one Retry brings back all of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.accounts.members import require_role
from bot.clock import Clock
from bot.delivery.outbox import URGENT, enqueue
from bot.settings import Settings
from bot.slack.action_ids import ActionId
from models.db import session_scope
from models.tables import Member, Outbox

# Admins' DMs about dead messages are Outbox rows too; they are never reported
# about themselves (a dead report about a dead report would loop).
REPORT_KEY = "outbox-dead"
MAX_LISTED = 20  # one section per message; Slack allows 50 blocks
MAX_DEPTH = 10  # how far a chain of dependants is followed (parent → thread page → DM …)


def dead_rows(engine: Engine) -> list[Outbox]:
    """Dead rows, newest first: what `csbot outbox` shows admins."""
    with session_scope(engine) as session:
        return list(
            session.exec(select(Outbox).where(Outbox.state == "dead").order_by(col(Outbox.id).desc()))
        )


@dataclass(frozen=True)
class Requeued:
    row: Outbox | None  # None: no such message
    requeued: bool  # False: it was not dead
    dependants: int = 0  # dead messages that wait for it, queued again with it


def requeue(engine: Engine, clock: Clock, row_id: int) -> tuple[Outbox | None, bool]:
    """Put a dead row (and the dead rows that depend on it) back in the queue.
    Returns the row (None if unknown) and whether it was re-queued."""
    with session_scope(engine) as session:
        done = requeue_in(session, clock, row_id)
    return done.row, done.requeued


def requeue_in(session: Session, clock: Clock, row_id: int) -> Requeued:
    """The same in the caller's transaction; says how many dependants came along."""
    row = session.get(Outbox, row_id)
    if row is None or row.state != "dead":
        return Requeued(row, False)
    ids, keys = [row.id], [row.key]
    for _ in range(MAX_DEPTH):
        found = session.exec(
            select(Outbox.id, Outbox.key).where(
                col(Outbox.depends_on).in_(keys), Outbox.state == "dead", col(Outbox.id).not_in(ids)
            )
        ).all()
        if not found:
            break
        ids += [i for i, _ in found]
        keys = [k for _, k in found]
    now = clock.now()
    session.execute(
        update(Outbox)
        .where(col(Outbox.id).in_(ids))
        .values(
            state="pending",
            # due now (it was due before: a CLI's wall clock may run ahead of the bot's)
            next_attempt_at=case((col(Outbox.next_attempt_at) < now, Outbox.next_attempt_at), else_=now),
            failures=0,
            claimed_until=None,
            claim_token=None,
            reported_at=None,  # if it dies again, admins hear of it again
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(row)
    return Requeued(row, True, len(ids) - 1)


def admin_ids(session: Session, configured: Sequence[str]) -> list[str]:
    """CSBOT_ADMINS and the team's admins (`/cs team add @user admin`)."""
    found = list(dict.fromkeys(configured))
    for slack_id in session.exec(select(Member.slack_id).where(Member.role == "admin")):
        if slack_id not in found:
            found.append(slack_id)
    return found


def report_dead(session: Session, clock: Clock, configured_admins: Sequence[str]) -> int:
    """DM every admin the dead messages nobody told them about yet; return how many were listed.

    A message that died only because the one it waits for died is not listed on
    its own: retrying that one brings it back too."""
    dep = aliased(Outbox)
    rows = session.exec(
        select(Outbox, dep.state)
        .outerjoin(dep, dep.key == Outbox.depends_on)
        .where(Outbox.state == "dead", col(Outbox.reported_at).is_(None))
        .order_by(col(Outbox.id))
    ).all()
    if not rows:
        return 0
    now = clock.now()
    session.execute(
        update(Outbox)
        .where(col(Outbox.id).in_([r.id for r, _ in rows]))
        .values(reported_at=now)
        .execution_options(synchronize_session=False)
    )
    roots = [r for r, dep_state in rows if dep_state != "dead" and not r.key.startswith(REPORT_KEY + ":")]
    admins = admin_ids(session, configured_admins)
    if not roots or not admins:
        return 0
    text = dead_report_text(roots)
    blocks = dead_report_blocks(roots)
    batch = f"{roots[0].id}-{roots[-1].id}"
    for admin in admins:
        enqueue(
            session,
            clock,
            key=f"{REPORT_KEY}:{batch}:{admin}",
            text=text,
            blocks=blocks,
            dm_user=admin,
            priority=URGENT,
        )
    return len(roots)


def describe_target(row: Outbox) -> str:
    """Where a message goes, as `csbot outbox` and the admins' DM say it."""
    if row.update_key:
        return f"edit of {row.update_key}"
    where = row.channel or f"DM {row.dm_user}"
    return f"{where} (thread)" if row.thread_key or row.thread_ts else where


def _where(row: Outbox) -> str:
    if row.update_key:
        return f"an edit of {row.update_key}"
    where = f"<#{row.channel}>" if row.channel else f"a DM to <@{row.dm_user}>"
    return f"{where} (in a thread)" if row.thread_key or row.thread_ts else where


def dead_report_text(rows: Sequence[Outbox]) -> str:
    return (
        f":warning: {len(rows)} message(s) could not be delivered to Slack: "
        + "; ".join(f"#{r.id} {r.key} to {_where(r)}: {r.last_error}" for r in rows[:MAX_LISTED])
        + ". Fix the cause (e.g. `/invite @csbot`), then press Retry or run `csbot outbox retry ID`."
    )


def dead_report_blocks(rows: Sequence[Outbox]) -> list[dict]:
    blocks: list[dict] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f":warning: *{len(rows)} message(s) could not be delivered to Slack.* Fix the cause "
                    "(for a channel: `/invite @csbot` there), then press Retry: the message goes out "
                    "again with the messages that wait for it."
                ),
            },
        }
    ]
    blocks += [dead_row_section(r) for r in rows[:MAX_LISTED]]
    if len(rows) > MAX_LISTED:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"…and {len(rows) - MAX_LISTED} more: `csbot outbox`."}
                ],
            }
        )
    return blocks


def dead_row_section(row: Outbox) -> dict:
    text = f"*#{row.id}* `{row.key[:80]}` to {_where(row)}\nSlack said: `{(row.last_error or '')[:300]}`"
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": text},
        "accessory": {
            "type": "button",
            "action_id": ActionId.OUTBOX_RETRY,
            "text": {"type": "plain_text", "text": "Retry"},
            "value": str(row.id),
        },
    }


def retry_from_button(session: Session, clock: Clock, settings: Settings, user_id: str, value: str) -> str:
    """The Retry button on the admins' DM: admins only; says what was queued."""
    require_role(session, user_id, settings, ("admin",), "retry undelivered messages")
    if not value.isdigit():
        return "That button is not valid any more."
    done = requeue_in(session, clock, int(value))
    if done.row is None:
        return f"Message #{value} no longer exists."
    if not done.requeued:
        return f"Message #{value} ({done.row.key}) is {done.row.state}, not dead: nothing to retry."
    return requeued_text(done)


def requeued_text(done: Requeued) -> str:
    assert done.row is not None
    row = done.row
    if done.dependants:
        return (
            f"Queued message {row.id} ({row.key}) for {describe_target(row)} again, with "
            f"{done.dependants} message(s) that wait for it; the bot will send them now."
        )
    return f"Queued message {row.id} ({row.key}) for {describe_target(row)} again; the bot will send it now."
