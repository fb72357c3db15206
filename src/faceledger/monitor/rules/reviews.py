"""The independent-review rule: a release needs reviews by enough distinct people, none of
them the requester or the operator (R10)."""

from __future__ import annotations

from faceledger.monitor import names
from faceledger.monitor.log import Entry, Ident, RequestHistory
from faceledger.monitor.rules.base import Check, Context

__all__ = ["IndependentReview"]

MIN_REVIEWS = 2
"""Whatever the profile says, R10 asks for two reviewers."""


class IndependentReview:
    """Before every release: the profile's required number of reviews (at least two) by
    distinct people, none of them the requester (actor of ``request.submit``) or the operator
    (actor of ``request.search``)."""

    id = "independent_review"
    requirement = "R10"
    description = (
        "before any request.release there are the profile's required number (at least 2) of "
        "reviews by distinct people, none of them the requester or the operator"
    )

    def check(self, ctx: Context, out: Check) -> None:
        """Check every ``request.release`` entry."""
        for history in ctx.log.requests.values():
            for release in history.of(names.RELEASE):
                out.counted()
                self._release(ctx, out, history, release)

    @staticmethod
    def _release(ctx: Context, out: Check, history: RequestHistory, release: Entry) -> None:
        rid = history.ident
        reviews = history.of(*names.REVIEWS, before=release.seq)
        profile = ctx.profiles.at(release.seq)
        required = profile.number("required_reviews") if profile else None
        needed = max(MIN_REVIEWS, required or 0)
        if required is None:
            out.unchecked(
                f"The profile's required number of reviews at the release at seq {release.seq} "
                f"is not in the log; checked against {MIN_REVIEWS}.",
                [release],
                rid,
            )
        reviewers = list(dict.fromkeys(r.actor for r in reviews))
        if len({r.pseudonymous for r in reviewers}) > 1:
            out.unchecked(
                f"The reviews of request {rid} before the release at seq {release.seq} name "
                "their reviewers partly in clear and partly by pseudonym: whether they are "
                "distinct people cannot be told.",
                [*reviews, release],
                rid,
            )
            return
        if len(reviewers) < needed:
            out.finding(
                f"Request {rid} was released at seq {release.seq} after "
                f"{_reviews(len(reviewers))} by distinct people; {needed} are required.",
                [*reviews, release],
                rid,
                [release.actor, *reviewers],
            )
        parties: list[tuple[str, Entry]] = []
        submit = history.submit
        if submit is None:
            out.unchecked(
                f"Request {rid}'s filing is not in the log, so its requester is unknown "
                f"(release at seq {release.seq}).",
                [release],
                rid,
            )
        else:
            parties.append(("requester", submit))
        parties += [("operator", s) for s in history.of(names.SEARCH, before=release.seq)]
        for role, step in parties:
            for review in reviews:
                _not_the_same(out, rid, role, step, review, release)


def _not_the_same(
    out: Check, rid: Ident, role: str, step: Entry, review: Entry, release: Entry
) -> None:
    same = review.actor.same(step.actor)
    if same is None:
        out.unchecked(
            f"Whether the reviewer at seq {review.seq} is request {rid}'s {role} (seq "
            f"{step.seq}) cannot be told: one is named in clear, the other by pseudonym.",
            [step, review, release],
            rid,
        )
    elif same:
        out.finding(
            f"The review at seq {review.seq} of request {rid} was given by its {role} (seq "
            f"{step.seq}); the release at seq {release.seq} rests on it.",
            [step, review, release],
            rid,
            [review.actor],
        )


def _reviews(n: int) -> str:
    return f"{n} review" if n == 1 else f"{n} reviews"
